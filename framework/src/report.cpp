#include <sigx/host/report.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace sigx::host {

namespace {

template <class T> void add_unique(std::vector<T>& v, const T& x) {
    if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

const Metric* find_metric(const std::vector<Metric>& ms, const std::string& set, const std::string& model,
                          const std::string& component, const std::string& name) {
    for (const auto& m : ms)
        if (m.test_set == set && m.model == model && m.component == component && m.name == name) return &m;
    return nullptr;
}

std::string number(double v) {
    if (v == 0) return "0";
    const double a = std::abs(v);
    return (a >= 1e-3 && a < 1e5) ? fmt::format("{:.4g}", v) : fmt::format("{:.3e}", v);
}

// A markdown table with padded columns, so it reads well in a terminal too.
std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width(header.size());
    for (std::size_t c = 0; c < header.size(); ++c) {
        width[c] = std::max<std::size_t>(3, header[c].size());
        for (const auto& r : rows) width[c] = std::max(width[c], r[c].size());
    }
    auto line = [&](const std::vector<std::string>& cells) {
        std::string s = "|";
        for (std::size_t c = 0; c < cells.size(); ++c)
            s += c == 0 ? fmt::format(" {:<{}} |", cells[c], width[c]) : fmt::format(" {:>{}} |", cells[c], width[c]);
        return s + "\n";
    };
    std::string out = line(header) + "|";
    for (std::size_t c = 0; c < header.size(); ++c) out += std::string(width[c] + 1, '-') + (c == 0 ? "-|" : ":|");
    out += "\n";
    for (const auto& r : rows) out += line(r);
    return out;
}

nlohmann::ordered_json models_json(const std::vector<ModelSummary>& models) {
    auto a = nlohmann::ordered_json::array();
    for (const auto& m : models) {
        nlohmann::ordered_json o = {{"name", m.name}, {"plugin", m.plugin}, {"fit_seconds", m.fit_seconds}};
        if (!m.error.empty()) o["error"] = m.error;
        a.push_back(std::move(o));
    }
    return a;
}

}  // namespace

std::string metrics_json(const std::string& pipeline, const std::vector<ModelSummary>& models,
                         const std::vector<Metric>& metrics) {
    nlohmann::ordered_json j;
    j["pipeline"] = pipeline;
    j["models"] = models_json(models);
    auto& results = j["results"] = nlohmann::ordered_json::object();
    for (const auto& m : metrics) results[m.test_set][m.model][m.component][m.name] = m.value;
    return j.dump(2) + "\n";
}

std::string report_markdown(const std::string& pipeline, const std::vector<ModelSummary>& models,
                            const std::vector<Metric>& metrics, const std::vector<std::string>& figures) {
    std::vector<std::string> sets, rows, names, components;
    for (const auto& m : models) rows.push_back(m.name);
    for (const auto& m : metrics) {
        add_unique(sets, m.test_set);
        add_unique(rows, m.model);  // pseudo-models such as "(predict zero)" after the real ones
        if (m.component == "mean")
            add_unique(names, m.name);
        else
            add_unique(components, m.component);
    }
    auto fit_time = [&](const std::string& model) -> std::string {
        for (const auto& m : models)
            if (m.name == model) return fmt::format("{:.2f}", m.fit_seconds);
        return "";
    };

    std::string out = fmt::format("# {}\n", pipeline);
    for (const auto& set : sets) {
        std::vector<std::string> header = {"model", "fit s"};
        header.insert(header.end(), names.begin(), names.end());
        std::vector<std::vector<std::string>> body;
        for (const auto& r : rows) {
            std::vector<std::string> cells = {r, fit_time(r)};
            bool any = false;
            for (const auto& n : names) {
                const Metric* m = find_metric(metrics, set, r, "mean", n);
                cells.push_back(m ? number(m->value) : "");
                any = any || m;
            }
            if (any) body.push_back(std::move(cells));
        }
        out += fmt::format("\n## Test set `{}`: mean over components\n\n{}", set, table(header, body));

        std::vector<std::string> comp_header = {"mse"};
        comp_header.insert(comp_header.end(), components.begin(), components.end());
        std::vector<std::vector<std::string>> comp_body;
        for (const auto& r : rows) {
            std::vector<std::string> cells = {r};
            bool any = false;
            for (const auto& c : components) {
                const Metric* m = find_metric(metrics, set, r, c, "mse");
                cells.push_back(m ? number(m->value) : "");
                any = any || m;
            }
            if (any) comp_body.push_back(std::move(cells));
        }
        if (!comp_body.empty())
            out += fmt::format("\n### `{}`: MSE per component\n\n{}", set, table(comp_header, comp_body));
    }
    std::string failed;
    for (const auto& m : models)
        if (!m.error.empty()) failed += fmt::format("- `{}` (plugin `{}`): {}\n", m.name, m.plugin, m.error);
    if (!failed.empty()) out += "\n## Failed models (no results)\n\n" + failed;
    if (!figures.empty()) {
        out += "\n## Figures\n\n";
        for (const auto& f : figures) out += fmt::format("- [{}]({})\n", f, f);
    }
    return out;
}

std::string report_json(const std::string& pipeline, const std::vector<ModelSummary>& models,
                        const std::vector<Metric>& metrics, const std::vector<std::string>& figures) {
    nlohmann::ordered_json j;
    j["pipeline"] = pipeline;
    j["models"] = models_json(models);
    auto& sets = j["test_sets"] = nlohmann::ordered_json::object();
    for (const auto& m : metrics) {
        auto& set = sets[m.test_set];
        if (m.component == "mean")
            set["mean"][m.model][m.name] = m.value;
        else
            set["per_component"][m.model][m.component][m.name] = m.value;
    }
    j["figures"] = figures;
    return j.dump(2) + "\n";
}

std::string predictions_csv(const Dataset& data, const std::vector<ModelOutput>& outputs) {
    fmt::memory_buffer b;
    fmt::format_to(std::back_inserter(b), "test_set,record,sample,time,component,mix,target");
    for (const auto& o : outputs) fmt::format_to(std::back_inserter(b), ",{}", o.model);
    b.push_back('\n');
    for (std::size_t s = 0; s < data.tests.size(); ++s) {
        const auto& set = data.tests[s];
        for (std::size_t r = 0; r < set.records.size(); ++r) {
            const Signal& sig = set.records[r];
            for (std::size_t n = 0; n < sig.size(); ++n) {
                for (std::size_t c = 0; c < sig.components.size(); ++c) {
                    fmt::format_to(std::back_inserter(b), "{},{},{},{:.6f},{},{},{}", set.name, r, n, sig.time(n),
                                   sig.components[c].label, sig.mix[n], sig.components[c].reference[n]);
                    for (const auto& o : outputs)
                        fmt::format_to(std::back_inserter(b), ",{}", o.predictions[s][r].components[c][n]);
                    b.push_back('\n');
                }
            }
        }
    }
    return fmt::to_string(b);
}

}  // namespace sigx::host
