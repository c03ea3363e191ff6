// sigx: the command-line host. Loads plugins, validates and runs pipeline files.
#include <sigx/host/apply.hpp>
#include <sigx/host/check.hpp>
#include <sigx/host/code.hpp>
#include <sigx/host/errors.hpp>
#include <sigx/host/graph.hpp>
#include <sigx/host/loader.hpp>
#include <sigx/host/pipeline.hpp>
#include <sigx/host/run_dir.hpp>
#include <sigx/host/runner.hpp>
#include <sigx/host/scaffold.hpp>
#include <sigx/host/services.hpp>
#include <sigx/host/stream.hpp>
#include <sigx/host/sweep.hpp>
#include <sigx/host/world.hpp>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

using namespace sigx;
using namespace sigx::host;

namespace {

// Signals. The handler only sets the cancel flag (plugins poll it through
// Host::cancelled()) and wakes the watcher thread, which owns the rest of the contract:
// the first signal asks the run to stop at its next checkpoint; if it has not stopped
// after stop_grace (a plugin inside a long call that never polls), or at a second
// signal, the process ends at once, with the same message and exit code as a run that
// stopped by itself. Sweep points are passed the signal.
int signal_pipe[2] = {-1, -1};
std::atomic<int> stop_grace_seconds{5};
std::atomic<bool> announce_stop{true};  // false in ranks > 0: rank 0 and the launcher say it

void on_signal(int) {
    cancel_flag().store(true);
    const char c = 1;
    [[maybe_unused]] const auto n = ::write(signal_pipe[1], &c, 1);
}

[[noreturn]] void stop_now() {
    const std::string dir = ActiveRun::dir();
    const std::string msg =
        dir.empty() ? "interrupted\n" : fmt::format("interrupted; resume with: sigx run --resume {}\n", dir);
    std::fputs(msg.c_str(), stderr);
    std::fflush(stderr);
    std::_Exit(exit_interrupted);
}

void watch_signals() {
    char c;
    while (::read(signal_pipe[0], &c, 1) != 1) {}
    signal_children(SIGTERM);
    if (announce_stop)
        std::fprintf(stderr, "\nstopping at the next checkpoint (at most %d s); press Ctrl-C again to stop now\n",
                     stop_grace_seconds.load());
    pollfd p{signal_pipe[0], POLLIN, 0};
    ::poll(&p, 1, stop_grace_seconds.load() * 1000);  // a second signal, or the grace period over
    stop_now();
}

void install_signal_handlers() {
    if (::pipe2(signal_pipe, O_CLOEXEC) != 0) return;
    std::thread(watch_signals).detach();
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);  // a closed pipe is a write error, reported as such
}

struct Options {
    std::vector<std::string> plugin_paths;
    std::string file;
    std::vector<std::string> overrides;
    std::string out = "runs";
    std::string resume;
    int jobs = 1;
    int repeats = 0;    // run --repeats
    std::string shard;  // run --shard K/N
    int nproc = 1;      // run --nproc N
    std::string kind = "model";
    std::string dir;
    std::string name;
    bool json = false;
    bool quiet = false;
    std::vector<std::string> inputs;  // apply
    std::string apply_out = ".";      // apply
    bool csv = false;                 // apply
    StreamOptions stream;             // stream (its run is `file`)
};

nlohmann::json value_json(const ParamValue& v) {
    return std::visit([](const auto& x) { return nlohmann::json(x); }, v);
}

// Built-in folder, SIGX_PLUGIN_PATH, --plugin-path, then the pipeline's [plugins] paths.
Registry make_registry(const Options& o, std::vector<std::filesystem::path> pipeline_paths = {}) {
    pipeline_paths.insert(pipeline_paths.begin(), o.plugin_paths.begin(), o.plugin_paths.end());
    return plugin_registry(builtin_plugin_dir(std::filesystem::read_symlink("/proc/self/exe")), pipeline_paths);
}

void print_rejections(const Registry& r) {
    for (const auto& rej : r.rejections()) std::fprintf(stderr, "warning: plugin rejected: %s\n", rej.str().c_str());
}

