// A sweep's summary: the headline metric per point, model and test set (summary.md,
// summary.json), the spread over repeats, and the headline against the swept value.
#include <sigx/files.hpp>
#include <sigx/gnuplot.hpp>
#include <sigx/host/sweep.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <set>

namespace sigx::host {

namespace fs = std::filesystem;

namespace {

struct Spread {
    std::size_t n = 0;
    double mean = 0, sd = 0;
};
Spread spread_of(const std::vector<double>& v) {
    Spread s{v.size(), 0, 0};
    for (double x : v) s.mean += x / static_cast<double>(v.size());
    for (double x : v) s.sd += v.size() > 1 ? (x - s.mean) * (x - s.mean) / static_cast<double>(v.size() - 1) : 0;
    s.sd = std::sqrt(s.sd);
    return s;
}

// What the points' reports lead with (metrics.json's "headline": a metric, shown also over
// `window`, e.g. the MSE and its steady part) and the rows that are not models (bounds,
// floors: never the best model).
struct Lead {
    std::string metric, window;
    std::set<std::string> references;
    std::string window_key() const { return window.empty() ? "" : metric + "@" + window; }
    std::string window_label() const { return window + " " + metric; }
};

// Per group of points that differ only in their repeat, per test set: each model's mean
// and standard deviation of the headline metric (whole record, and over its window) over
// the repeats, and its per-repeat differences from the group's best model (lowest mean):
// whether the gap exceeds twice the standard error of those differences.
template <class MetricOf> std::string repeats_summary(const std::vector<std::vector<std::string>>& overrides,
                                                      const std::vector<std::string>& sets,
                                                      const std::vector<std::string>& models, MetricOf metric_of,
                                                      const Lead& lead, nlohmann::ordered_json& json) {
    std::map<std::vector<std::string>, std::vector<std::size_t>> groups;  // other overrides -> points
    std::vector<std::vector<std::string>> order;
    for (std::size_t i = 0; i < overrides.size(); ++i) {
        std::vector<std::string> key(overrides[i].begin(), overrides[i].end() - 1);  // the repeat is last
        if (!groups.count(key)) order.push_back(key);
        groups[key].push_back(i);
    }
    json = nlohmann::ordered_json::array();
    std::string md;
    for (const auto& key : order) {
        const auto& members = groups[key];
        for (const auto& set : sets) {
            md += fmt::format("\n## `{}`{}: {} repeats, mean ± standard deviation\n\n", set,
                              key.empty() ? "" : fmt::format(" at {}", fmt::join(key, " ")), members.size());
            std::map<std::string, std::vector<std::optional<double>>> value;  // per model, per repeat
            std::string best;  // the lowest mean among models (not the rows that are not models)
            double best_mean = 0;
            for (const auto& m : models) {
                std::vector<double> v;
                for (std::size_t i : members) {
                    value[m].push_back(metric_of(i, set, m, lead.metric));
                    if (value[m].back()) v.push_back(*value[m].back());
                }
                if (v.empty() || lead.references.count(m)) continue;
                if (const double mean = spread_of(v).mean; best.empty() || mean < best_mean) best = m, best_mean = mean;
            }
            md += fmt::format(
                "| model | n | {} | {} | minus {} (per repeat) | gap beyond 2 SE |\n"
                "|---|---:|---:|---:|---:|---|\n",
                lead.metric, lead.window.empty() ? "" : lead.window_label(), best.empty() ? "best" : best);
            for (const auto& m : models) {
                std::vector<double> whole, windowed, diff;
                for (std::size_t j = 0; j < members.size(); ++j) {
                    if (const auto& x = value[m][j]) whole.push_back(*x);
                    if (!lead.window.empty())
                        if (auto y = metric_of(members[j], set, m, lead.window_key())) windowed.push_back(*y);
                    if (!best.empty() && value[m][j] && value[best][j]) diff.push_back(*value[m][j] - *value[best][j]);
                }
                if (whole.empty()) continue;
                const Spread w = spread_of(whole), st = spread_of(windowed), d = spread_of(diff);
                const bool paired = m != best && !lead.references.count(m) && d.n >= 2;
                const bool beyond = paired && std::abs(d.mean) > 2 * d.sd / std::sqrt(static_cast<double>(d.n));
                md += fmt::format("| {} | {} | {:.3e} ± {:.1e} | {} | {} | {} |\n", m, w.n, w.mean, w.sd,
                                  windowed.empty() ? "" : fmt::format("{:.3e} ± {:.1e}", st.mean, st.sd),
                                  paired ? fmt::format("{:+.3e} ± {:.1e}", d.mean, d.sd) : "",
                                  paired ? (beyond ? "yes" : "no") : "");
                nlohmann::ordered_json e = {{"overrides", key}, {"test_set", set}, {"model", m}, {"n", w.n}};
                e[lead.metric + "_mean"] = w.mean, e[lead.metric + "_sd"] = w.sd;
                if (!windowed.empty())
                    e[lead.window + "_" + lead.metric + "_mean"] = st.mean,
                                                        e[lead.window + "_" + lead.metric + "_sd"] = st.sd;
                if (paired)
                    e["versus_best"] = {{"best", best},
                                        {"difference_mean", d.mean},
                                        {"difference_sd", d.sd},
                                        {"beyond_two_standard_errors", beyond}};
                json.push_back(e);
            }
        }
    }
    return md;
}

// What the finished points of a sweep gave: their results, the models and test sets
// seen, and what their reports lead with.
struct Collected {
    std::string name;
    std::vector<SweepAxis> axes;
    std::vector<std::vector<std::string>> overrides;  // per point
    std::vector<std::string> point_names;
    std::vector<int> status;                      // per point: exit code; -1 not finished
    std::vector<fs::path> run_dirs;               // per point, when finished
    std::vector<nlohmann::ordered_json> results;  // per point: metrics.json's "results"
    std::vector<std::string> models, sets;        // in the reports' order
    Lead lead;

