#include <sigx/audio.hpp>
#include <sigx/files.hpp>
#include <sigx/host/check.hpp>
#include <sigx/host/guard.hpp>
#include <sigx/host/names.hpp>
#include <sigx/host/runner.hpp>
#include <sigx/host/services.hpp>
#include <sigx/stream.hpp>

#include <fmt/format.h>

#include <unistd.h>
#include <cctype>
#include <cmath>
#include <set>

namespace sigx::host {

namespace {

namespace fs = std::filesystem;

class Checker {
public:
    Checker(const Registry& helpers, Console& console)
        : helpers_(helpers),
          console_(console),
          dir_(fs::temp_directory_path() / fmt::format("sigx-check-{}", ::getpid())) {}
    ~Checker() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    std::vector<CheckResult> results;

    void check_plugin(const PluginInfo& info, const Registry& own) {
        const Descriptor& d = *info.descriptor;
        name_ = d.name;
        record("descriptor complete", describe_problems(d));
        record("schema valid", schema_problems(d));
        const Params defaults = Params::with_defaults(d.params, example_files(d));
        if (!record("constructs with defaults", call([&] { construct(own, info, defaults); }))) return;
        checked("runs a tiny pipeline of its kind", [&] { run_tiny(own, info, defaults); });
        record("handles its schema's boundary values", boundaries(own, info, d));
        if (d.kind == Kind::model) check_model_extensions(own, info, defaults);
    }

    bool record(const std::string& check, const std::string& problem) {
        results.push_back({name_, check, problem.empty(), problem});
        return problem.empty();
    }

private:
    // A helper plugin the checks need (defaults.toml's [check]) that is not installed: the
    // check is skipped, saying so, and nothing is blamed on the plugin under test.
    struct MissingHelper : std::runtime_error {
        using std::runtime_error::runtime_error;
    };
    const PluginInfo& helper(const std::string& name, Kind kind) const {
        const PluginInfo* info = name.empty() ? nullptr : helpers_.find(name);
        if (!info || info->descriptor->kind != kind)
            throw MissingHelper(
                fmt::format("skipped: it needs a {} helper (defaults.toml [check]: '{}'), which is "
                            "not installed",
                            to_string(kind), name));
        return *info;
    }

    // f's failure, through the host's one plugin-call guard, as a check's problem.
    template <class F> std::string call(F&& f) {
        try {
            guarded(fmt::format("plugin '{}'", name_), "a check", std::forward<F>(f));
            return {};
        } catch (const MissingHelper&) {
            throw;
        } catch (const std::exception& e) {
            return e.what();
        }
    }
    // A check that may be skipped for a missing helper: a note then, not a failure.
    template <class F> void checked(const std::string& check, F&& f) {
        try {
            record(check, call(std::forward<F>(f)));
        } catch (const MissingHelper& e) {
            results.push_back({name_, check, true, e.what(), true});
        }
    }

    Services host(const std::string& section) {
        return Services(console_, name_, dir_ / name_ / section, derive_seed(0, section));
    }

    static std::string describe_problems(const Descriptor& d) {
        std::vector<std::string> p;
        auto identifier = [](const std::string& s) {
            if (s.empty()) return false;
            for (char c : s)
                if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) return false;
            return true;
        };
        if (auto problem = name_problem("name", d.name); !problem.empty()) p.push_back(problem);
        if (d.version.empty()) p.push_back("no version");
        if (d.description.empty()) p.push_back("no description");
        std::set<std::string> names;
        for (const auto& s : d.params) {
            if (!identifier(s.name) || s.name.find('.') != std::string::npos)
                p.push_back(fmt::format("parameter name '{}' must be letters, digits, '_' (no dots)", s.name));
            if (s.name == "plugin" || s.name == "trainer")
                p.push_back(fmt::format("parameter '{}' is a reserved key", s.name));
            if (!names.insert(s.name).second) p.push_back(fmt::format("parameter '{}' declared twice", s.name));
            if (s.help_text.empty()) p.push_back(fmt::format("parameter '{}' has no help", s.name));
        }
        return fmt::format("{}", fmt::join(p, "; "));
    }