int cmd_plugins(const Options& o) {
    Registry r = make_registry(o);
    if (o.json) {
        nlohmann::ordered_json j;
        j["plugins"] = nlohmann::ordered_json::array();
        for (const auto* p : r.all())
            j["plugins"].push_back({{"name", p->descriptor->name},
                                    {"kind", to_string(p->descriptor->kind)},
                                    {"version", p->descriptor->version},
                                    {"description", p->descriptor->description},
                                    {"file", p->file.string()}});
        j["rejected"] = nlohmann::ordered_json::array();
        for (const auto& rej : r.rejections())
            j["rejected"].push_back({{"file", rej.file.string()}, {"reason", rej.reason}});
        std::cout << j.dump(2) << "\n";
        return exit_ok;
    }
    std::size_t w = 4;
    for (const auto* p : r.all()) w = std::max(w, p->descriptor->name.size());
    for (const auto* p : r.all())
        fmt::print("{:<{}}  {:<9}  {:<7}  {}\n", p->descriptor->name, w, to_string(p->descriptor->kind),
                   p->descriptor->version, p->descriptor->description);
    for (const auto& rej : r.rejections()) fmt::print("rejected: {}\n", rej.str());
    return exit_ok;
}

int cmd_inspect(const Options& o) {
    Registry r = make_registry(o);
    const PluginInfo* p = r.find(o.name);
    if (!p) {
        std::vector<std::string> names;
        for (const auto* i : r.all()) names.push_back(i->descriptor->name);
        std::string near = closest(o.name, names);
        fmt::print(stderr, "error: no plugin named '{}'{}; `sigx plugins` lists them\n", o.name,
                   near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near));
        return exit_plugin;
    }
    const Descriptor& d = *p->descriptor;
    if (o.json) {
        nlohmann::ordered_json j = {{"name", d.name},           {"kind", to_string(d.kind)},
                                    {"version", d.version},     {"description", d.description},
                                    {"trainable", d.trainable}, {"file", p->file.string()}};
        j["params"] = nlohmann::ordered_json::array();
        for (const auto& s : d.params) {
            nlohmann::ordered_json ps = {
                {"name", s.name}, {"type", to_string(s.type)}, {"default", value_json(s.default_value)}};
            if (s.min) ps["min"] = *s.min;
            if (s.max) ps["max"] = *s.max;
            if (s.min_exclusive) ps["min_exclusive"] = true;
            if (!s.choices.empty()) ps["choices"] = s.choices;
            if (s.length) ps["length"] = *s.length;
            if (s.is_required) ps["required"] = true;
            ps["help"] = s.help_text;
            j["params"].push_back(ps);
        }
        std::cout << j.dump(2) << "\n";
        return exit_ok;
    }
    fmt::print("{} {} ({})\n  {}\n  file: {}\n", d.name, d.version, to_string(d.kind), d.description, p->file.string());
    if (d.trainable)
        fmt::print("  trained by a trainer: name one with trainer = \"...\" in its [models.NAME] section\n");
    fmt::print("\nparameters:\n");
    for (const auto& s : d.params) {
        if (s.is_required)
            fmt::print("  {} ({}, required, e.g. {})", s.name, to_string(s.type), param_text(s.default_value));
        else
            fmt::print("  {} ({}, default {})", s.name, to_string(s.type), param_text(s.default_value));
        if (auto c = describe_constraints(s); !c.empty()) fmt::print(", {}", c);
        fmt::print("\n      {}\n", s.help_text);
    }
    if (d.params.empty()) fmt::print("  (none)\n");
    return exit_ok;
}

PipelineSource load(const Options& o, Registry& registry) {
    PipelineSource src = read_pipeline(o.file, o.overrides);
    registry = make_registry(o, plugin_paths(src));
    print_rejections(registry);
    return src;
}

int cmd_validate(const Options& o) {
    Registry registry;
    const PipelineSource src = load(o, registry);
    for (const auto& line : validate_file(o.file, src, registry)) fmt::print("{}\n", line);
    return exit_ok;
}

