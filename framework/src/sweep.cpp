#include <sigx/gnuplot.hpp>
#include <sigx/host/errors.hpp>
#include <sigx/host/run_dir.hpp>
#include <sigx/host/runner.hpp>
#include <sigx/host/services.hpp>
#include <sigx/host/sweep.hpp>
#include <sigx/host/world.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <csignal>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

namespace sigx::host {

namespace fs = std::filesystem;

namespace {

// A value as TOML text; reals in their shortest exact form (0.05, not 0.050000000000000003).
std::string toml_text(const toml::node& n) {
    if (const auto* f = n.as_floating_point()) {
        std::string t = fmt::format("{}", f->get());
        if (t.find_first_of(".eEn") == std::string::npos) t += ".0";  // stays a real ("n": inf, nan)
        return t;
    }
    std::ostringstream s;
    n.visit([&](const auto& v) { s << v; });
    return s.str();
}

struct Point {
    std::vector<std::string> overrides;
    std::string name;  // point-NN
    fs::path config;   // its pipeline file in the sweep directory
    int status = -1;   // exit status of its process
    fs::path run_dir;  // its finished run directory
};

// Starts `sigx run CONFIG --out DIR -q`, output to LOG. Returns the child's pid.
pid_t spawn(const SweepOptions& o, const Point& p, const fs::path& out, const fs::path& log) {
    std::vector<std::string> args = {o.executable.string()};
    for (const auto& path : o.plugin_paths) args.insert(args.end(), {"--plugin-path", path});
    args.insert(args.end(), {"run", p.config.string(), "--out", out.string(), "-q"});
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        // A process group of its own: a Ctrl-C at the terminal reaches the sweep alone,
        // which passes one SIGTERM on (a point must not see two signals and stop at once).
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // and it stops when the sweep is killed
        clear_launcher_env();                // a point is a run of its own, not a rank of the sweep's launcher
        // The cores are split between the points that run at once (OpenMP and LibTorch
        // read this), unless the user chose a count.
        const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
        ::setenv("OMP_NUM_THREADS",
                 std::to_string(std::max(1u, cores / static_cast<unsigned>(std::max(1, o.jobs)))).c_str(), 0);
        FILE* f = std::freopen(log.c_str(), "w", stdout);
        if (f) dup2(fileno(stdout), STDERR_FILENO);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        execv(argv[0], argv.data());
        _exit(127);
    }
    track_child(pid);
    return pid;
}

std::string read_text_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw ConfigError({file.string()}, "cannot be read");
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

template <class P> std::vector<std::vector<std::string>> points_overrides(const std::vector<P>& points) {
    std::vector<std::vector<std::string>> o;
    for (const auto& p : points) o.push_back(p.overrides);
    return o;
}

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

}  // namespace

std::vector<SweepAxis> read_sweep(const PipelineSource& src) {
    std::vector<SweepAxis> axes;
    const toml::node* n = src.table.get("sweep");
    if (!n) return axes;
    auto where = [&](const toml::source_region& r) { return origin_of(r, src.file.string()); };
    if (!n->is_table()) throw ConfigError(where(n->source()), "[sweep] must be a table of \"key.path\" = [values]");
    std::vector<toml::source_index> lines;
    std::optional<SweepAxis> repeats;
    for (auto&& [key, value] : *n->as_table()) {
        SweepAxis axis{std::string(key.str()), {}};
        if (axis.key == "repeats") {  // seed replicates: an axis of its own, last
            const auto k = value.value<std::int64_t>();
            if (!value.is_integer() || !k || *k < 1 || *k > max_repeats)
                throw ConfigError(where(value.source()),
                                  fmt::format("sweep.repeats must be a whole number from 1 to {}", max_repeats));
            repeats = SweepAxis{"repeat", {}};
            for (std::int64_t r = 0; r < *k; ++r) repeats->values.push_back(std::to_string(r));
            continue;
        }
        if (axis.key == "sweep" || axis.key.rfind("sweep.", 0) == 0)
            throw ConfigError(where(key.source()), "a sweep cannot sweep itself");
        if (!value.is_array() || value.as_array()->empty())
            throw ConfigError(where(value.source()),
                              fmt::format("sweep.\"{}\" must be a non-empty array of values", axis.key));
        for (const auto& v : *value.as_array()) axis.values.push_back(toml_text(v));
        axes.push_back(std::move(axis));
        lines.push_back(key.source().begin.line);
    }
    // Count before building anything: six axes of ten values are a million points.
    double count = repeats ? static_cast<double>(repeats->values.size()) : 1.0;
    for (const auto& a : axes) count *= static_cast<double>(a.values.size());
    if (count > static_cast<double>(max_sweep_points))
        throw ConfigError(where(n->source()), fmt::format("the sweep has {:.0f} points, more than the limit of {}; "
                                                          "sweep fewer values at once",
                                                          count, max_sweep_points));
    // toml++ sorts keys; keep the file's order (the first axis is the plot's x axis).
    std::vector<std::size_t> order(axes.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return lines[a] < lines[b]; });
    std::vector<SweepAxis> sorted;
    for (std::size_t i : order) sorted.push_back(std::move(axes[i]));
    if (repeats) sorted.push_back(std::move(*repeats));
    return sorted;
}

