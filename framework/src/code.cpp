#include <sigx/host/code.hpp>
#include <sigx/host/guard.hpp>
#include <sigx/host/sweep.hpp>

#include <fmt/format.h>

#include <map>

namespace sigx::host {

namespace {

struct Listing {
    std::map<std::string, std::vector<std::string>> libraries, scripts;  // path -> who

    void add(const std::string& who, const PluginInfo& info, Plugin& instance) {
        libraries[info.file.string()].push_back(who);
        const PathList* code = guarded(who, "extension", [&] { return code_files(instance); });
        for (const auto& file : code ? *code : PathList{}) scripts[file.string()].push_back(who);
    }
    std::vector<std::string> lines() const {
        std::vector<std::string> out;
        for (const auto& [file, who] : libraries)
            out.push_back(fmt::format("loads {}: {}", file, fmt::join(who, ", ")));
        for (const auto& [file, who] : scripts) out.push_back(fmt::format("runs {}: {}", file, fmt::join(who, ", ")));
        return out;
    }
};

std::string role(const PluginUse& use) { return fmt::format("[{}] (plugin '{}')", use.section, use.plugin); }

}  // namespace

std::vector<std::string> code_lines(const Pipeline& p, Instances& in) {
    Listing l;
    l.add(role(p.source), *p.source.info, *in.source);
    for (std::size_t i = 0; i < p.trainers.size(); ++i)
        l.add(role(p.trainers[i]), *p.trainers[i].info, *in.trainers[i]);
    for (std::size_t i = 0; i < p.models.size(); ++i) l.add(role(p.models[i]), *p.models[i].info, *in.models[i]);
    for (std::size_t i = 0; i < p.evaluators.size(); ++i)
        l.add(role(p.evaluators[i]), *p.evaluators[i].info, *in.evaluators[i]);
    return l.lines();
}

std::vector<std::string> validate_file(const std::filesystem::path& file, const PipelineSource& src,
                                       Registry& registry) {
    if (const auto axes = read_sweep(src); !axes.empty()) {
        const auto points = validate_sweep(src, axes, registry);
        return {fmt::format("{}: ok: sweep of {} points over {} key(s), each a valid pipeline", file.string(),
                            points.size(), axes.size())};
    }
    const Pipeline p = validate_pipeline(src, registry);
    Instances in = instantiate(p, registry);  // constructors check what the schema cannot (e.g. Nyquist)
    std::vector<std::string> out = {fmt::format("{}: ok: pipeline '{}', source {}, {} model(s), {} evaluator(s)",
                                                file.string(), p.name, p.source.plugin, p.models.size(),
                                                p.evaluators.size())};
    for (const auto& line : code_lines(p, in)) out.push_back("  " + line);
    return out;
}

std::vector<std::string> code_lines(const LoadedModel& m) {
    Listing l;
    l.add(fmt::format("model '{}' (plugin '{}')", m.saved.name, m.saved.plugin), *m.info, *m.model);
    return l.lines();
}

}  // namespace sigx::host
