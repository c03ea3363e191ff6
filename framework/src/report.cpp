#include <sigx/host/report.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace sigx::host {

namespace {

template <class T> void add_unique(std::vector<T>& v, const T& x) {
    if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

// A metric and a window: a column of the report.
struct Column {
    std::string name, window;
    bool operator==(const Column& o) const { return name == o.name && window == o.window; }
};

const Metric* find_metric(const std::vector<Metric>& ms, const std::string& set, const std::string& model,
                          const std::string& component, const Column& column) {
    for (const auto& m : ms)
        if (m.test_set == set && m.model == model && m.component == component && m.name == column.name &&
            m.window == column.window)
            return &m;
    return nullptr;
}

std::string number(double v) {
    if (v == 0) return "0";
    const double a = std::abs(v);
    return (a >= 1e-3 && a < 1e5) ? fmt::format("{:.4g}", v) : fmt::format("{:.3e}", v);
}

// A markdown table with padded columns, so it reads well in a terminal too; the first
// `text` columns align left, the numbers right.
std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                  std::size_t text = 1) {
    std::vector<std::size_t> width(header.size());
    for (std::size_t c = 0; c < header.size(); ++c) {
        width[c] = std::max<std::size_t>(3, header[c].size());
        for (const auto& r : rows) width[c] = std::max(width[c], r[c].size());
    }
    auto line = [&](const std::vector<std::string>& cells) {
        std::string s = "|";
        for (std::size_t c = 0; c < cells.size(); ++c)
            s += c < text ? fmt::format(" {:<{}} |", cells[c], width[c]) : fmt::format(" {:>{}} |", cells[c], width[c]);
        return s + "\n";
    };
    std::string out = line(header) + "|";
    for (std::size_t c = 0; c < header.size(); ++c) out += std::string(width[c] + 1, '-') + (c < text ? "-|" : ":|");
    out += "\n";
    for (const auto& r : rows) out += line(r);
    return out;
}

// The legend of the report's "what" column.
const char* what_legend =
    "`what`: causal: each estimate uses samples up to it (it can run live); non-causal: it also uses later "
    "samples. classical: a fixed method whose few settings are fitted by formula or search; learned: a network "
    "trained on the training records; hybrid: a learned part on a classical one, both named.\n";

const char* method_name(ModelNature::Method m) {
    static const char* names[] = {"classical", "learned", "hybrid"};
    return names[static_cast<int>(m)];
}

nlohmann::ordered_json models_json(const std::vector<ModelSummary>& models) {
    auto a = nlohmann::ordered_json::array();
    for (const auto& m : models) {
        nlohmann::ordered_json o = {{"name", m.name}, {"plugin", m.plugin}, {"fit_seconds", m.fit_seconds}};
        if (m.nature) {
            o["causal"] = m.nature->causal;
            o["method"] = method_name(m.nature->method);
            o["parts"] = m.nature->parts;
        }
        if (!m.error.empty()) o["error"] = m.error;
        a.push_back(std::move(o));
    }
    return a;
}

nlohmann::ordered_json sets_json(const std::vector<SetSummary>& sets) {
    auto a = nlohmann::ordered_json::array();
    for (const auto& s : sets)
        a.push_back({{"name", s.name}, {"description", s.description}, {"records", s.records}, {"scored", s.scored}});
    return a;
}

// What the evaluators say each non-model row of `set` is.
std::vector<const ReportRow*> rows_of(const RunSummary& run, const std::string& set) {
    std::vector<const ReportRow*> out;
    for (const auto& r : run.rows)
        if (r.test_set.empty() || r.test_set == set) out.push_back(&r);
    return out;
}

std::string scored_line(const SetSummary& s) {
    const char* plural = s.records == 1 ? "" : "s";
    if (s.scored == s.records) return fmt::format("{} record{}, all scored against their truth.\n", s.records, plural);
    return fmt::format(
        "{} record{} extracted; {} scored against their truth, {} without truth extracted but not scored (their "
        "outputs are written all the same).\n",
        s.records, plural, s.scored, s.records - s.scored);
}

}  // namespace

std::string metric_key(const Metric& m) { return m.window.empty() ? m.name : m.name + "@" + m.window; }