    static std::string schema_problems(const Descriptor& d) {
        std::vector<std::string> p;
        for (const auto& s : d.params) {
            if (type_of(s.default_value) != s.type)
                p.push_back(fmt::format("'{}': default is a {}, declared {}", s.name,
                                        to_string(type_of(s.default_value)), to_string(s.type)));
            else if (auto e = check_value(s, s.default_value))
                p.push_back(fmt::format("'{}': default fails its own schema: {}", s.name, *e));
            if (s.min && s.max && *s.min > *s.max) p.push_back(fmt::format("'{}': min > max", s.name));
            if (!s.choices.empty() && s.type != ParamType::string)
                p.push_back(fmt::format("'{}': choices on a non-string parameter", s.name));
        }
        return fmt::format("{}", fmt::join(p, "; "));
    }

    void construct(const Registry& r, const PluginInfo& info, const Params& params) {
        switch (info.descriptor->kind) {
        case Kind::generator: r.create<Generator>(info, params); break;
        case Kind::model: r.create<Model>(info, params); break;
        case Kind::trainer: r.create<Trainer>(info, params); break;
        case Kind::evaluator: r.create<Evaluator>(info, params); break;
        }
    }

    // Tiny data: two components, one second, from the built-in noisy_sinusoid; its input
    // channel repeated where a model reads more than one. The test set "unseen_phase"
    // gets a record without truth, so every plugin meets one.
    Dataset tiny_data(std::uint32_t channels = 1) {
        const PluginInfo& gen = helper(helpers_.defaults().data, Kind::generator);
        Params p = Params::with_defaults(gen.descriptor->params, Params({{"frequencies", RealList{2.0, 5.0}},
                                                                         {"duration", 1.0},
                                                                         {"phase_scale", 0.01},
                                                                         {"unseen_records", std::int64_t{2}}}));
        Services h = host("data");
        Dataset d = helpers_.create<Generator>(gen, p)->generate(h);
        auto widen = [&](Record& r) {
            r.input.channels.resize(std::max<std::uint32_t>(1, channels), r.input.channels[0]);
        };
        for (auto& r : d.train) widen(r);
        for (auto& set : d.tests)
            for (auto& r : set.records) widen(r);
        d.tests.back().records.back().truth.reset();
        return d;
    }

    // Values for required path parameters: their examples, made as files in the check's
    // folder (a .wav or .csv example holds the tiny data's first training input), or an
    // example the plugin ships, named by its absolute path, as it is.
    Params example_files(const Descriptor& d) {
        Params out;
        auto make = [&](const fs::path& example) {
            if (example.is_absolute() && fs::is_regular_file(example)) return example;
            const fs::path file = dir_ / name_ / "examples" / example.filename();
            fs::create_directories(file.parent_path());
            if (fs::exists(file)) return file;
            Samples mix(1000);  // one second at 1 kHz of 2 and 5 Hz
            for (std::size_t n = 0; n < mix.size(); ++n) {
                const double t = static_cast<double>(n) / 1000;
                mix[n] = 0.5 * std::sin(2 * M_PI * 2 * t) + 0.5 * std::sin(2 * M_PI * 5 * t + 1);
            }
            if (file.extension() == ".wav") {
                audio::write_wav(file, 1000, {&mix});
            } else {
                std::string text = file.extension() == ".csv" ? "time,mix\n" : "";
                for (std::size_t n = 0; !text.empty() && n < mix.size(); ++n)
                    text += fmt::format("{},{}\n", static_cast<double>(n) / 1000, mix[n]);
                write_file_atomic(file, text);
            }
            return file;
        };
        for (const auto& spec : d.params) {
            if (!spec.is_required) continue;
            if (spec.type == ParamType::path) out.set(spec.name, make(std::get<fs::path>(spec.default_value)));
            if (spec.type == ParamType::path_list) {
                PathList files;
                for (const auto& e : std::get<PathList>(spec.default_value)) files.push_back(make(e));
                out.set(spec.name, files);
            }
        }
        return out;
    }