std::vector<std::string> expand_repeat(const std::vector<std::string>& overrides, const PipelineSource& src,
                                       const Registry& registry) {
    std::vector<std::string> out;
    for (const auto& o : overrides) {
        if (o.rfind("repeat=", 0) != 0) {
            out.push_back(o);
            continue;
        }
        const std::int64_t r = std::stoll(o.substr(7));
        // The seeds this point would have without the repeat: its other overrides applied.
        PipelineSource base = src;
        base.table.erase("sweep");
        for (const auto& other : overrides)
            if (other.rfind("repeat=", 0) != 0) apply_override(base, other, "sweep point");
        const Pipeline p = validate_pipeline(base, registry);
        out.push_back(fmt::format("pipeline.seed={}", p.seed + r));
        if (p.source.params.contains("train_seed") &&
            type_of(p.source.params.values().at("train_seed")) == ParamType::integer)
            out.push_back(fmt::format("source.train_seed={}", p.source.params.integer("train_seed") + 7919 * r));
    }
    return out;
}

std::vector<std::vector<std::string>> sweep_points(const std::vector<SweepAxis>& axes) {
    std::vector<std::vector<std::string>> points = {{}};
    for (const auto& axis : axes) {
        std::vector<std::vector<std::string>> next;
        for (const auto& p : points)
            for (const auto& v : axis.values) {
                auto q = p;
                q.push_back(axis.key + "=" + v);
                next.push_back(std::move(q));
            }
        points = std::move(next);
    }
    return points;
}

std::vector<Pipeline> validate_sweep(const PipelineSource& src, const std::vector<SweepAxis>& axes,
                                     const Registry& registry) {
    PipelineSource base = src;
    base.table.erase("sweep");
    std::vector<Pipeline> pipelines;
    for (const auto& overrides : sweep_points(axes)) {
        PipelineSource applied = base;
        for (const auto& o : expand_repeat(overrides, src, registry)) apply_override(applied, o, "sweep point");
        pipelines.push_back(validate_pipeline(applied, registry));
        instantiate(pipelines.back(), registry);
    }
    return pipelines;
}