std::vector<SetSummary> summarise_sets(const Dataset& data) {
    std::vector<SetSummary> out;
    for (const auto& set : data.tests) {
        SetSummary s{set.name, set.description, set.records.size(), std::size_t{0}};
        for (const auto& r : set.records)
            if (r.truth) ++s.scored;
        out.push_back(std::move(s));
    }
    return out;
}

std::string metrics_json(const RunSummary& run) {
    nlohmann::ordered_json j;
    j["pipeline"] = run.pipeline;
    j["models"] = models_json(run.models);
    j["test_sets"] = sets_json(run.sets);
    auto& results = j["results"] = nlohmann::ordered_json::object();
    for (const auto& m : run.metrics) results[m.test_set][m.model][m.component][metric_key(m)] = m.value;
    j["headline"] = {{"metric", run.headline.metric}, {"windows", run.headline.windows}};
    auto& rows = j["rows"] = nlohmann::ordered_json::array();  // the rows that are not models
    for (const auto& r : run.rows)
        if (std::find(rows.begin(), rows.end(), r.name) == rows.end()) rows.push_back(r.name);
    return j.dump(2) + "\n";
}

std::string report_markdown(const RunSummary& run) {
    const auto& models = run.models;
    const auto& metrics = run.metrics;
    std::vector<std::string> sets, rows, components;
    std::vector<Column> columns;
    for (const auto& s : run.sets) sets.push_back(s.name);
    for (const auto& m : models) rows.push_back(m.name);
    // The table: every whole-record metric of the components' mean, the headline first with
    // its windows beside it (metrics over other windows, e.g. time bins, stay in
    // metrics.json); then the headline per component.
    const Headline& lead = run.headline;
    if (!lead.metric.empty()) {
        columns.push_back({lead.metric, ""});
        for (const auto& w : lead.windows) columns.push_back({lead.metric, w});
    }
    for (const auto& m : metrics) {
        add_unique(sets, m.test_set);
        add_unique(rows, m.model);  // rows that are not models, such as "(predict zero)", after the models
        if (m.component == "mean" && m.window.empty())
            add_unique(columns, Column{m.name, ""});
        else if (m.component != "mean" && m.name == lead.metric)
            add_unique(components, m.component);
    }
    auto fit_time = [&](const std::string& model) -> std::string {
        for (const auto& m : models)
            if (m.name == model) return fmt::format("{:.2f}", m.fit_seconds);
        return "";
    };
    auto what = [&](const std::string& row) -> std::string {  // empty for the rows that are not models
        for (const auto& m : models)
            if (m.name == row) return describe(m.nature);
        return "";
    };

    std::string out = fmt::format("# {}\n", run.pipeline);
    for (const auto& set : sets) {
        const auto info = std::find_if(run.sets.begin(), run.sets.end(), [&](const auto& s) { return s.name == set; });
        if (info != run.sets.end()) {
            out += fmt::format("\n## Test set `{}`\n\n", set);
            if (!info->description.empty()) out += info->description + "\n\n";
            out += scored_line(*info);
            if (info->scored == 0) {  // nothing to score: say what each model extracted, and where
                std::vector<std::vector<std::string>> body;
                for (const auto& m : models)
                    if (m.error.empty())
                        body.push_back(
                            {m.name, describe(m.nature), fmt::format("{:.2f}", m.fit_seconds),
                             run.extracted ? fmt::format("extracted/{}/{}/", m.name, set) : "(not written)"});
                out.append("\n").append(table({"model", "what", "fit s", "extracted components"}, body, 2));
                out.append("\n").append(what_legend);
                continue;
            }
        }
        std::vector<std::string> header = {"model", "what", "fit s"};
        for (const auto& c : columns) header.push_back(c.window.empty() ? c.name : c.window + " " + c.name);
        std::vector<std::vector<std::string>> body;
        for (const auto& r : rows) {
            std::vector<std::string> cells = {r, what(r), fit_time(r)};
            bool any = false;
            for (const auto& c : columns) {
                const Metric* m = find_metric(metrics, set, r, "mean", c);
                cells.push_back(m ? number(m->value) : "");
                any = any || m;
            }
            if (any) body.push_back(std::move(cells));
        }
        out += fmt::format("\n### `{}`: mean over components\n\n{}", set, table(header, body, 2));
        std::string legend;
        for (const ReportRow* r : rows_of(run, set))
            if (std::any_of(body.begin(), body.end(), [&](const auto& cells) { return cells.front() == r->name; }))
                legend += fmt::format("- `{}`: {}\n", r->name, r->description);
        out.append("\n").append(what_legend);
        if (!legend.empty()) out.append("\nRows that are not models:\n\n").append(legend);

        std::vector<std::string> comp_header = {lead.metric};
        comp_header.insert(comp_header.end(), components.begin(), components.end());
        std::vector<std::vector<std::string>> comp_body;
        for (const auto& r : rows) {
            std::vector<std::string> cells = {r};
            bool any = false;
            for (const auto& c : components) {
                const Metric* m = find_metric(metrics, set, r, c, {lead.metric, ""});
                cells.push_back(m ? number(m->value) : "");
                any = any || m;
            }
            if (any) comp_body.push_back(std::move(cells));
        }
        if (!comp_body.empty())
            out += fmt::format("\n### `{}`: {} per component\n\n{}", set, lead.metric, table(comp_header, comp_body));
    }
    std::string failed;
    for (const auto& m : models)
        if (!m.error.empty()) failed += fmt::format("- `{}` (plugin `{}`): {}\n", m.name, m.plugin, m.error);
    if (!failed.empty()) out += "\n## Failed models (no results)\n\n" + failed;
    if (!run.notes.empty()) {
        out += "\n## Notes\n\n";
        for (const auto& n : run.notes) out += "- " + n + "\n";
    }
    if (!run.figures.empty()) {
        out += "\n## Figures\n\n";
        for (const auto& f : run.figures) out += fmt::format("- [{}]({})\n", f, f);
    }
    return out;
}

