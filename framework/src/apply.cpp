#include <sigx/audio.hpp>
#include <sigx/csv.hpp>
#include <sigx/files.hpp>
#include <sigx/host/apply.hpp>
#include <sigx/host/code.hpp>
#include <sigx/host/errors.hpp>
#include <sigx/host/guard.hpp>
#include <sigx/host/names.hpp>
#include <sigx/host/runner.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace sigx::host {

namespace fs = std::filesystem;

namespace {

// A library a run recorded, which nothing else on the plugin path provides: loaded from
// that exact path only when it lies outside the run directory (a shared run must not make
// sigx load code it carries) and neither it nor its folder is writable by others (else
// anyone could have replaced it). Every refusal names the path and the way to allow it.
void load_recorded_library(const SavedModel& saved, Registry& registry, const Note& note) {
    const fs::path manifest = saved.dir / "manifest.json";
    const std::string allow = fmt::format(
        "to use it anyway, name its folder yourself: --plugin-path DIR, SIGX_PLUGIN_PATH or a pipeline's [plugins] "
        "paths");
    if (saved.library.empty())
        throw PluginError(fmt::format("{}: no model plugin named '{}', and the manifest records no library; {}",
                                      manifest.string(), saved.plugin, allow));
    std::error_code ec;
    const fs::path library = fs::weakly_canonical(saved.library, ec);
    if (!fs::is_regular_file(library, ec))
        throw PluginError(
            fmt::format("{}: no model plugin named '{}': the run found it in {}, which is not there now; "
                        "{}",
                        manifest.string(), saved.plugin, saved.library.string(), allow));
    const fs::path run = fs::weakly_canonical(saved.dir.parent_path(), ec);
    const auto [end, _] = std::mismatch(run.begin(), run.end(), library.begin(), library.end());
    if (end == run.end())
        throw PluginError(
            fmt::format("{}: refusing to load {}: it lies inside the run directory, and a run directory "
                        "never makes sigx load code it carries; {}",
                        manifest.string(), library.string(), allow));
    if (const auto why = unsafe_to_load(library); !why.empty())
        throw PluginError(
            fmt::format("{}: refusing to load {}: {}; {}", manifest.string(), library.string(), why, allow));
    note(fmt::format("loading plugin '{}' from {}, as {} records", saved.plugin, library.string(), manifest.string()));
    registry.add_path(library);
    for (const auto& r : registry.rejections())
        if (r.file == library) throw PluginError(fmt::format("{}: {}", library.string(), r.reason));
}

// A saved model's path parameters (a script to run, a file to read) must not point into
// the run directory: sharing a run must not make sigx run what it carries.
void refuse_paths_inside(const PluginUse& use, const fs::path& run_dir, const fs::path& manifest) {
    std::error_code ec;
    const fs::path run = fs::weakly_canonical(run_dir, ec);
    auto inside = [&](const fs::path& p) {
        const fs::path file = fs::weakly_canonical(p, ec);
        return std::mismatch(run.begin(), run.end(), file.begin(), file.end()).first == run.end();
    };
    for (const auto& spec : use.info->descriptor->params) {
        PathList files;
        if (spec.type == ParamType::path) files.push_back(use.params.path(spec.name));
        if (spec.type == ParamType::path_list) files = use.params.path_list(spec.name);
        for (const auto& f : files)
            if (inside(f))
                throw PluginError(
                    fmt::format("{}: refusing parameter '{}' = {}: it lies inside the run directory, "
                                "and a run directory never makes sigx run or read code it carries; "
                                "move the file out and name it in a pipeline of your own",
                                manifest.string(), spec.name, f.string()));
    }
}

}  // namespace

LoadedModel load_saved_model(const fs::path& run, const std::string& name, Registry& registry, const Note& note) {
    if (!name.empty())  // it becomes a folder name under `run`, and part of output file names
        if (auto problem = name_problem("model name", name); !problem.empty()) throw ConfigError({"--model"}, problem);
    LoadedModel m;
    try {
        m.saved = read_saved_model(find_saved_model(run, name));
    } catch (const std::runtime_error& e) {
        throw file_error(run.string(), e.what());
    }
    const fs::path manifest = m.saved.dir / "manifest.json";
    if (!registry.find(m.saved.plugin)) load_recorded_library(m.saved, registry, note);
    // The manifest's parameters as a pipeline section, validated like one.
    std::string text = fmt::format("[model]\nplugin = \"{}\"\n", m.saved.plugin);
    for (const auto& [k, v] : m.saved.params) text += fmt::format("{} = {}\n", k, v);
    const PluginUse use = validate_plugin(parse_pipeline(text, manifest, {}), "model", Kind::model, registry);
    refuse_paths_inside(use, m.saved.dir.parent_path(), manifest);
    m.who = plugin_role("model", m.saved.dir.filename().string(), *use.info);
    m.info = use.info;
    m.model = construct<Model>(use, registry);
    const char* torch = guarded(m.who, "extension", [&] { return torch_version_of(*m.model); });
    if (!m.saved.torch.empty() && (!torch || m.saved.torch != torch))
        throw PluginError(fmt::format("{}: the model was saved with LibTorch {}, plugin '{}' ({}) is built against {}",
                                      manifest.string(), m.saved.torch, m.saved.plugin, use.info->file.string(),
                                      torch ? torch : "no LibTorch"));
    ModelState* state = guarded(m.who, "extension", [&] { return model_state(*m.model); });
    if (!state)
        throw PluginError(fmt::format("plugin '{}' ({}) no longer offers {}", m.saved.plugin, use.info->file.string(),
                                      model_state_id));
    m.saved.name = m.saved.dir.filename().string();  // a folder that exists, so a safe name, whatever the manifest says
    m.task.components = m.saved.components;
    if (const auto problem = task_problem(m.task, m.saved.sample_rate); !problem.empty())
        throw std::runtime_error(fmt::format("{}: {}", manifest.string(), problem));
    try {
        guarded(m.who, "load_state", [&] { state->load_state(m.saved.state(), m.task.size()); });
    } catch (const std::exception& e) {
        throw PluginError(fmt::format("{}: the state cannot be restored: {}", m.saved.state().string(), e.what()));
    }
    m.code = code_lines(m);
    return m;
}

