#include <sigx/audio.hpp>
#include <sigx/host/code.hpp>
#include <sigx/host/errors.hpp>
#include <sigx/host/guard.hpp>
#include <sigx/host/names.hpp>
#include <sigx/host/report.hpp>
#include <sigx/host/run_dir.hpp>
#include <sigx/host/runner.hpp>
#include <sigx/host/saved_model.hpp>
#include <sigx/host/services.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>

namespace sigx::host {

namespace {

// What the model says it is, for its report row (nullopt: it does not say).
std::optional<ModelNature> nature_of(const PluginUse& use, Model& model) {
    const ModelNature* n = guarded(plugin_role("model", use), "extension", [&] { return model_nature(model); });
    return n ? std::optional<ModelNature>(*n) : std::nullopt;
}

void check_cancel(const RunDir& dir) {
    if (cancel_flag().load()) throw Interrupted(dir.path().string());
}

std::string gigabytes(double bytes) { return fmt::format("{:.1f} GB", bytes / 1e9); }

// MemAvailable from /proc/meminfo, in bytes (0 when unknown).
double available_memory() {
    std::ifstream in("/proc/meminfo");
    std::string key;
    double kb = 0;
    std::string unit;
    while (in >> key >> kb >> unit)
        if (key == "MemAvailable:") return kb * 1024;
    return 0;
}

// predictions.csv and every model's extracted components as WAV, as [output] asks; what
// is left out is said in `notes` (for the report) and in the log.
void write_outputs(const OutputOptions& o, const Dataset& data, const std::vector<ModelOutput>& outputs,
                   const std::filesystem::path& dir, std::vector<std::string>& notes, Console& console) {
    const std::uint64_t rows = predictions_rows(data);
    const double bytes = predictions_bytes(rows, outputs.size());
    if (o.predictions == "csv" || (o.predictions == "auto" && bytes <= predictions_csv_auto_bytes)) {
        write_file_atomic(dir / "predictions.csv", predictions_csv(data, outputs));
    } else if (o.predictions == "auto") {
        notes.push_back(
            fmt::format("predictions.csv not written: about {:.0f} MB ({} rows), more than the {:.0f} MB "
                        "written by default; set [output] predictions = \"csv\" to have it",
                        bytes / 1e6, rows, predictions_csv_auto_bytes / 1e6));
        console.log(LogLevel::warning, "sigx", notes.back());
    }
    if (o.components != "wav") return;
    for (const auto& out : outputs)
        for (std::size_t s = 0; s < data.tests.size(); ++s) {
            const auto folder = dir / "extracted" / out.model / data.tests[s].name;
            std::filesystem::create_directories(folder);
            for (std::size_t r = 0; r < data.tests[s].records.size(); ++r) {
                const Record& rec = data.tests[s].records[r];
                std::vector<const Samples*> channels;
                for (const auto& c : out.predictions[s][r].components) channels.push_back(&c);
                audio::write_wav(folder / (rec.input.name + ".wav"), rec.input.sample_rate, channels);
                channels.clear();  // a tracker's frequency estimates, Hz, beside them
                for (const auto& f : out.predictions[s][r].frequencies) channels.push_back(&f);
                if (!channels.empty())
                    audio::write_wav(folder / (rec.input.name + ".frequency.wav"), rec.input.sample_rate, channels);
            }
        }
    notes.push_back(
        "extracted components: extracted/MODEL/SET/RECORD.wav (float WAV, one channel per component, in task order)");
}

// Where the task lets tones stray, each model that assumes exact frequencies is named.
void warn_drift(const Pipeline& p, const Task& task, Console& console) {
    std::vector<std::string> bands;
    for (const auto& c : task.components)
        if (c.tolerance > 0) bands.push_back(fmt::format("{} +-{} Hz", c.label, c.tolerance));
    if (bands.empty()) return;
    for (const auto& use : p.models)
        if (!use.info->descriptor->follows_drift)
            console.log(LogLevel::warning, use.name,
                        fmt::format("model '{}' ({}) assumes each tone at its stated frequency; the task lets them "
                                    "stray ({}): it does not follow that drift, except as far as it learns it",
                                    use.name, use.plugin, fmt::join(bands, ", ")));
}

std::string toml_text(const toml::table& t) {
    std::ostringstream s;
    s << t << '\n';
    return s.str();
}

}  // namespace

void check_prediction(const std::string& model, const Task& task, std::size_t samples, const Prediction& p) {
    if (p.components.size() != task.size())
        throw std::runtime_error(fmt::format("model '{}' returned {} channels for a record with {} components", model,
                                             p.components.size(), task.size()));
    for (std::size_t c = 0; c < p.components.size(); ++c) {
        const Samples& ch = p.components[c];
        if (ch.size() != samples)
            throw std::runtime_error(fmt::format("model '{}' returned a channel of {} samples for a record of {}",
                                                 model, ch.size(), samples));
        for (std::size_t n = 0; n < ch.size(); ++n)
            if (!std::isfinite(ch[n]))
                throw std::runtime_error(
                    fmt::format("model '{}' returned a non-finite value ({}) for component '{}' at "
                                "sample {}",
                                model, ch[n], task.components[c].label, n));
    }
    if (p.frequencies.empty()) return;
    if (p.frequencies.size() != task.size())
        throw std::runtime_error(fmt::format("model '{}' returned {} frequency tracks for a record with {} components",
                                             model, p.frequencies.size(), task.size()));
    for (std::size_t c = 0; c < p.frequencies.size(); ++c) {
        const Samples& f = p.frequencies[c];
        if (f.size() != samples)
            throw std::runtime_error(fmt::format(
                "model '{}' returned a frequency track of {} samples for a record of {}", model, f.size(), samples));
        for (std::size_t n = 0; n < f.size(); ++n)
            if (!std::isfinite(f[n]))
                throw std::runtime_error(
                    fmt::format("model '{}' returned a non-finite frequency ({}) for component '{}' at sample {}",
                                model, f[n], task.components[c].label, n));
    }
}

void name_records(Dataset& d) {
    for (std::size_t r = 0; r < d.train.size(); ++r)
        if (d.train[r].input.name.empty()) d.train[r].input.name = fmt::format("train-{}", r);
    for (auto& set : d.tests)
        for (std::size_t r = 0; r < set.records.size(); ++r)
            if (set.records[r].input.name.empty()) set.records[r].input.name = fmt::format("record-{}", r);
}

void check_dataset(const std::string& generator, const Dataset& d, std::uint32_t channels) {
    auto fail = [&](const std::string& what) {
        throw std::runtime_error(fmt::format("generator '{}' returned bad data: {}", generator, what));
    };
    if (d.train.empty()) fail("no training record");
    if (d.tests.empty()) fail("no test set");
    const Record& first = d.train.front();
    auto check = [&](const Record& r, const std::string& where) {
        const Input& in = r.input;
        if (auto problem = name_problem("record name", in.name); !problem.empty()) fail(where + ": " + problem);
        if (!(in.sample_rate > 0) || !std::isfinite(in.sample_rate)) fail(where + " has no positive sample rate");
        if (in.sample_rate != first.input.sample_rate)
            fail(
                fmt::format("{} has a sample rate of {} Hz, the first training record {} Hz; one dataset has one "
                            "rate",
                            where, in.sample_rate, first.input.sample_rate));
        if (!std::isfinite(in.start_time)) fail(where + " has a non-finite start time");
        if (in.channels.size() != channels)
            fail(fmt::format("{} has {} input channels, the generator declared {}", where, in.channels.size(),
                             channels));
        for (std::size_t c = 0; c < in.channels.size(); ++c) {
            if (in.channels[c].size() != in.size())
                fail(fmt::format("{}: input channel {} has {} samples, channel 1 {}", where, c + 1,
                                 in.channels[c].size(), in.size()));
            for (std::size_t n = 0; n < in.channels[c].size(); ++n)
                if (!std::isfinite(in.channels[c][n]))
                    fail(fmt::format("{}: input channel {} has a non-finite sample ({}) at sample {}", where, c + 1,
                                     in.channels[c][n], n));
        }
        if (in.size() == 0) fail(where + " has no samples");
        if (r.task.components.empty()) fail(where + " has no components");
        std::set<std::string> labels;
        for (std::size_t k = 0; k < r.task.size(); ++k) {
            const Component& c = r.task.components[k];
            if (auto problem = name_problem("component label", c.label); !problem.empty()) fail(where + ": " + problem);
            if (!labels.insert(c.label).second)
                fail(fmt::format("{}: component label '{}' is used twice; labels must be unique", where, c.label));
            if (k >= first.task.size() || c.label != first.task.components[k].label ||
                c.tolerance != first.task.components[k].tolerance ||
                c.fundamental != first.task.components[k].fundamental ||
                c.amplitude != first.task.components[k].amplitude)
                fail(fmt::format("{}: its components differ from the first training record's", where));
            if (!std::isfinite(c.frequency) || c.frequency < 0 || !std::isfinite(c.gain))
                fail(fmt::format("{}: component '{}' has no finite frequency and gain", where, c.label));
            if (!(c.amplitude >= 0) || !std::isfinite(c.amplitude))
                fail(fmt::format("{}: component '{}' has an amplitude that is not a finite number >= 0", where,
                                 c.label));
        }
        if (r.task.size() != first.task.size())
            fail(fmt::format("{}: its components differ from the first training record's", where));
        if (&r == &first)
            if (const auto problem = task_problem(r.task, in.sample_rate); !problem.empty())
                fail(where + ": " + problem);
        if (!r.truth) return;
        if (r.truth->references.size() != r.task.size())
            fail(fmt::format("{}: its truth has {} references for {} components", where, r.truth->references.size(),
                             r.task.size()));
        for (std::size_t k = 0; k < r.task.size(); ++k) {
            const Samples& ref = r.truth->references[k];
            if (ref.size() != in.size())
                fail(fmt::format("{}: the reference of '{}' has {} samples, the input {}", where,
                                 r.task.components[k].label, ref.size(), in.size()));
            for (std::size_t n = 0; n < ref.size(); ++n)
                if (!std::isfinite(ref[n]))
                    fail(fmt::format("{}: the reference of '{}' has a non-finite sample at sample {}", where,
                                     r.task.components[k].label, n));
        }
        const auto& freqs = r.truth->frequencies;
        if (!freqs.empty() && freqs.size() != r.task.size())
            fail(fmt::format("{}: its truth has {} frequency tracks for {} components", where, freqs.size(),
                             r.task.size()));
        for (std::size_t k = 0; k < freqs.size(); ++k) {
            if (freqs[k].size() != in.size())
                fail(fmt::format("{}: the frequency track of '{}' has {} samples, the input {}", where,
                                 r.task.components[k].label, freqs[k].size(), in.size()));
            for (std::size_t n = 0; n < freqs[k].size(); ++n)
                if (!std::isfinite(freqs[k][n]) || freqs[k][n] < 0)
                    fail(fmt::format("{}: the frequency track of '{}' has no frequency at sample {}", where,
                                     r.task.components[k].label, n));
        }
    };
    std::set<std::string> names;
    for (const auto& r : d.train) {
        check(r, fmt::format("training record '{}'", r.input.name));
        if (!names.insert(r.input.name).second)
            fail(fmt::format("training record name '{}' is used twice", r.input.name));
    }
    std::set<std::string> sets;
    for (const auto& set : d.tests) {
        if (auto problem = name_problem("test set name", set.name); !problem.empty()) fail(problem);
        if (!sets.insert(set.name).second) fail(fmt::format("test set name '{}' is used twice", set.name));
        names.clear();
        for (const auto& r : set.records) {
            check(r, fmt::format("test set '{}' record '{}'", set.name, r.input.name));
            if (!names.insert(r.input.name).second)
                fail(fmt::format("test set '{}': record name '{}' is used twice", set.name, r.input.name));
        }
    }
}

namespace {
// Models that start from a saved one must have been fitted for this data's task and
// sample rate: checked once the data is made, before any model is fitted (a
// configuration error at the `from` line).
void check_saved_fit(const Pipeline& p, const Dataset& data) {
    for (const auto& use : p.models) {
        if (use.from.empty()) continue;
        if (const auto why = task_mismatch(read_saved_model(use.from), data.train.front()); !why.empty())
            throw ConfigError(use.origin_of("from"), fmt::format("[{}] the saved model {} does not fit this data: {}",
                                                                 use.section, use.from.string(), why));
    }
}
}  // namespace

std::uint32_t source_channels(const Pipeline& p, const Instances& in) {
    return guarded(plugin_role("generator", p.source), "channels", [&] { return in.source->channels(); });
}

void check_channels(const Pipeline& p, const Instances& in) {
    const std::uint32_t given = source_channels(p, in);
    for (const auto& m : p.models) {
        const std::uint32_t wanted = m.info->descriptor->input_channels;
        if (wanted != 0 && wanted != given)
            throw ConfigError(m.origin,
                              fmt::format("[{}] plugin '{}' reads {} input channel{}, and generator '{}' gives {}{}",
                                          m.section, m.plugin, wanted, wanted == 1 ? "" : "s", p.source.plugin, given,
                                          wanted == 1 ? " (select one: see the generator's parameters)" : ""));
    }
}

void check_memory(const Pipeline& p, const Instances& in) {
    const auto* size =
        guarded(plugin_role("generator", p.source), "extension", [&] { return dataset_size(*in.source); });
    if (!size) return;  // the generator does not say; nothing to estimate from
    const double values = static_cast<double>(size->samples) * static_cast<double>(1 + size->components);
    const double data = values * sizeof(double);
    const double predictions = static_cast<double>(size->test_samples) * static_cast<double>(size->components) *
                               static_cast<double>(p.models.size()) * sizeof(double);
    // predictions.csv is built in memory, when it is written.
    const double csv_bytes = predictions_bytes(size->test_samples * size->components, p.models.size());
    const bool csv_written =
        p.output.predictions == "csv" || (p.output.predictions == "auto" && csv_bytes <= predictions_csv_auto_bytes);
    const double csv = csv_written ? csv_bytes : 0.0;
    const double needed = data + predictions + csv, available = available_memory();
    if (available > 0 && needed > available)
        throw ConfigError(
            p.source.origin,
            fmt::format("[source] plugin '{}': the run needs about {} of memory (data {}, predictions {}, "
                        "predictions.csv {}), {} available; shorten the records or use fewer of them",
                        p.source.plugin, gigabytes(needed), gigabytes(data), gigabytes(predictions), gigabytes(csv),
                        gigabytes(available)));
}

Instances instantiate(const Pipeline& p, const Registry& registry) {
    Instances in;
    in.source = construct<Generator>(p.source, registry);
    for (const auto& t : p.trainers) in.trainers.push_back(construct<Trainer>(t, registry));
    for (const auto& m : p.models) in.models.push_back(construct<Model>(m, registry));
    for (const auto& e : p.evaluators) in.evaluators.push_back(construct<Evaluator>(e, registry));
    check_channels(p, in);
    for (std::size_t i = 0; i < p.models.size(); ++i)
        if (!p.models[i].from.empty() &&
            !guarded(plugin_role("model", p.models[i]), "extension", [&] { return model_state(*in.models[i]); }))
            throw ConfigError(p.models[i].origin_of("from"),
                              fmt::format("[{}] plugin '{}' cannot start from a saved model: it does not offer the "
                                          "{} extension",
                                          p.models[i].section, p.models[i].plugin, model_state_id));
    check_memory(p, in);
    return in;
}

void check_data_parallel(const Pipeline& p, Instances& in, const World& world) {
    bool trained = false;
    for (std::size_t i = 0; i < p.models.size(); ++i) {
        const PluginUse& use = p.models[i];
        if (use.trainer.empty()) continue;
        trained = true;
        const PluginUse& trainer = *p.trainer(use.trainer);
        Trainer& instance = *in.trainers[static_cast<std::size_t>(&trainer - p.trainers.data())];
        DataParallel* dp =
            guarded(plugin_role("trainer", trainer), "extension", [&] { return data_parallel(instance); });
        if (!dp)
            throw ConfigError(trainer.origin,
                              fmt::format("[{}] plugin '{}' cannot train across processes: it does not offer the {} "
                                          "extension; run this pipeline in one process (a world of {} from {})",
                                          trainer.section, trainer.plugin, data_parallel_id, world.size, world.source));
        const std::string why =
            guarded(plugin_role("trainer", trainer), "refusal", [&] { return dp->refusal(*in.models[i]); });
        if (!why.empty())
            throw ConfigError(
                use.origin_of("trainer"),
                fmt::format("[{}] cannot be trained across processes by [{}]: {}", use.section, trainer.section, why));
    }
    if (!trained)
        throw ConfigError({p.file.string()},
                          fmt::format("a run of {} processes (from {}) has nothing to share: no model has a trainer; "
                                      "run this pipeline in one process",
                                      world.size, world.source));
}

namespace {

// Rank > 0 of a data-parallel run: the same data, every model with a trainer trained with
// the other ranks; no run directory, nothing written but log lines.
RunResult run_rank(const Pipeline& p, Instances& in, Console& console) {
    auto services = [&](const PluginUse& use) {
        return Services(console, use.name, {}, derive_seed(p.seed, use.section));
    };
    Services source_host = services(p.source);
    Dataset data =
        guarded(plugin_role("generator", p.source), "generate", [&] { return in.source->generate(source_host); });
    name_records(data);
    check_dataset(p.source.plugin, data, source_channels(p, in));
    for (std::size_t i = 0; i < p.models.size(); ++i) {
        const PluginUse& use = p.models[i];
        if (use.trainer.empty()) continue;
        if (cancel_flag().load()) throw Interrupted();
        const PluginUse& trainer = *p.trainer(use.trainer);
        Services host = services(use);
        guarded(plugin_role("trainer", trainer), "train", [&] {
            in.trainers[static_cast<std::size_t>(&trainer - p.trainers.data())]->train(*in.models[i], data.train, host);
        });
    }
    if (cancel_flag().load()) throw Interrupted();
    return {};
}

// One run on rank 0, phase by phase: the data, fitting, prediction, evaluation, and the
// run directory's files. Every call into a plugin goes through guarded().
class Run {
public:
    Run(const Pipeline& p, Instances& in, const RunTarget& target, Console& console)
        : p_(p),
          in_(in),
          console_(console),
          dir_(target.resume.empty() ? RunDir(target.parent, p.name) : RunDir::reopen(target.resume)),
          active_(dir_.path()),
          distributed_(target.world.size > 1) {
        console.open_log(dir_.path() / "log.txt");
        console.log(LogLevel::info, "sigx",
                    fmt::format("{} {} (final name {})", target.resume.empty() ? "run directory" : "resuming",
                                dir_.path().string(), dir_.final_path().filename().string()));
        for (const auto& line : code_lines(p, in)) console.log(LogLevel::info, "sigx", line);
        if (target.resume.empty()) write_file_atomic(dir_.path() / "config.toml", toml_text(p.resolved()));
    }

