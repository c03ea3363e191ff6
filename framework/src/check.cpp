#include <sigx/audio.hpp>
#include <sigx/files.hpp>
#include <sigx/host/check.hpp>
#include <sigx/host/names.hpp>
#include <sigx/host/runner.hpp>
#include <sigx/host/services.hpp>

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
        if (!record("constructs with defaults", call("construct", [&] { construct(own, info, defaults); }))) return;
        record("runs a tiny pipeline of its kind", call("run", [&] { run_tiny(own, info, defaults); }));
        record("handles its schema's boundary values", boundaries(own, info, d));
    }

    bool record(const std::string& check, const std::string& problem) {
        results.push_back({name_, check, problem.empty(), problem});
        return problem.empty();
    }

private:
    template <class F> std::string call(const char* what, F&& f) {
        try {
            f();
            return {};
        } catch (const std::exception& e) {
            return fmt::format("exception escaped from {}: {}", what, e.what());
        } catch (...) {
            return fmt::format("non-standard exception escaped from {}", what);
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
        const PluginInfo& gen = helpers_.require("noisy_sinusoid", Kind::generator);
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
    // folder (a .wav or .csv example holds the tiny data's first training input).
    Params example_files(const Descriptor& d) {
        Params out;
        auto make = [&](const fs::path& example) {
            const fs::path file = dir_ / name_ / "examples" / example.filename();
            fs::create_directories(file.parent_path());
            if (fs::exists(file)) return file;
            const Dataset data = tiny_data();
            const Input& in = data.train.front().input;
            if (file.extension() == ".wav") {
                audio::write_wav(file, in.sample_rate, {&in.channels.front()});
            } else {
                std::string text = file.extension() == ".csv" ? "time,mix\n" : "";
                for (std::size_t n = 0; !text.empty() && n < in.size(); ++n)
                    text += fmt::format("{},{}\n", in.time(n), in.channels.front()[n]);
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
        const PluginInfo& t = helpers_.require("torch", Kind::trainer);
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
            const PluginInfo& lstm = helpers_.require("lstm.stateful", Kind::model);
            auto m = helpers_.create<Model>(
                lstm, Params::with_defaults(lstm.descriptor->params, Params({{"hidden", std::int64_t{4}}})));
            fit(*m, true, d, own.create<Trainer>(info, params).get());
            predict_all(*m, d, "lstm");
        } else {
            const PluginInfo& fft = helpers_.require("fft.block", Kind::model);
            auto m = helpers_.create<Model>(fft, Params::with_defaults(fft.descriptor->params));
            const auto outputs = std::vector<ModelOutput>{predict_all(*m, d, "fft")};
            auto e = own.create<Evaluator>(info, params);
            Services h = host("evaluate");
            e->inspect(d, h);
            for (const auto& metric : e->evaluate(d, outputs, h))
                if (std::isinf(metric.value))
                    throw std::runtime_error(fmt::format("metric {} is infinite", metric.name));
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