namespace {

// A recording to apply a model to: a sound file, or a CSV whose `time` column gives the
// rate and whose other columns are input channels (columns named like the model's
// components, references kept beside the mix, are left out).
audio::Audio read_input(const fs::path& file, const Task& task) {
    if (!audio::is_csv(file)) return audio::read(file);
    audio::CsvTable t = audio::read_csv(file);
    if (t.header.rows == 0) throw std::runtime_error(fmt::format("{}: has no data rows", file.string()));
    if (!t.header.rate)
        throw std::runtime_error(
            fmt::format("{}: needs a `time` column of at least two rows to give its sample rate", file.string()));
    audio::Audio a{*t.header.rate, {}};
    for (std::size_t c = 0; c < t.columns.size(); ++c) {
        const std::string& name = t.header.names[c];
        const bool reference = std::any_of(task.components.begin(), task.components.end(),
                                           [&](const Component& k) { return k.label == name; });
        if (c != t.header.time_column && !reference) a.channels.push_back(std::move(t.columns[c]));
    }
    if (a.channels.empty()) throw std::runtime_error(fmt::format("{}: has no mix column", file.string()));
    return a;
}

void check_fits(const LoadedModel& m, double sample_rate, std::size_t channels, const std::string& source) {
    if (!audio::same_rate(sample_rate, m.saved.sample_rate))
        throw ConfigError({source}, fmt::format("its sample rate is {} Hz; model '{}' was fitted at {} Hz (resample "
                                                "the recording: sigx does not resample silently)",
                                                sample_rate, m.saved.name, m.saved.sample_rate));
    if (channels != m.saved.channels)
        throw ConfigError({source}, fmt::format("it has {} channel(s); model '{}' reads {}", channels, m.saved.name,
                                                m.saved.channels));
}

}  // namespace

Prediction predict_saved(LoadedModel& m, const Input& in, const std::string& source) {
    check_fits(m, in.sample_rate, in.channels.size(), source);
    struct QuietHost final : Host {
        void log(LogLevel, std::string_view) override {}
        fs::path output_dir() override { return fs::temp_directory_path(); }
        void progress(const Progress&) override {}
        bool cancelled() const override { return false; }
        std::uint64_t seed() const override { return 0; }
    } host;
    Prediction p = guarded(m.who, "predict", [&] { return m.model->predict(in, m.task, host); });
    check_prediction(m.saved.name, m.task, in.size(), p);
    return p;
}

std::vector<fs::path> apply_model(const ApplyOptions& o, Registry registry, const Note& note) {
    LoadedModel m = load_saved_model(o.run, o.model, registry, note);
    for (const auto& line : m.code) note(line);
    // Every input is read and checked before anything is written.
    std::vector<Input> inputs;
    for (const auto& file : o.inputs) {
        audio::Audio a;
        try {
            a = read_input(file, m.task);
        } catch (const std::runtime_error& e) {
            throw file_error(file.string(), e.what());
        }
        check_fits(m, a.sample_rate, a.channels.size(), file.string());
        Input in;
        in.name = file.stem().string();
        in.sample_rate = a.sample_rate;
        in.channels = std::move(a.channels);
        in.metadata = {{"file", fs::absolute(file).string()}};
        inputs.push_back(std::move(in));
    }
    fs::create_directories(o.out);
    std::vector<fs::path> written;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const Input& in = inputs[i];
        const Prediction p = predict_saved(m, in, o.inputs[i].string());
        const fs::path base = o.out / (in.name + "." + m.saved.name);
        const fs::path wav = fs::path(base).concat(".wav");
        if (fs::exists(wav) && fs::equivalent(wav, o.inputs[i]))
            throw ConfigError({wav.string()}, "the output would overwrite its input; choose another --out");
        std::vector<const Samples*> channels;
        for (const auto& c : p.components) channels.push_back(&c);
        audio::write_wav(wav, in.sample_rate, channels);
        written.push_back(wav);
        if (!p.frequencies.empty()) {  // a tracker's frequency estimates, Hz
            channels.clear();
            for (const auto& f : p.frequencies) channels.push_back(&f);
            const fs::path freq = fs::path(base).concat(".frequency.wav");
            audio::write_wav(freq, in.sample_rate, channels);
            written.push_back(freq);
        }
        if (!o.csv) continue;
        std::string text = "time";
        for (const auto& c : m.task.components) text += "," + c.label;
        text += "\n";
        for (std::size_t n = 0; n < in.size(); ++n) {
            text += fmt::format("{}", in.time(n));
            for (const auto& c : p.components) text += fmt::format(",{}", c[n]);
            text += "\n";
        }
        const fs::path csv = fs::path(base).concat(".csv");
        write_file_atomic(csv, text);
        written.push_back(csv);
    }
    return written;
}

}  // namespace sigx::host