std::string report_json(const RunSummary& run) {
    nlohmann::ordered_json j;
    j["pipeline"] = run.pipeline;
    j["models"] = models_json(run.models);
    auto& sets = j["test_sets"] = nlohmann::ordered_json::object();
    for (const auto& s : run.sets)
        sets[s.name] = {{"description", s.description}, {"records", s.records}, {"scored", s.scored}};
    for (const auto& s : run.sets)
        for (const ReportRow* r : rows_of(run, s.name)) sets[s.name]["rows"][r->name] = r->description;
    for (const auto& m : run.metrics) {
        auto& set = sets[m.test_set];
        if (m.component == "mean")
            set["mean"][m.model][metric_key(m)] = m.value;
        else
            set["per_component"][m.model][m.component][metric_key(m)] = m.value;
    }
    j["figures"] = run.figures;
    j["notes"] = run.notes;
    return j.dump(2) + "\n";
}

std::uint64_t predictions_rows(const Dataset& data) {
    std::uint64_t rows = 0;
    for (const auto& set : data.tests)
        for (const auto& r : set.records) rows += static_cast<std::uint64_t>(r.size()) * r.task.size();
    return rows;
}

std::string predictions_csv(const Dataset& data, const std::vector<ModelOutput>& outputs) {
    fmt::memory_buffer b;
    fmt::format_to(std::back_inserter(b), "test_set,record,sample,time,component,mix,target");
    for (const auto& o : outputs) fmt::format_to(std::back_inserter(b), ",{}", o.model);
    b.push_back('\n');
    for (std::size_t s = 0; s < data.tests.size(); ++s) {
        const auto& set = data.tests[s];
        for (std::size_t r = 0; r < set.records.size(); ++r) {
            const Record& rec = set.records[r];
            const Samples& mix = rec.input.channels.front();
            for (std::size_t n = 0; n < rec.size(); ++n) {
                for (std::size_t c = 0; c < rec.task.size(); ++c) {
                    fmt::format_to(std::back_inserter(b), "{},{},{},{:.6f},{},{},", set.name, r, n, rec.input.time(n),
                                   rec.task.components[c].label, mix[n]);
                    if (rec.truth) fmt::format_to(std::back_inserter(b), "{}", rec.truth->references[c][n]);
                    for (const auto& o : outputs)
                        fmt::format_to(std::back_inserter(b), ",{}", o.predictions[s][r].components[c][n]);
                    b.push_back('\n');
                }
            }
        }
    }
    return fmt::to_string(b);
}

std::string describe(const std::optional<ModelNature>& nature) {
    if (!nature) return "not stated";
    return fmt::format("{}, {}{}{}", nature->causal ? "causal" : "non-causal", method_name(nature->method),
                       nature->parts.empty() ? "" : ": ", nature->parts);
}

}  // namespace sigx::host