SweepResult run_sweep(const PipelineSource& src, const std::vector<SweepAxis>& axes, const Registry& registry,
                      const SweepOptions& options, Console& console) {
    // Validate every point before running any: a bad value fails in seconds, not hours.
    const std::vector<Pipeline> pipelines = validate_sweep(src, axes, registry);
    std::vector<Point> points;
    for (auto& overrides : sweep_points(axes))
        points.push_back({overrides, fmt::format("point-{:02d}", points.size()), {}, -1, {}});

    // The plan, as collect_sweep reads it back.
    const std::string name = pipelines.front().name;
    nlohmann::ordered_json plan = {{"name", name}, {"axes", nlohmann::ordered_json::array()}, {"points", {}}};
    for (const auto& a : axes) plan["axes"].push_back({{"key", a.key}, {"values", a.values}});
    for (const auto& p : points) plan["points"].push_back({{"name", p.name}, {"overrides", p.overrides}});
    const std::string plan_text = plan.dump(2) + "\n";

    // One run: a directory of its own, renamed when complete. A shard: the directory all
    // shards share, <out>/<name>-sweep, which must hold this same sweep if it exists.
    const bool sharded = options.shards > 0;
    std::optional<RunDir> own;
    fs::path dir;
    if (sharded) {
        dir = options.out / (name + "-sweep");
        fs::create_directories(dir);
        if (fs::exists(dir / "sweep.json") && read_text_file(dir / "sweep.json") != plan_text)
            throw ConfigError({(dir / "sweep.json").string()},
                              "holds another sweep (other points or values): give the shards another --out");
        if (!fs::exists(dir / "sweep.json")) write_file_atomic(dir / "sweep.json", plan_text);
    } else {
        own.emplace(options.out, name + "-sweep");
        dir = own->path();
        write_file_atomic(dir / "sweep.json", plan_text);
    }
    console.open_log(dir / (sharded ? fmt::format("log-shard-{}.txt", options.shard) : "log.txt"));
    std::vector<std::size_t> mine;  // this process's points: p mod N = K
    for (std::size_t i = 0; i < points.size(); ++i)
        if (!sharded || i % static_cast<std::size_t>(options.shards) == static_cast<std::size_t>(options.shard))
            mine.push_back(i);
    console.log(LogLevel::info, "sweep",
                sharded ? fmt::format("shard {}/{}: {} of {} points, {} at a time, in {}", options.shard,
                                      options.shards, mine.size(), points.size(), options.jobs, dir.string())
                        : fmt::format("{} points, {} at a time, in {}", points.size(), options.jobs, dir.string()));
    for (std::size_t i : mine) {
        Pipeline p = pipelines[i];
        p.name = points[i].name;
        points[i].config = dir / (points[i].name + ".toml");
        std::ostringstream text;
        text << "# sweep point: ";
        for (const auto& o : points[i].overrides) text << o << "  ";
        text << "\n" << p.resolved() << "\n";
        write_file_atomic(points[i].config, text.str());
    }

    // Run up to `jobs` points at once.
    const fs::path runs = dir / "runs";
    fs::create_directories(runs);
    std::map<pid_t, std::size_t> running;
    std::size_t next = 0;
    while (next < mine.size() || !running.empty()) {
        while (next < mine.size() && static_cast<int>(running.size()) < std::max(1, options.jobs) && !cancel_flag()) {
            const Point& pt = points[mine[next]];
            running[spawn(options, pt, runs, dir / (pt.name + ".log"))] = mine[next];
            console.log(LogLevel::info, "sweep", fmt::format("started {}: {}", pt.name, fmt::join(pt.overrides, " ")));
            ++next;
        }
        if (running.empty()) break;
        int status = 0;
        const pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) continue;
        auto it = running.find(pid);
        if (it == running.end()) continue;
        untrack_child(pid);
        Point& pt = points[it->second];
        pt.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        running.erase(it);
        console.progress(
            "sweep",
            {"points", static_cast<std::int64_t>(next - running.size()), static_cast<std::int64_t>(mine.size()),
             fmt::format("{} {}", pt.name, pt.status == 0 ? "done" : fmt::format("FAILED (exit {})", pt.status))});
    }
    if (cancel_flag()) throw Interrupted();  // each point's own run directory resumes (see its log)

    std::map<std::string, int> status;
    for (std::size_t i : mine) status[points[i].name] = points[i].status;
    int failed_here = 0;
    for (std::size_t i : mine) failed_here += points[i].status != 0 ? 1 : 0;
    if (sharded) {
        // The shard that finds every point finished collects; the others leave it.
        const SweepProgress progress = sweep_progress(dir);
        if (!progress.missing.empty()) {
            SweepResult r{dir,
                          fmt::format("shard {}/{}: {} point(s) run here, {} failed; {} of {} points of the sweep "
                                      "finished. When all are, the last shard collects; any time: sigx sweep "
                                      "collect {}\n",
                                      options.shard, options.shards, mine.size(), failed_here,
                                      points.size() - progress.missing.size(), points.size(), dir.string()),
                          failed_here, progress.missing};
            return r;
        }
        SweepResult r = collect_sweep(dir, status, console);
        r.failed = failed_here;
        return r;
    }
    SweepResult r = collect_sweep(dir, status, console);
    own->commit();
    r.dir = own->final_path();
    return r;
}