int cmd_sweep_collect(const Options& o) {
    Console console(o.quiet);
    const SweepResult r = collect_sweep(o.file, {}, console);
    fmt::print("{}\nsweep directory: {}\n", r.summary, r.dir.string());
    return exit_ok;
}

int cmd_run(Options o) {
    if (!o.resume.empty()) {
        // The interrupted run's resolved config is the pipeline: same values, same seeds.
        if (!o.file.empty() || !o.overrides.empty())
            throw ConfigError({"command line"},
                              "--resume takes no pipeline file or overrides: it reuses the run's config.toml");
        try {
            o.file = (RunDir::reopen(o.resume).path() / "config.toml").string();
        } catch (const std::runtime_error& e) {
            throw ConfigError({"--resume"}, e.what());
        }
    } else if (o.file.empty()) {
        throw ConfigError({"command line"}, "run needs a pipeline file (or --resume RUN_DIR)");
    }
    Registry registry;
    PipelineSource src = load(o, registry);
    if (o.repeats > 0) apply_override(src, fmt::format("sweep.repeats={}", o.repeats), "--repeats");
    Console console(o.quiet);
    if (const auto axes = read_sweep(src); !axes.empty()) {
        if (!o.resume.empty())
            throw ConfigError({"command line"},
                              "--resume applies to one run: resume a sweep's point by its run directory");
        if (o.nproc > 1)
            throw ConfigError({"--nproc"},
                              "a sweep runs its points in parallel with --jobs (and across machines "
                              "with --shard); --nproc trains one pipeline across processes");
        stop_grace_seconds = 2 * stop_grace_seconds;  // the points stop first, each within its own grace
        const auto [shard, shards] = sweep_shard(o.shard);
        SweepResult r = run_sweep(
            src, axes, registry,
            {std::filesystem::read_symlink("/proc/self/exe"), o.plugin_paths, o.out, o.jobs, shard, shards}, console);
        fmt::print("{}\nsweep directory: {}\n", r.summary, r.dir.string());
        return r.failed == 0 ? exit_ok : exit_runtime;
    }
    const Pipeline pipeline = validate_pipeline(src, registry);
    if (o.nproc > 1) {
        if (std::getenv("RANK") || std::getenv("SLURM_PROCID") || std::getenv("OMPI_COMM_WORLD_RANK"))
            throw ConfigError({"--nproc"},
                              "this process is already one rank of a launcher's world (RANK, "
                              "SLURM_PROCID or OMPI_COMM_WORLD_RANK is set): leave --nproc out");
        {  // refused here once, not once per rank; the instances go before the ranks start
            Instances in = instantiate(pipeline, registry);
            check_data_parallel(pipeline, in, {0, o.nproc, 0, o.nproc, "127.0.0.1", 0, "--nproc"});
        }
        stop_grace_seconds = 2 * stop_grace_seconds;  // the ranks stop first, each within its own grace
        std::vector<std::string> args = {std::filesystem::read_symlink("/proc/self/exe").string()};
        for (const auto& path : o.plugin_paths) args.insert(args.end(), {"--plugin-path", path});
        args.insert(args.end(), {"run", "--out", o.out});
        if (o.quiet) args.emplace_back("-q");
        if (o.resume.empty()) {
            args.push_back(o.file);
            args.insert(args.end(), o.overrides.begin(), o.overrides.end());
        } else {
            args.insert(args.end(), {"--resume", o.resume});
        }
        return run_local_ranks(args, o.nproc, console);
    }
    const World world = world_from_env();
    if (world.size > 1) {
        export_world(world);  // the trainer reads torchrun's variables, whichever launcher set the world
        if (world.rank > 0) console.set_prefix(fmt::format("[rank {}] ", world.rank)), announce_stop = false;
    }
    RunResult r = run_pipeline(pipeline, registry, {o.out, o.resume, world}, console);
    if (world.rank > 0) return exit_ok;  // rank 0 reports
    fmt::print("{}\nrun directory: {}\n", r.report, r.dir.string());
    return exit_ok;
}

