#include <sigx/host/errors.hpp>
#include <sigx/host/report.hpp>
#include <sigx/host/run_dir.hpp>
#include <sigx/host/runner.hpp>
#include <sigx/host/services.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <sstream>

namespace sigx::host {

namespace {

template <class Base> std::shared_ptr<Base> construct(const PluginUse& use, const Registry& registry) {
    try {
        return registry.create<Base>(*use.info, use.params);
    } catch (const ParamError& e) {
        throw ConfigError(use.origin_of(e.key), fmt::format("[{}] plugin '{}': {}", use.section, use.plugin, e.what()));
    } catch (const std::exception& e) {
        throw PluginError(fmt::format("{}: plugin '{}' ([{}]) could not be constructed: {}", use.info->file.string(),
                                      use.plugin, use.section, e.what()));
    }
}

void check_cancel(const RunDir& dir) {
    if (cancel_flag().load()) throw Interrupted(dir.path().string());
}

// Runs one plugin call; an exception becomes a runtime error naming the plugin.
template <class F> auto call(const PluginUse& use, const char* what, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const Interrupted&) {
        throw;
    } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("{} '{}' (plugin '{}', {}) failed: {}", what, use.name, use.plugin,
                                             use.info->file.string(), e.what()));
    }
}

std::string toml_text(const toml::table& t) {
    std::ostringstream s;
    s << t << '\n';
    return s.str();
}

}  // namespace

void check_prediction(const std::string& model, const Signal& record, const Prediction& p) {
    if (p.components.size() != record.components.size())
        throw std::runtime_error(fmt::format("model '{}' returned {} channels for a record with {} components", model,
                                             p.components.size(), record.components.size()));
    for (const auto& ch : p.components)
        if (ch.size() != record.size())
            throw std::runtime_error(fmt::format("model '{}' returned a channel of {} samples for a record of {}", model,
                                                 ch.size(), record.size()));
}

Instances instantiate(const Pipeline& p, const Registry& registry) {
    Instances in;
    in.source = construct<Generator>(p.source, registry);
    for (const auto& t : p.trainers) in.trainers.push_back(construct<Trainer>(t, registry));
    for (const auto& m : p.models) in.models.push_back(construct<Model>(m, registry));
    for (const auto& e : p.evaluators) in.evaluators.push_back(construct<Evaluator>(e, registry));
    return in;
}

RunResult run_pipeline(const Pipeline& p, const Registry& registry, const RunTarget& target, Console& console) {
    Instances in = instantiate(p, registry);
    RunDir dir = target.resume.empty() ? RunDir(target.parent, p.name) : RunDir::reopen(target.resume);
    console.open_log(dir.path() / "log.txt");
    console.log(LogLevel::info, "sigx", fmt::format("{} {} (final name {})", target.resume.empty() ? "run directory" : "resuming",
                                                    dir.path().string(), dir.final_path().filename().string()));
    if (target.resume.empty()) write_file_atomic(dir.path() / "config.toml", toml_text(p.resolved()));

    auto services = [&](const PluginUse& use) {
        return Services(console, use.name, dir.path() / use.name, derive_seed(p.seed, use.section));
    };

    Services source_host = services(p.source);
    const Dataset data = call(p.source, "generator", [&] { return in.source->generate(source_host); });
    if (data.tests.empty()) throw std::runtime_error(fmt::format("generator '{}' produced no test set", p.source.plugin));
    check_cancel(dir);
    for (std::size_t i = 0; i < p.evaluators.size(); ++i) {
        Services host = services(p.evaluators[i]);
        call(p.evaluators[i], "evaluator", [&] { in.evaluators[i]->inspect(data, host); });
    }

    std::vector<ModelOutput> outputs;
    std::vector<ModelSummary> summaries;
    for (std::size_t i = 0; i < p.models.size(); ++i) {
        const PluginUse& use = p.models[i];
        Model& model = *in.models[i];
        Services host = services(use);
        const auto t0 = std::chrono::steady_clock::now();
        if (!use.trainer.empty()) {
            const std::size_t t = static_cast<std::size_t>(p.trainer(use.trainer) - p.trainers.data());
            call(p.trainers[t], "trainer", [&] { in.trainers[t]->train(model, data, host); });
        } else {
            call(use, "model", [&] { model.fit(data, host); });
        }
        check_cancel(dir);
        ModelOutput out;
        out.model = use.name;
        out.fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        for (const auto& set : data.tests) {
            auto& per_set = out.predictions.emplace_back();
            for (const auto& record : set.records) {
                per_set.push_back(call(use, "model", [&] { return model.predict(record, host); }));
                check_prediction(use.name, record, per_set.back());
            }
        }
        if (const auto folder = dir.path() / use.name; std::filesystem::is_directory(folder))
            for (const auto& f : std::filesystem::directory_iterator(folder))
                if (f.is_regular_file()) out.artifacts[f.path().stem().string()] = f.path();
        console.log(LogLevel::info, use.name, fmt::format("fitted in {:.2f} s", out.fit_seconds));
        summaries.push_back({use.name, use.plugin, out.fit_seconds});
        outputs.push_back(std::move(out));
        check_cancel(dir);
    }

    RunResult result;
    for (std::size_t i = 0; i < p.evaluators.size(); ++i) {
        Services host = services(p.evaluators[i]);
        auto ms = call(p.evaluators[i], "evaluator", [&] { return in.evaluators[i]->evaluate(data, outputs, host); });
        result.metrics.insert(result.metrics.end(), ms.begin(), ms.end());
    }

    std::vector<std::string> figures;  // PNGs the evaluators drew, relative to the run directory
    for (const auto& e : p.evaluators) {
        std::error_code ec;
        for (const auto& f : std::filesystem::directory_iterator(dir.path() / e.name, ec))
            if (f.path().extension() == ".png") figures.push_back(std::filesystem::relative(f.path(), dir.path()).string());
    }
    std::sort(figures.begin(), figures.end());
    result.report = report_markdown(p.name, summaries, result.metrics, figures);
    write_file_atomic(dir.path() / "metrics.json", metrics_json(p.name, summaries, result.metrics));
    write_file_atomic(dir.path() / "report.md", result.report);
    write_file_atomic(dir.path() / "report.json", report_json(p.name, summaries, result.metrics, figures));
    write_file_atomic(dir.path() / "predictions.csv", predictions_csv(data, outputs));
    dir.commit();
    result.dir = dir.final_path();
    return result;
}

}  // namespace sigx::host