    ModelOutput predict_all(Model& m, const Dataset& d, const std::string& name) {
        ModelOutput out;
        out.model = name;
        Services h = host(name);
        for (const auto& set : d.tests) {
            auto& per_set = out.predictions.emplace_back();
            for (const auto& r : set.records) {
                Prediction p = m.predict(r.input, r.task, h);
                check_prediction(name, r.task, r.size(), p);
                per_set.push_back(std::move(p));
            }
        }
        return out;
    }

    void fit(Model& m, bool trainable, const Dataset& d, Trainer* trainer) {
        Services h = host("fit");
        if (!trainable) return m.fit(d.train, h);
        if (trainer) return trainer->train(m, d.train, h);
        const PluginInfo& t = helper(helpers_.defaults().trainer, Kind::trainer);
        helpers_.create<Trainer>(t, Params::with_defaults(t.descriptor->params, Params({{"epochs", std::int64_t{2}}})))
            ->train(m, d.train, h);
    }

    void run_tiny(const Registry& own, const PluginInfo& info, const Params& params) {
        const Kind kind = info.descriptor->kind;
        if (kind == Kind::generator) {
            Services h = host("generate");
            auto g = own.create<Generator>(info, params);
            Dataset d = g->generate(h);
            name_records(d);
            check_dataset(info.descriptor->name, d, g->channels());
            return;
        }
        const Dataset d = tiny_data(info.descriptor->input_channels);
        if (kind == Kind::model) {
            auto m = own.create<Model>(info, params);
            fit(*m, info.descriptor->trainable, d, nullptr);
            predict_all(*m, d, info.descriptor->name);
        } else if (kind == Kind::trainer) {
            // Fit the smallest built-in trained model with it.
            const PluginInfo& trained = helper(helpers_.defaults().trained_model, Kind::model);
            Params small;  // the smallest network its schema allows to say so
            for (const auto& spec : trained.descriptor->params)
                if (spec.name == "hidden" && spec.type == ParamType::integer) small.set("hidden", std::int64_t{4});
            auto m = helpers_.create<Model>(trained, Params::with_defaults(trained.descriptor->params, small));
            fit(*m, true, d, own.create<Trainer>(info, params).get());
            predict_all(*m, d, trained.descriptor->name);
        } else {
            const PluginInfo& fft = helper(helpers_.defaults().model, Kind::model);
            auto m = helpers_.create<Model>(fft, Params::with_defaults(fft.descriptor->params));
            const auto outputs = std::vector<ModelOutput>{predict_all(*m, d, fft.descriptor->name)};
            auto e = own.create<Evaluator>(info, params);
            Services h = host("evaluate");
            e->inspect(d, h);
            for (const auto& metric : e->evaluate(d, outputs, h))
                if (std::isinf(metric.value))
                    throw std::runtime_error(fmt::format("metric {} is infinite", metric.name));
        }
    }

