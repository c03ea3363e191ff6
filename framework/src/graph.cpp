#include <sigx/host/graph.hpp>

#include <fmt/format.h>

namespace sigx::host {

namespace {
std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (char c : s) out += (c == '"') ? std::string("\\\"") : std::string(1, c);
    return out + "\"";
}
std::string node(const PluginUse& u, const char* shape) {
    return fmt::format("  {} [label={}, shape={}];\n", quoted(u.section), quoted(u.name + "\\n" + u.plugin), shape);
}
}  // namespace

std::string pipeline_dot(const Pipeline& p) {
    std::string out = fmt::format("digraph {} {{\n  rankdir=LR;\n  node [style=rounded];\n", quoted(p.name));
    out += node(p.source, "box");
    for (const auto& t : p.trainers) out += node(t, "ellipse");
    for (const auto& m : p.models) out += node(m, "box");
    for (const auto& e : p.evaluators) out += node(e, "note");
    for (const auto& m : p.models) {
        out += fmt::format("  {} -> {} [label=\"records\"];\n", quoted(p.source.section), quoted(m.section));
        if (const PluginUse* t = p.trainer(m.trainer))
            out += fmt::format("  {} -> {} [label=\"fits\", style=dashed];\n", quoted(t->section), quoted(m.section));
        for (const auto& e : p.evaluators)
            out += fmt::format("  {} -> {} [label=\"predictions\"];\n", quoted(m.section), quoted(e.section));
    }
    for (const auto& e : p.evaluators)
        out += fmt::format("  {} -> {} [label=\"references\", style=dotted];\n", quoted(p.source.section),
                           quoted(e.section));
    return out + "}\n";
}

}  // namespace sigx::host