    // The mean of `metric` for one point, set and model, when it is a number.
    std::optional<double> metric_of(std::size_t i, const std::string& set, const std::string& model,
                                    const std::string& metric) const {
        const auto& j = results[i];
        if (!j.is_object() || !j.contains(set) || !j[set].contains(model)) return std::nullopt;
        const auto& v = j[set][model];
        if (!v.is_object() || !v.contains("mean") || !v["mean"].is_object() || !v["mean"].contains(metric) ||
            !v["mean"][metric].is_number())
            return std::nullopt;  // e.g. a NaN, which JSON writes as null
        return v["mean"][metric].get<double>();
    }
    std::optional<double> headline_of(std::size_t i, const std::string& set, const std::string& model) const {
        return metric_of(i, set, model, lead.metric);
    }
};

Collected read_points(const fs::path& dir, const std::map<std::string, int>& exit_status, Console& console) {
    const SweepProgress progress = sweep_progress(dir);
    const auto& plan = progress.plan;
    Collected c;
    c.name = plan.at("name").get<std::string>();
    for (const auto& a : plan.at("axes")) c.axes.push_back({a.at("key"), a.at("values")});
    for (const auto& pt : plan.at("points")) {
        const std::string name = pt.at("name");
        c.overrides.push_back(pt.at("overrides"));
        c.point_names.push_back(name);
        c.status.push_back(-1);
        c.run_dirs.emplace_back();
        if (auto it = progress.finished.find(name); it != progress.finished.end())
            c.run_dirs.back() = it->second, c.status.back() = 0;
        if (auto it = exit_status.find(name); it != exit_status.end() && it->second != 0) c.status.back() = it->second;
    }
    c.results.resize(c.point_names.size());  // keeps the report's model order
    for (std::size_t i = 0; i < c.point_names.size(); ++i) {
        if (c.status[i] != 0 || c.run_dirs[i].empty()) continue;
        std::ifstream in(c.run_dirs[i] / "metrics.json");
        try {
            const auto j = nlohmann::ordered_json::parse(in);
            c.results[i] = j.at("results");
            if (c.lead.metric.empty() && j.contains("headline")) {
                c.lead.metric = j["headline"].at("metric").get<std::string>();
                const auto& w = j["headline"].at("windows");
                if (!w.empty()) c.lead.window = w.front().get<std::string>();
            }
            if (j.contains("rows"))
                for (const auto& row : j["rows"]) c.lead.references.insert(row.get<std::string>());
        } catch (const std::exception& e) {  // a point's bad file must not cost the summary
            console.log(LogLevel::warning, "sweep",
                        fmt::format("{}: unreadable metrics.json: {}", c.point_names[i], e.what()));
            continue;
        }
        for (auto& [set, per_model] : c.results[i].items()) {
            if (std::find(c.sets.begin(), c.sets.end(), set) == c.sets.end()) c.sets.push_back(set);
            for (auto& [model, v] : per_model.items())
                if (std::find(c.models.begin(), c.models.end(), model) == c.models.end()) c.models.push_back(model);
        }
    }
    return c;
}

// One table per test set: the headline per point and model.
std::string headline_tables(const Collected& c) {
    std::string md;
    if (c.lead.metric.empty()) {
        if (!c.sets.empty())
            md +=
                "\nNo evaluator of the pipeline names a headline metric (metrics.json's \"headline\"): nothing to "
                "summarise.\n";
        return md;
    }
    for (const auto& set : c.sets) {
        md += fmt::format("\n## `{}`: mean {}\n\n| point |", set, c.lead.metric);
        for (const auto& a : c.axes) md += fmt::format(" {} |", a.key);
        for (const auto& m : c.models) md += fmt::format(" {} |", m);
        md += "\n|---|";
        for (std::size_t i = 0; i < c.axes.size() + c.models.size(); ++i) md += "---:|";
        md += "\n";
        for (std::size_t i = 0; i < c.point_names.size(); ++i) {
            md += fmt::format("| {} |", c.point_names[i]);
            for (const auto& o : c.overrides[i]) md += fmt::format(" {} |", o.substr(o.find('=') + 1));
            for (const auto& m : c.models) {
                auto v = c.headline_of(i, set, m);
                md += v ? fmt::format(" {:.3e} |", *v) : (c.status[i] != 0 ? " failed |" : " |");
            }
            md += "\n";
        }
    }
    return md;
}

// The headline against the first axis's value, log-log, one line per model, when that
// axis is numeric: sweep.dat, sweep.gp and (with gnuplot) sweep.png. Returns the report's
// line for the figure.
std::string headline_plot(const Collected& c, const fs::path& dir, Console& console) {
    if (c.sets.empty() || c.models.empty() || c.lead.metric.empty()) return "";
    const std::string& set = c.sets.front();
    std::string dat =
        fmt::format("# swept value, then mean {} per model: {}\n", c.lead.metric, fmt::join(c.models, " "));
    for (std::size_t i = 0; i < c.point_names.size(); ++i) {
        const std::string v = c.overrides[i].front().substr(c.overrides[i].front().find('=') + 1);
        char* end = nullptr;
        const double x = std::strtod(v.c_str(), &end);
        if (!end || *end != '\0' || !(x > 0)) return "";
        dat += v;
        for (const auto& m : c.models) {
            auto y = c.headline_of(i, set, m);
            dat += y ? fmt::format(" {:.6g}", *y) : " NaN";
        }
        dat += "\n";
    }
    write_file_atomic(dir / "sweep.dat", dat);
    std::string body = fmt::format(
        "  set termoption noenhanced\n  set title \"{}: mean {} on '{}'\"\n  set grid\n"
        "  set logscale xy\n  set format y \"%.0e\"\n  set xlabel \"{}\"\n  set ylabel \"{}\"\n  set key "
        "outside right\n  plot ",
        c.name, c.lead.metric, set, c.axes.front().key, c.lead.metric);
    for (std::size_t m = 0; m < c.models.size(); ++m)
        body += fmt::format("{}\"sweep.dat\" using 1:{} with linespoints lw 2 title \"{}\"", m ? ", " : "", m + 2,
                            c.models[m]);
    write_file_atomic(dir / "sweep.gp", gnuplot_begin("sweep") + body + "\n" + gnuplot_end());
    if (render_gnuplot(dir / "sweep.gp"))
        return fmt::format("\n![{} against the swept value](sweep.png)\n", c.lead.metric);
    console.log(LogLevel::warning, "sweep", gnuplot_missing_hint(dir));
    return "";
}

}  // namespace

SweepResult collect_sweep(const fs::path& dir, const std::map<std::string, int>& exit_status, Console& console) {
    const Collected c = read_points(dir, exit_status, console);
    SweepResult r;
    nlohmann::ordered_json summary_json;
    summary_json["axes"] = nlohmann::ordered_json::array();
    std::string axes_text;
    for (const auto& a : c.axes) {
        summary_json["axes"].push_back({{"key", a.key}, {"values", a.values}});
        axes_text += fmt::format("`{}` in [{}] ", a.key, fmt::join(a.values, ", "));
    }
    std::string md = fmt::format("# {} sweep\n\n{} points: {}\n", c.name, c.point_names.size(), axes_text);
    md += headline_tables(c);
    if (!c.axes.empty() && c.axes.back().key == "repeat" && !c.lead.metric.empty())
        md += repeats_summary(
            c.overrides, c.sets, c.models,
            [&](std::size_t i, const std::string& set, const std::string& model, const std::string& metric) {
                return c.metric_of(i, set, model, metric);
            },
            c.lead, summary_json["repeats"]);
    for (std::size_t i = 0; i < c.point_names.size(); ++i) {
        nlohmann::ordered_json pj = {{"name", c.point_names[i]}, {"overrides", c.overrides[i]}, {"exit", c.status[i]}};
        if (!c.run_dirs[i].empty()) pj["run_dir"] = fs::relative(c.run_dirs[i], dir).string();
        if (c.results[i].is_object()) pj["results"] = c.results[i];
        summary_json["points"].push_back(pj);
        if (c.status[i] > 0) {
            ++r.failed;
            md += fmt::format("\n{} failed (exit {}): see {}.log\n", c.point_names[i], c.status[i], c.point_names[i]);
        }
        if (c.status[i] < 0) r.missing.push_back(c.point_names[i]);  // not finished, and not failed here
    }
    if (!r.missing.empty()) {
        md += fmt::format(
            "\n{} of {} points not finished (not run yet, running, or failed in another shard: see "
            "their .log): {}\n",
            r.missing.size(), c.point_names.size(), fmt::join(r.missing, ", "));
        summary_json["missing"] = r.missing;
    }
    md += headline_plot(c, dir, console);
    write_file_atomic(dir / "summary.md", md);
    write_file_atomic(dir / "summary.json", summary_json.dump(2) + "\n");
    r.dir = dir;
    r.summary = md;
    return r;
}

}  // namespace sigx::host