    // A model's optional extensions, where it offers them, each as the host relies on it:
    // the stream gives predict's samples from blocks of any size, its declared latency is
    // true, and saved state restores a fresh instance to the same predictions, bit for bit.
    void check_model_extensions(const Registry& own, const PluginInfo& info, const Params& params) {
        std::shared_ptr<Model> fitted;
        Dataset d;
        std::string problem;
        try {
            problem = call([&] {
                d = tiny_data(info.descriptor->input_channels);
                fitted = own.create<Model>(info, params);
                fit(*fitted, info.descriptor->trainable, d, nullptr);
            });
        } catch (const MissingHelper& e) {
            results.push_back({name_, "model extensions", true, e.what(), true});
            return;
        }
        if (!problem.empty()) return;  // "runs a tiny pipeline" said why
        const Record& r = d.tests.front().records.front();
        Services h = host("extensions");
        if (Streaming* s = streaming(*fitted); !s) {
            results.push_back({name_, "streams", true, "offers no streaming (sigx.model.stream/1)", true});
        } else if (std::string refused = stream_refusal(*s, r); !refused.empty()) {
            results.push_back({name_, "streams", true, "refuses to stream the check's record: " + refused, true});
        } else {
            record("streams as it predicts (blocks of 1, 7, 331 and the whole record)",
                   call([&] { stream_equals_predict(*fitted, *s, r, h); }));
            record("declares its latency truly (an impulse)", call([&] { latency_is_true(*s, r); }));
        }
        ModelState* state = model_state(*fitted);
        if (!state) {
            results.push_back({name_, "saves its state", true,
                               "offers no saved state (sigx.model.state/1): runs cannot keep it for `from =` or "
                               "`sigx apply`",
                               true});
            return;
        }
        record(
            "restores its saved state bit for bit", call([&] {
                const fs::path saved = dir_ / name_ / "state";
                fs::create_directories(saved);
                state->save_state(saved);
                auto fresh = own.create<Model>(info, params);
                ModelState* restored = model_state(*fresh);
                if (!restored) throw std::runtime_error("a fresh instance offers no saved state");
                restored->load_state(saved, r.task.size());
                for (const auto& set : d.tests)
                    for (const auto& rec : set.records)
                        if (!same_bits(fitted->predict(rec.input, rec.task, h), fresh->predict(rec.input, rec.task, h)))
                            throw std::runtime_error(fmt::format(
                                "after load_state, a fresh instance predicts '{}' differently from the fitted one",
                                rec.input.name));
            }));
    }

    static std::string stream_refusal(Streaming& s, const Record& r) {
        try {
            s.configure(StreamConfig{r.input.sample_rate, static_cast<std::uint32_t>(r.input.channels.size()),
                                     r.input.start_time, r.task, 16});
            return {};
        } catch (const std::exception& e) {
            return e.what();
        }
    }
    static bool same_bits(const Prediction& a, const Prediction& b) {
        if (a.components.size() != b.components.size()) return false;
        for (std::size_t c = 0; c < a.components.size(); ++c)
            if (a.components[c] != b.components[c]) return false;
        return a.frequencies == b.frequencies;
    }
    static void stream_equals_predict(Model& m, Streaming& s, const Record& r, Host& h) {
        const Prediction whole = m.predict(r.input, r.task, h);
        for (std::size_t block : {std::size_t{1}, std::size_t{7}, std::size_t{331}, r.size()}) {
            const Prediction streamed = predict_by_streaming(s, r.input, r.task, block);
            for (std::size_t c = 0; c < whole.components.size(); ++c)
                for (std::size_t n = 0; n < r.size(); ++n) {
                    const double a = streamed.components.at(c)[n], b = whole.components.at(c)[n];
                    if (!(std::abs(a - b) <= 1e-6 * std::max(1.0, std::abs(b))))
                        throw std::runtime_error(
                            fmt::format("in blocks of {}, component {} at sample {} streams {} where predict gives {}",
                                        block, c, n, a, b));
                }
        }
    }
    // Output n is the estimate for input n - latency: an impulse at sample k changes no
    // output before k + latency, and (a model updating once per block of samples may take
    // that long) one within 64 samples after it.
    static void latency_is_true(Streaming& s, const Record& r) {
        const auto raw = [&](const Samples& mix, std::size_t& latency) {
            latency = s.configure(StreamConfig{r.input.sample_rate, 1, r.input.start_time, r.task, 64});
            s.reset();
            std::vector<Samples> out(r.task.size(), Samples(mix.size()));
            std::vector<const double*> in(r.input.channels.size());
            for (std::size_t done = 0; done < mix.size(); done += 64) {
                const std::size_t m = std::min<std::size_t>(64, mix.size() - done);
                for (auto& p : in) p = mix.data() + done;
                auto op = channel_pointers(out, done);
                s.process(ConstBlock{in.data(), static_cast<std::uint32_t>(in.size()), m},
                          Block{op.data(), static_cast<std::uint32_t>(out.size()), m});
            }
            return out;
        };
        if (r.input.channels.size() != 1) return;  // the impulse goes into one channel
        std::size_t latency = 0;
        const Samples& mix = r.input.channels[0];
        const auto plain = raw(mix, latency);
        const std::size_t frame = latency + 1, k = frame * (r.size() / (2 * frame));
        Samples kicked = mix;
        kicked[k] += 1.0;
        const auto response = raw(kicked, latency);
        for (std::size_t c = 0; c < r.task.size(); ++c) {
            std::size_t first = r.size();
            for (std::size_t n = 0; n < r.size() && first == r.size(); ++n)
                if (plain[c][n] != response[c][n]) first = n;
            if (first < k + latency)
                throw std::runtime_error(fmt::format(
                    "an impulse at sample {} changes component {}'s output at sample {}, before its declared latency "
                    "({} samples) allows",
                    k, c, first, latency));
            if (first > k + latency + 64)
                throw std::runtime_error(
                    fmt::format("an impulse at sample {} reaches component {}'s output only at "
                                "sample {}: later than its declared latency ({} samples) says",
                                k, c, first == r.size() ? std::string("never") : std::to_string(first), latency));
        }
    }