// The process's peak resident memory (VmHWM), MB; 0 where /proc does not say.
double peak_memory_mb() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
    return 0;
}

int cmd_stream(const Options& o) {
    StreamOptions so = o.stream;
    so.run = o.file;
    so.model = o.name;
    so.quiet = o.quiet;
    const StreamSummary r = stream_model(so, make_registry(o), cancel_flag(),
                                         [](const std::string& line) { fmt::print(stderr, "{}\n", line); });
    const double audio = static_cast<double>(r.frames) / r.sample_rate;
    if (!o.quiet || r.stopped)
        fmt::print(stderr,
                   "{}{} samples ({:.3f} s) through model '{}' (latency {} samples) in {:.3f} s: {:.0f}x real "
                   "time, peak memory {:.1f} MB{}\n",
                   r.stopped ? "interrupted after " : "", r.frames, audio, r.model, r.latency, r.seconds,
                   r.seconds > 0 ? audio / r.seconds : 0.0, peak_memory_mb(),
                   r.closed ? "; the output was closed by its reader" : "");
    return r.stopped ? exit_interrupted : exit_ok;
}

int cmd_apply(const Options& o) {
    ApplyOptions a{o.file, o.name, {}, o.apply_out, o.csv};
    for (const auto& i : o.inputs) a.inputs.emplace_back(i);
    const auto note = [](const std::string& line) { fmt::print(stderr, "{}\n", line); };
    for (const auto& f : apply_model(a, make_registry(o), note)) fmt::print("{}\n", f.string());
    return exit_ok;
}

int cmd_graph(const Options& o) {
    Registry registry;
    const PipelineSource src = load(o, registry);
    std::cout << pipeline_dot(validate_pipeline(src, registry));
    return exit_ok;
}

int cmd_check(const Options& o) {
    Console console(true);
    const std::vector<CheckResult> results = check_library(o.file, make_registry(o), console);
    int failed = 0;
    int notes = 0;
    for (const auto& r : results) {
        failed += !r.pass;
        notes += r.note;
        fmt::print("{}  {}{}{}\n",
                   r.note   ? "NOTE"
                   : r.pass ? "PASS"
                            : "FAIL",
                   r.plugin.empty() ? "" : r.plugin + ": ", r.check, r.pass && !r.note ? "" : " -- " + r.detail);
    }
    fmt::print("{}: {} passed, {} failed{}\n", o.file, results.size() - static_cast<std::size_t>(failed + notes),
               failed, notes ? fmt::format(", {} note{}", notes, notes == 1 ? "" : "s") : "");
    return failed == 0 ? exit_ok : exit_plugin;
}

int cmd_new_plugin(const Options& o) {
    const std::map<std::string, Kind> kinds = {{"generator", Kind::generator},
                                               {"model", Kind::model},
                                               {"trainer", Kind::trainer},
                                               {"evaluator", Kind::evaluator}};
    const auto files = scaffold_plugin(kinds.at(o.kind), o.name, o.dir);
    for (const auto& f : files) fmt::print("wrote {}\n", f.string());
    fmt::print(
        "\nnext:\n  cmake -S {0} -B {0}/build -DCMAKE_PREFIX_PATH=<sigx install prefix> && cmake --build {0}/build\n"
        "  ctest --test-dir {0}/build\n  SIGX_PLUGIN_PATH={0}/build/plugins sigx run {0}/pipeline.toml\n",
        o.dir);
    return exit_ok;
}

}  // namespace