    RunResult operator()() {
        const Dataset data = make_data();
        fit(data);
        predict(data);
        evaluate(data);
        return finish(data);
    }

private:
    Services services(const PluginUse& use) {
        return Services(console_, use.name, dir_.path() / use.name, derive_seed(p_.seed, use.section));
    }

    // The generator's data, checked; then the evaluators judge the task before any fitting.
    Dataset make_data() {
        Services source_host = services(p_.source);
        Dataset generated =
            guarded(plugin_role("generator", p_.source), "generate", [&] { return in_.source->generate(source_host); });
        name_records(generated);
        check_dataset(p_.source.plugin, generated, source_channels(p_, in_));
        check_saved_fit(p_, generated);
        warn_drift(p_, generated.train.front().task, console_);
        check_cancel(dir_);
        for (std::size_t i = 0; i < p_.evaluators.size(); ++i) {
            Services host = services(p_.evaluators[i]);
            guarded(plugin_role("evaluator", p_.evaluators[i]), "inspect",
                    [&] { in_.evaluators[i]->inspect(generated, host); });
            check_cancel(dir_);
        }
        return generated;
    }

    // Fitting, and saving what was fitted. A model that fails is reported and the others go
    // on: what finished is kept. Across processes the models with a trainer come first (the
    // other ranks need not wait on this one's other work), and a failure there ends the
    // run: the ranks stop together.
    void fit(const Dataset& data) {
        std::vector<std::size_t> order(p_.models.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        if (distributed_)
            std::stable_partition(order.begin(), order.end(),
                                  [&](std::size_t i) { return !p_.models[i].trainer.empty(); });
        errors_.assign(p_.models.size(), {});
        fit_seconds_.assign(p_.models.size(), 0.0);
        for (const std::size_t i : order) {
            const PluginUse& use = p_.models[i];
            Model& model = *in_.models[i];
            Services host = services(use);
            const auto t0 = std::chrono::steady_clock::now();
            try {
                if (!use.from.empty())
                    guarded(plugin_role("model", use), "load_state", [&] {
                        model_state(model)->load_state(use.from / "state", data.train.front().task.size());
                    });
                if (!use.trainer.empty()) {
                    const std::size_t t = static_cast<std::size_t>(p_.trainer(use.trainer) - p_.trainers.data());
                    guarded(plugin_role("trainer", p_.trainers[t]), "train",
                            [&] { in_.trainers[t]->train(model, data.train, host); });
                } else if (use.from.empty()) {
                    guarded(plugin_role("model", use), "fit", [&] { model.fit(data.train, host); });
                }
                if (auto why = save_model(dir_.path() / use.name, use, model, data.train.front(), p_.plugin_paths);
                    !why.empty()) {  // said at the end of the log and in the report; `sigx apply` reads it
                    unsaved_.push_back(fmt::format("model '{}' was not saved: {}", use.name, why));
                    std::filesystem::create_directories(dir_.path() / use.name);
                    write_file_atomic(dir_.path() / use.name / not_saved_file, why + "\n");
                }
                check_cancel(dir_);
            } catch (const Interrupted&) {
                throw;
            } catch (const std::exception& e) {
                if (distributed_ && !use.trainer.empty())
                    throw std::runtime_error(fmt::format(
                        "{}\n  the run directory keeps every complete epoch: resume with sigx run --resume {} (with "
                        "the same --nproc or launcher)",
                        e.what(), dir_.path().string()));
                console_.log(LogLevel::error, use.name, e.what());
                errors_[i] = e.what();
                continue;
            }
            fit_seconds_[i] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        }
    }

    // Prediction, in the pipeline's order, every prediction checked.
    void predict(const Dataset& data) {
        for (std::size_t i = 0; i < p_.models.size(); ++i) {
            const PluginUse& use = p_.models[i];
            Model& model = *in_.models[i];
            Services host = services(use);
            ModelOutput out;
            out.model = use.name;
            out.fit_seconds = fit_seconds_[i];
            try {
                if (!errors_[i].empty()) throw std::runtime_error(errors_[i]);
                for (const auto& set : data.tests) {
                    auto& per_set = out.predictions.emplace_back();
                    for (const auto& record : set.records) {
                        per_set.push_back(guarded(plugin_role("model", use), "predict",
                                                  [&] { return model.predict(record.input, record.task, host); }));
                        check_prediction(use.name, record.task, record.size(), per_set.back());
                    }
                }
            } catch (const Interrupted&) {
                throw;
            } catch (const std::exception& e) {
                if (errors_[i].empty()) console_.log(LogLevel::error, use.name, e.what());
                summaries_.push_back({use.name, use.plugin, 0, e.what(), nature_of(use, model)});
                continue;
            }
            if (const auto folder = dir_.path() / use.name; std::filesystem::is_directory(folder))
                for (const auto& f : std::filesystem::directory_iterator(folder))
                    if (f.is_regular_file()) out.artifacts[f.path().stem().string()] = f.path();
            console_.log(LogLevel::info, use.name, fmt::format("fitted in {:.2f} s", out.fit_seconds));
            summaries_.push_back({use.name, use.plugin, out.fit_seconds, {}, nature_of(use, model)});
            outputs_.push_back(std::move(out));
            check_cancel(dir_);
        }
    }

    // The evaluators' metrics, what their rows are and the headline (the first one's).
    void evaluate(const Dataset& data) {
        if (outputs_.empty()) return;
        for (std::size_t i = 0; i < p_.evaluators.size(); ++i) {
            const std::string who = plugin_role("evaluator", p_.evaluators[i]);
            Evaluator& e = *in_.evaluators[i];
            Services host = services(p_.evaluators[i]);
            auto ms = guarded(who, "evaluate", [&] { return e.evaluate(data, outputs_, host); });
            metrics_.insert(metrics_.end(), ms.begin(), ms.end());
            auto rs = guarded(who, "rows", [&] { return e.rows(); });
            rows_.insert(rows_.end(), rs.begin(), rs.end());
            if (headline_.metric.empty()) headline_ = guarded(who, "headline", [&] { return e.headline(); });
            check_cancel(dir_);
        }
        warn_non_finite();
    }

    // One warning per model and set with non-finite metrics (a perfect model's SNR gain is
    // infinite on every component and time bin), with their count and names.
    void warn_non_finite() {
        std::map<std::pair<std::string, std::string>, std::vector<std::string>> found;
        for (const auto& m : metrics_)
            if (!std::isfinite(m.value))
                add_once(found[{m.model, m.test_set}], metric_key(m) + " = " + fmt::format("{}", m.value));
        for (const auto& [where, names] : found)
            console_.log(LogLevel::warning, "sigx",
                         fmt::format("'{}' on '{}': {} metric value{} not finite ({}{})", where.first, where.second,
                                     names.size(), names.size() == 1 ? " is" : "s are",
                                     fmt::join(names.begin(),
                                               names.begin() + std::min<std::ptrdiff_t>(
                                                                   3, static_cast<std::ptrdiff_t>(names.size())),
                                               ", "),
                                     names.size() > 3 ? ", ..." : ""));
    }
    static void add_once(std::vector<std::string>& v, std::string s) {
        if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
    }

    // metrics.json, report.md and report.json, the outputs; the directory committed unless
    // a model failed.
    RunResult finish(const Dataset& data) {
        std::vector<std::string> figures;  // PNGs the evaluators drew, relative to the run directory
        for (const auto& e : p_.evaluators) {
            std::error_code ec;
            for (const auto& f : std::filesystem::directory_iterator(dir_.path() / e.name, ec))
                if (f.path().extension() == ".png")
                    figures.push_back(std::filesystem::relative(f.path(), dir_.path()).string());
        }
        std::sort(figures.begin(), figures.end());
        RunSummary run{p_.name,  summaries_, summarise_sets(data),          metrics_,
                       figures,  unsaved_,   p_.output.components == "wav", rows_,
                       headline_};
        write_outputs(p_.output, data, outputs_, dir_.path(), run.notes, console_);
        RunResult result{{}, metrics_, report_markdown(run)};
        write_file_atomic(dir_.path() / "metrics.json", metrics_json(run));
        write_file_atomic(dir_.path() / "report.md", result.report);
        write_file_atomic(dir_.path() / "report.json", report_json(run));
        for (const auto& u : unsaved_) console_.log(LogLevel::warning, "sigx", u);
        check_cancel(dir_);
        std::vector<std::string> failures;
        for (const auto& s : summaries_)
            if (!s.error.empty()) failures.push_back(s.error);
        if (!failures.empty())
            throw std::runtime_error(fmt::format("{} of {} models failed (the others' results are in {}): {}",
                                                 failures.size(), p_.models.size(), dir_.path().string(),
                                                 fmt::join(failures, "; ")));
        dir_.commit();
        result.dir = dir_.final_path();
        return result;
    }

    const Pipeline& p_;
    Instances& in_;
    Console& console_;
    RunDir dir_;
    const ActiveRun active_;  // what a signal names for --resume
    const bool distributed_;
    std::vector<std::string> errors_, unsaved_;
    std::vector<double> fit_seconds_;
    std::vector<ModelOutput> outputs_;
    std::vector<ModelSummary> summaries_;  // a failed model's has its error
    std::vector<Metric> metrics_;
    std::vector<ReportRow> rows_;
    Headline headline_;
};

}  // namespace

RunResult run_pipeline(const Pipeline& p, const Registry& registry, const RunTarget& target, Console& console) {
    Instances in = instantiate(p, registry);
    if (target.world.size > 1) check_data_parallel(p, in, target.world);
    if (target.world.rank > 0) return run_rank(p, in, console);
    return Run(p, in, target, console)();
}

}  // namespace sigx::host