    // For every bounded parameter: a value past the bound is refused by the schema (the
    // host's clear error), and the bound itself constructs or throws a std::exception.
    std::string boundaries(const Registry& own, const PluginInfo& info, const Descriptor& d) {
        std::vector<std::string> p;
        for (const auto& s : d.params) {
            std::vector<ParamValue> edges, outside;
            auto number = [&](double x) -> ParamValue {
                if (s.type == ParamType::integer) return static_cast<std::int64_t>(x);
                if (s.type == ParamType::real_list) return RealList(s.length.value_or(1), x);
                return x;
            };
            if (s.type == ParamType::integer || s.type == ParamType::real || s.type == ParamType::real_list) {
                if (s.min)
                    edges.push_back(number(*s.min + (s.min_exclusive ? 1e-3 : 0))),
                        outside.push_back(number(*s.min - 1));
                if (s.max) edges.push_back(number(*s.max)), outside.push_back(number(*s.max + 1));
            }
            if (s.type == ParamType::string && !s.choices.empty()) {
                for (const auto& c : s.choices) edges.push_back(c);
                outside.push_back(std::string("not-a-choice"));
            }
            for (const auto& v : outside)
                if (!check_value(s, v))
                    p.push_back(fmt::format("'{}': the schema accepts a value outside its bounds", s.name));
            for (const auto& v : edges) {
                if (check_value(s, v)) continue;  // e.g. a list whose length rule the probe breaks
                Params given = example_files(d);
                given.set(s.name, v);
                const Params params = Params::with_defaults(d.params, given);
                try {
                    construct(own, info, params);
                } catch (const std::exception&) {
                    // A clear error (ParamError or another std::exception) is fine.
                } catch (...) {
                    p.push_back(fmt::format("'{}': a non-standard exception escaped the constructor", s.name));
                }
            }
        }
        return fmt::format("{}", fmt::join(p, "; "));
    }

    const Registry& helpers_;
    Console& console_;
    fs::path dir_;
    std::string name_;
};

}  // namespace

std::vector<CheckResult> check_library(const fs::path& library, const Registry& helpers, Console& console) {
    Checker c(helpers, console);
    Registry own;
    if (!own.load_library(library)) {
        c.record("loads (ABI record)", own.rejections().empty() ? "rejected" : own.rejections().front().reason);
        return c.results;
    }
    const auto plugins = own.all();
    c.record("loads (ABI record)", plugins.empty() ? "the library registers no plugin" : "");
    for (const auto* info : plugins) c.check_plugin(*info, own);
    for (const auto& r : own.rejections()) c.results.push_back({"", "plugin entries", false, r.reason});
    return c.results;
}

}  // namespace sigx::host
