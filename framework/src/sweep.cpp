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

namespace {

// The sweep's folder, holding its plan (sweep.json, as collect_sweep reads it back). One
// run: a directory of its own, renamed when complete. A shard: the directory all shards
// share, <out>/<name>-sweep, which must hold this same sweep if it exists.
fs::path sweep_dir(const std::string& name, const std::vector<SweepAxis>& axes, const std::vector<Point>& points,
                   const SweepOptions& options, std::optional<RunDir>& own) {
    nlohmann::ordered_json plan = {{"name", name}, {"axes", nlohmann::ordered_json::array()}, {"points", {}}};
    for (const auto& a : axes) plan["axes"].push_back({{"key", a.key}, {"values", a.values}});
    for (const auto& p : points) plan["points"].push_back({{"name", p.name}, {"overrides", p.overrides}});
    const std::string plan_text = plan.dump(2) + "\n";
    if (options.shards == 0) {
        own.emplace(options.out, name + "-sweep");
        write_file_atomic(own->path() / "sweep.json", plan_text);
        return own->path();
    }
    const fs::path dir = options.out / (name + "-sweep");
    fs::create_directories(dir);
    if (fs::exists(dir / "sweep.json") && read_text_file(dir / "sweep.json") != plan_text)
        throw ConfigError({(dir / "sweep.json").string()},
                          "holds another sweep (other points or values): give the shards another --out");
    if (!fs::exists(dir / "sweep.json")) write_file_atomic(dir / "sweep.json", plan_text);
    return dir;
}

// Runs the points `mine`, up to `jobs` at once, each a `sigx run` of its own; records
// their exit status.
void run_points(const SweepOptions& options, std::vector<Point>& points, const std::vector<std::size_t>& mine,
                const fs::path& dir, Console& console) {
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
}

}  // namespace

SweepResult run_sweep(const PipelineSource& src, const std::vector<SweepAxis>& axes, const Registry& registry,
                      const SweepOptions& options, Console& console) {
    // Validate every point before running any: a bad value fails in seconds, not hours.
    const std::vector<Pipeline> pipelines = validate_sweep(src, axes, registry);
    std::vector<Point> points;
    for (auto& overrides : sweep_points(axes))
        points.push_back({overrides, fmt::format("point-{:02d}", points.size()), {}, -1, {}});
    const bool sharded = options.shards > 0;
    std::optional<RunDir> own;
    const fs::path dir = sweep_dir(pipelines.front().name, axes, points, options, own);
    console.open_log(dir / (sharded ? fmt::format("log-shard-{}.txt", options.shard) : "log.txt"));
    std::vector<std::size_t> mine;  // this process's points: p mod N = K
    for (std::size_t i = 0; i < points.size(); ++i)
        if (!sharded || i % static_cast<std::size_t>(options.shards) == static_cast<std::size_t>(options.shard))
            mine.push_back(i);
    console.log(LogLevel::info, "sweep",
                sharded ? fmt::format("shard {}/{}: {} of {} points, {} at a time, in {}", options.shard,
                                      options.shards, mine.size(), points.size(), options.jobs, dir.string())
                        : fmt::format("{} points, {} at a time, in {}", points.size(), options.jobs, dir.string()));
    for (std::size_t i : mine) {  // each point's pipeline file, resolved
        Pipeline p = pipelines[i];
        p.name = points[i].name;
        points[i].config = dir / (points[i].name + ".toml");
        std::ostringstream text;
        text << "# sweep point: ";
        for (const auto& o : points[i].overrides) text << o << "  ";
        text << "\n" << p.resolved() << "\n";
        write_file_atomic(points[i].config, text.str());
    }
    run_points(options, points, mine, dir, console);
    if (cancel_flag()) throw Interrupted();  // each point's own run directory resumes (see its log)

    std::map<std::string, int> status;
    int failed_here = 0;
    for (std::size_t i : mine) {
        status[points[i].name] = points[i].status;
        failed_here += points[i].status != 0 ? 1 : 0;
    }
    if (!sharded) {
        SweepResult r = collect_sweep(dir, status, console);
        own->commit();
        r.dir = own->final_path();
        return r;
    }
    // The shard that finds every point finished collects; the others leave it.
    const SweepProgress progress = sweep_progress(dir);
    if (!progress.missing.empty())
        return {dir,
                fmt::format("shard {}/{}: {} point(s) run here, {} failed; {} of {} points of the sweep "
                            "finished. When all are, the last shard collects; any time: sigx sweep "
                            "collect {}\n",
                            options.shard, options.shards, mine.size(), failed_here,
                            points.size() - progress.missing.size(), points.size(), dir.string()),
                failed_here, progress.missing};
    SweepResult r = collect_sweep(dir, status, console);
    r.failed = failed_here;
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

}  // namespace sigx::host