static int run_cli(int argc, char** argv) {
    // OpenMP threads (LibTorch's) that spin while they wait starve each other as soon as
    // more of them are busy than there are cores: two runs at once were 12x slower. A
    // passive wait costs nothing measurable alone (bench/load.sh). Set before any plugin
    // loads libgomp, which reads it once; a user's own setting wins.
    ::setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    CLI::App app{"sigx: signal-processing experiments from plugins and TOML pipelines"};
    app.set_version_flag("--version", fmt::format("sigx {}.{}.{} (plugin ABI {})", SIGX_SDK_VERSION_MAJOR,
                                                  SIGX_SDK_VERSION_MINOR, SIGX_SDK_VERSION_PATCH, SIGX_ABI_VERSION));
    app.require_subcommand(1);
    app.fallthrough();  // --plugin-path may also follow the subcommand
    Options o;
    app.add_option("--plugin-path", o.plugin_paths, "extra plugin folder or library (repeatable)")
        ->type_name("PATH")
        ->allow_extra_args(false);  // one value per --plugin-path: a NAME after it stays positional

    auto* run = app.add_subcommand("run", "run a pipeline file into a new run directory");
    run->add_option("file", o.file, "pipeline TOML file");
    run->add_option("overrides", o.overrides, "key=value overrides, e.g. source.phase_scale=0.1");
    run->add_option("--out", o.out, "parent folder of run directories")->capture_default_str();
    run->add_flag("--quiet,-q", o.quiet, "print only warnings, errors and the result");
    run->add_option("--repeats", o.repeats,
                    "run K times with other training seeds (model and training data; the test sets stay) and give "
                    "each model's mean and standard deviation")
        ->check(CLI::Range(1, 1000));
    run->add_option("--shard", o.shard,
                    "sweeps: run only points p with p mod N = K, into the sweep directory the shards share under "
                    "--out (default: from RANK/WORLD_SIZE, SLURM_ARRAY_TASK_ID/COUNT or OMPI_COMM_WORLD_RANK/SIZE)")
        ->type_name("K/N");
    run->add_option("--jobs,-j", o.jobs, "sweeps: sub-runs in parallel processes")
        ->check(CLI::Validator(
            [](std::string& v) {
                return !v.empty() && v.size() < 6 && v.find_first_not_of("0123456789") == std::string::npos &&
                               std::stoi(v) >= 1
                           ? std::string()
                           : "must be a whole number of processes, at least 1, got '" + v + "'";
            },
            "N"));
    run->add_option("--resume", o.resume, "finish an interrupted run from its checkpoints")->type_name("RUN_DIR");
    run->add_option("--nproc", o.nproc,
                    "train across N processes on this machine (data-parallel, torch.distributed over Gloo), the "
                    "trainer's threads split between them; under torchrun, srun or mpirun leave it out")
        ->check(CLI::Range(1, 1024));

    auto* apply = app.add_subcommand("apply", "apply a model fitted in an earlier run to recordings (no training)");
    apply->add_option("run", o.file, "run directory (or one model's folder in it)")->required();
    apply
        ->add_option("inputs", o.inputs,
                     "recordings: WAV, FLAC, OGG, or CSV (a `time` column gives the rate; columns named like the "
                     "model's components are left out)")
        ->required()
        ->check(CLI::ExistingFile);
    apply->add_option("--model", o.name, "the model's name in the run (needed when it holds several)");
    apply->add_option("--out", o.apply_out, "folder of the outputs: INPUT_STEM.MODEL.wav")->capture_default_str();
    apply->add_flag("--csv", o.csv, "also write INPUT_STEM.MODEL.csv (time and one column per component)");

    auto* stream = app.add_subcommand(
        "stream", "run a saved causal model over a long or live input, block by block, in constant memory");
    stream->add_option("run", o.file, "run directory (or one model's folder in it)")->required();
    stream
        ->add_option("input", o.stream.input,
                     "a sound file (WAV, FLAC, OGG), raw float32 with --rate, or - for standard input")
        ->capture_default_str();
    stream
        ->add_option("-o,--output", o.stream.output,
                     "where the components go, one channel each: a file or - for standard output")
        ->capture_default_str();
    stream->add_option("--format", o.stream.format, "output format (default: wav for a .wav file, else raw float32)")
        ->check(CLI::IsMember({"wav", "raw"}));
    stream->add_option("--model", o.name, "the model's name in the run (needed when it holds several)");
    stream->add_option("--block", o.stream.block, "samples per block")
        ->check(CLI::Range(1, 1 << 24))
        ->capture_default_str();
    stream->add_option("--rate", o.stream.rate, "the input is raw float32 (interleaved, native order) at this rate, Hz")
        ->check(CLI::PositiveNumber);
    stream->add_option("--channels", o.stream.channels, "raw input's channels")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    stream->add_flag("-q,--quiet", o.quiet, "no summary line on standard error");

    auto* sweep = app.add_subcommand("sweep", "work on sweep directories");
    sweep->require_subcommand(1);
    auto* collect = sweep->add_subcommand(
        "collect", "summarise whatever points of a (sharded) sweep have finished, and list the others");
    collect->add_option("dir", o.file, "the sweep directory")->required()->check(CLI::ExistingDirectory);

    auto* validate = app.add_subcommand("validate", "check a pipeline file (and overrides) without running it");
    validate->add_option("file", o.file, "pipeline TOML file")->required();
    validate->add_option("overrides", o.overrides, "key=value overrides");

    auto* plugins = app.add_subcommand("plugins", "list the plugins found, and libraries rejected");
    plugins->add_flag("--json", o.json, "machine-readable output");

    auto* inspect = app.add_subcommand("inspect", "show a plugin's description and parameters");
    inspect->add_option("name", o.name, "plugin name")->required();
    inspect->add_flag("--json", o.json, "machine-readable output");

    auto* graph = app.add_subcommand("graph", "print a pipeline's wiring as Graphviz DOT");
    graph->add_option("file", o.file, "pipeline TOML file")->required();
    graph->add_option("overrides", o.overrides, "key=value overrides");

    auto* check = app.add_subcommand("check", "conformance checks of a plugin library (pass/fail per check)");
    check->add_option("library", o.file, "the plugin's .so file")->required()->check(CLI::ExistingFile);

    auto* create = app.add_subcommand("new", "create a project");
    create->require_subcommand(1);
    auto* new_plugin =
        create->add_subcommand("plugin", "an out-of-tree plugin project built against the installed SDK");
    new_plugin->add_option("--kind", o.kind, "generator, model, trainer or evaluator")
        ->check(CLI::IsMember({"generator", "model", "trainer", "evaluator"}))
        ->capture_default_str();
    new_plugin->add_option("name", o.name, "plugin name, e.g. my.bandpass")->required();
    new_plugin->add_option("dir", o.dir, "folder to create")->required();

    app.footer(
        "Exit codes: 0 ok, 1 runtime failure, 2 configuration error, 3 plugin error, 130 interrupted.\n"
        "Plugins are searched in the built-in folder, SIGX_PLUGIN_PATH, --plugin-path and [plugins] paths.");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        return code == 0 ? exit_ok : exit_config;
    }

    install_signal_handlers();
    try {
        if (*run) return cmd_run(o);
        if (*apply) return cmd_apply(o);
        if (*stream) return cmd_stream(o);
        if (*collect) return cmd_sweep_collect(o);
        if (*validate) return cmd_validate(o);
        if (*plugins) return cmd_plugins(o);
        if (*inspect) return cmd_inspect(o);
        if (*graph) return cmd_graph(o);
        if (*check) return cmd_check(o);
        if (*new_plugin) return cmd_new_plugin(o);
    } catch (const ConfigError& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        return exit_config;
    } catch (const PluginError& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        return exit_plugin;
    } catch (const Interrupted& e) {
        if (e.run_dir.empty())
            fmt::print(stderr, "interrupted\n");
        else
            fmt::print(stderr, "interrupted; resume with: sigx run --resume {}\n", e.run_dir);
        return exit_interrupted;
    } catch (const std::exception& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        return exit_runtime;
    }
    return exit_ok;
}

int main(int argc, char** argv) {
    try {
        return run_cli(argc, argv);
    } catch (...) {  // only the command-line setup is outside run_cli's own handlers
        std::fputs("error: unexpected failure\n", stderr);
        return exit_runtime;
    }
}