SweepProgress sweep_progress(const fs::path& dir) {
    SweepProgress p;
    nlohmann::ordered_json plan;
    try {
        plan = nlohmann::ordered_json::parse(read_text_file(dir / "sweep.json"));
    } catch (const std::exception& e) {
        throw ConfigError({(dir / "sweep.json").string()}, fmt::format("not a sweep's plan: {}", e.what()));
    }
    std::map<std::string, fs::path> finished;  // run directories are named "point-NN-<time>"
    if (fs::exists(dir / "runs"))
        for (const auto& e : fs::directory_iterator(dir / "runs")) {
            const std::string f = e.path().filename().string();
            if (f.rfind("point-", 0) == 0 && fs::exists(e.path() / "metrics.json"))
                finished[f.substr(0, f.find('-', 6))] = e.path();
        }
    for (const auto& pt : plan.at("points")) {
        const std::string n = pt.at("name").get<std::string>();
        if (finished.count(n))
            p.finished[n] = finished[n];
        else
            p.missing.push_back(n);
    }
    p.plan = std::move(plan);
    return p;
}

SweepResult collect_sweep(const fs::path& dir, const std::map<std::string, int>& exit_status, Console& console) {
    const SweepProgress progress = sweep_progress(dir);
    const auto& plan = progress.plan;
    const std::string name = plan.at("name").get<std::string>();
    std::vector<SweepAxis> axes;
    for (const auto& a : plan.at("axes")) axes.push_back({a.at("key"), a.at("values")});
    std::vector<Point> points;
    for (const auto& pt : plan.at("points")) {
        Point p{pt.at("overrides"), pt.at("name"), {}, -1, {}};
        if (auto it = progress.finished.find(p.name); it != progress.finished.end())
            p.run_dir = it->second, p.status = 0;
        if (auto it = exit_status.find(p.name); it != exit_status.end() && it->second != 0) p.status = it->second;
        points.push_back(std::move(p));
    }

    // Summary: the headline metric per model, per test set, per point.
    std::vector<std::string> models, sets;
    std::vector<nlohmann::ordered_json> results(points.size());  // keeps the report's model order
    Lead lead;
    for (std::size_t i = 0; i < points.size(); ++i) {
        if (points[i].status != 0 || points[i].run_dir.empty()) continue;
        std::ifstream in(points[i].run_dir / "metrics.json");
        try {
            const auto j = nlohmann::ordered_json::parse(in);
            results[i] = j.at("results");
            if (lead.metric.empty() && j.contains("headline")) {
                lead.metric = j["headline"].at("metric").get<std::string>();
                const auto& w = j["headline"].at("windows");
                if (!w.empty()) lead.window = w.front().get<std::string>();
            }
            if (j.contains("rows"))
                for (const auto& row : j["rows"]) lead.references.insert(row.get<std::string>());
        } catch (const std::exception& e) {  // a point's bad file must not cost the summary
            console.log(LogLevel::warning, "sweep",
                        fmt::format("{}: unreadable metrics.json: {}", points[i].name, e.what()));
            continue;
        }
        for (auto& [set, per_model] : results[i].items()) {
            if (std::find(sets.begin(), sets.end(), set) == sets.end()) sets.push_back(set);
            for (auto& [model, v] : per_model.items())
                if (std::find(models.begin(), models.end(), model) == models.end()) models.push_back(model);
        }
    }
    SweepResult r;
    nlohmann::ordered_json summary_json;
    summary_json["axes"] = nlohmann::ordered_json::array();
    for (const auto& a : axes) summary_json["axes"].push_back({{"key", a.key}, {"values", a.values}});
    std::string md = fmt::format("# {} sweep\n\n{} points: {}\n", name, points.size(), [&] {
        std::string s;
        for (const auto& a : axes) s += fmt::format("`{}` in [{}] ", a.key, fmt::join(a.values, ", "));
        return s;
    }());
    auto metric_of = [&](std::size_t i, const std::string& set, const std::string& model,
                         const std::string& metric) -> std::optional<double> {
        const auto& j = results[i];
        if (!j.is_object() || !j.contains(set) || !j[set].contains(model)) return std::nullopt;
        const auto& v = j[set][model];
        if (!v.is_object() || !v.contains("mean") || !v["mean"].is_object() || !v["mean"].contains(metric) ||
            !v["mean"][metric].is_number())
            return std::nullopt;  // e.g. a NaN, which JSON writes as null
        return v["mean"][metric].get<double>();
    };
    auto headline_of = [&](std::size_t i, const std::string& set, const std::string& model) {
        return metric_of(i, set, model, lead.metric);
    };
    if (lead.metric.empty() && !sets.empty())
        md +=
            "\nNo evaluator of the pipeline names a headline metric (metrics.json's \"headline\"): nothing to "
            "summarise.\n";
    for (const auto& set : sets) {
        if (lead.metric.empty()) break;
        md += fmt::format("\n## `{}`: mean {}\n\n| point |", set, lead.metric);
        for (const auto& a : axes) md += fmt::format(" {} |", a.key);
        for (const auto& m : models) md += fmt::format(" {} |", m);
        md += "\n|---|";
        for (std::size_t i = 0; i < axes.size() + models.size(); ++i) md += "---:|";
        md += "\n";
        for (std::size_t i = 0; i < points.size(); ++i) {
            md += fmt::format("| {} |", points[i].name);
            for (const auto& o : points[i].overrides) md += fmt::format(" {} |", o.substr(o.find('=') + 1));
            for (const auto& m : models) {
                auto v = headline_of(i, set, m);
                md += v ? fmt::format(" {:.3e} |", *v) : (points[i].status != 0 ? " failed |" : " |");
            }
            md += "\n";
        }
    }
    if (!axes.empty() && axes.back().key == "repeat" && !lead.metric.empty())
        md += repeats_summary(points_overrides(points), sets, models, metric_of, lead, summary_json["repeats"]);
    for (std::size_t i = 0; i < points.size(); ++i) {
        nlohmann::ordered_json pj = {
            {"name", points[i].name}, {"overrides", points[i].overrides}, {"exit", points[i].status}};
        if (!points[i].run_dir.empty()) pj["run_dir"] = fs::relative(points[i].run_dir, dir).string();
        if (results[i].is_object()) pj["results"] = results[i];
        summary_json["points"].push_back(pj);
        if (points[i].status > 0) {
            ++r.failed;
            md += fmt::format("\n{} failed (exit {}): see {}.log\n", points[i].name, points[i].status, points[i].name);
        }
    }

    std::vector<std::string> missing;  // not finished, and not failed here
    for (const auto& p : points)
        if (p.status < 0) missing.push_back(p.name);
    if (!missing.empty()) {
        md += fmt::format(
            "\n{} of {} points not finished (not run yet, running, or failed in another shard: see "
            "their .log): {}\n",
            missing.size(), points.size(), fmt::join(missing, ", "));
        summary_json["missing"] = missing;
    }

    // The headline against the swept value, log-log, one line per model (first axis, numeric).
    if (!sets.empty() && !models.empty() && !lead.metric.empty()) {
        const std::string& set = sets.front();
        std::string dat =
            fmt::format("# swept value, then mean {} per model: {}\n", lead.metric, fmt::join(models, " "));
        bool numeric = true;
        for (std::size_t i = 0; i < points.size(); ++i) {
            const std::string v = points[i].overrides.front().substr(points[i].overrides.front().find('=') + 1);
            char* end = nullptr;
            const double x = std::strtod(v.c_str(), &end);
            numeric = numeric && end && *end == '\0' && x > 0;
            dat += v;
            for (const auto& m : models) {
                auto y = headline_of(i, set, m);
                dat += y ? fmt::format(" {:.6g}", *y) : " NaN";
            }
            dat += "\n";
        }
        if (numeric) {
            write_file_atomic(dir / "sweep.dat", dat);
            std::string body = fmt::format(
                "  set termoption noenhanced\n  set title \"{}: mean {} on '{}'\"\n  set grid\n"
                "  set logscale xy\n  set format y \"%.0e\"\n  set xlabel \"{}\"\n  set ylabel \"{}\"\n  set key "
                "outside right\n  plot ",
                name, lead.metric, set, axes.front().key, lead.metric);
            for (std::size_t m = 0; m < models.size(); ++m)
                body += fmt::format("{}\"sweep.dat\" using 1:{} with linespoints lw 2 title \"{}\"", m ? ", " : "",
                                    m + 2, models[m]);
            write_file_atomic(dir / "sweep.gp", gnuplot_begin("sweep") + body + "\n" + gnuplot_end());
            if (render_gnuplot(dir / "sweep.gp"))
                md += fmt::format("\n![{} against the swept value](sweep.png)\n", lead.metric);
            else
                console.log(LogLevel::warning, "sweep", gnuplot_missing_hint(dir));
        }
    }
    write_file_atomic(dir / "summary.md", md);
    write_file_atomic(dir / "summary.json", summary_json.dump(2) + "\n");
    r.dir = dir;
    r.summary = md;
    r.missing = missing;
    return r;
}

}  // namespace sigx::host
