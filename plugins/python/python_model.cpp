// python: a model written as a Python class, run inside sigx's process. What the class
// offers decides what the model offers: predict (or a stream), fit, process (streaming,
// sigx.model.stream/1) and save/load (saved state, sigx.model.state/1). The interpreter
// is started once per process (embed.cpp); this half knows nothing of Python.
#include "script.hpp"

#include <fmt/format.h>

#include <dlfcn.h>
#include <algorithm>
#include <mutex>
#include <stdexcept>

namespace {

using sigx::ParamSpec;
namespace fs = std::filesystem;

// Loads libpython where the process has no Python of its own (the sigx command; inside
// `import sigx` the interpreter's symbols are already there), then the embed library that
// sits beside this one, once.
sigx_python::CreateScript embedded_python() {
    static std::mutex mutex;
    static sigx_python::CreateScript create = nullptr;
    std::lock_guard lock(mutex);
    if (create) return create;
    if (!dlsym(RTLD_DEFAULT, "Py_IsInitialized") && !dlopen(SIGX_LIBPYTHON, RTLD_NOW | RTLD_GLOBAL))
        throw std::runtime_error(fmt::format("cannot load {}: {} (Debian: apt install lib{})", SIGX_LIBPYTHON,
                                             dlerror(), SIGX_LIBPYTHON_PACKAGE));
    Dl_info self{};
    if (!dladdr(reinterpret_cast<void*>(&embedded_python), &self) || !self.dli_fname)
        throw std::runtime_error("cannot find the python plugin's own file");
    const fs::path embed = fs::path(self.dli_fname).parent_path() / "python" / "libsigx_python_embed.so";
    void* library = dlopen(embed.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!library) throw std::runtime_error(fmt::format("cannot load {}: {}", embed.string(), dlerror()));
    create = reinterpret_cast<sigx_python::CreateScript>(dlsym(library, sigx_python::create_script_symbol));
    if (!create) throw std::runtime_error(fmt::format("{}: no {}", embed.string(), sigx_python::create_script_symbol));
    return create;
}

// The example model shipped beside this library (python/example.py): the script
// parameter's example, which `sigx check` runs.
fs::path example_script() {
    Dl_info self{};
    if (!dladdr(reinterpret_cast<void*>(&example_script), &self) || !self.dli_fname) return "model.py";
    return fs::absolute(fs::path(self.dli_fname).parent_path() / "python" / "example.py");
}

class PythonModel final : public sigx::Model, public sigx::Streaming, public sigx::ModelState {
public:
    static sigx::Descriptor describe() {
        return {.name = "python",
                .version = "1.0.0",
                .description = "a model written as a Python class (numpy arrays in and out), run inside sigx",
                .params = {ParamSpec::path("script", example_script())
                               .required()
                               .help("the Python file defining the class (relative to the pipeline file)"),
                           ParamSpec::string("class", "Model").required().help("the class's name in the script"),
                           ParamSpec::string_list("params", {})
                               .help("the constructor's keyword arguments, as TOML \"key = value\" lines, e.g. "
                                     "[\"q = 30.0\", \"zero_phase = true\"]")},
                .input_channels = 0};
    }
    explicit PythonModel(const sigx::Params& p)
        : script_(embedded_python()({p.path("script"), p.string("class"), p.string_list("params")})),
          script_file_(p.path("script")),
          code_{script_file_} {
        if (!script_->predicts() && !script_->streams())
            throw sigx::ParamError("class", fmt::format("class '{}' of {} has neither predict(x, rate, components) nor "
                                                        "process(block): sigx has nothing to call",
                                                        p.string("class"), script_file_.string()));
    }

    void* extension(std::string_view id) override {
        if (id == sigx::streaming_id && script_->streams()) return static_cast<sigx::Streaming*>(this);
        if (id == sigx::model_state_id && script_->saves()) return static_cast<sigx::ModelState*>(this);
        if (id == sigx::code_files_id) return &code_;  // the script: code the host names before running it
        return nullptr;
    }

    void fit(const sigx::Records& train, sigx::Host&) override {
        if (script_->fits()) script_->fit(train);
    }

    sigx::Prediction predict(const sigx::Input& in, const sigx::Task& task, sigx::Host&) override {
        if (script_->predicts()) return script_->predict(in, task);
        return sigx::predict_by_streaming(*this, in, task);
    }

    // Streaming: the class's process(block); flush() feeds it the silence that follows.
    std::size_t configure(const sigx::StreamConfig& config) override {
        channels_ = config.channels;
        rate_ = config.sample_rate;
        task_ = config.task;
        zeros_.assign(config.max_block, 0.0);
        max_block_ = config.max_block;
        return script_->latency();
    }
    void reset() override { script_->reset(rate_, task_); }
    void process(const sigx::ConstBlock& in, const sigx::Block& out) override { script_->process(in, out); }
    void flush(const sigx::Block& out) override {
        const std::vector<const double*> zero(channels_, zeros_.data());  // every channel silent
        std::vector<double*> to(out.channel_count);
        for (std::size_t done = 0; done < out.frames;) {
            const std::size_t n = std::min(max_block_, out.frames - done);
            for (std::size_t c = 0; c < out.channel_count; ++c) to[c] = out.channels[c] + done;
            script_->process(sigx::ConstBlock{zero.data(), channels_, n}, sigx::Block{to.data(), out.channel_count, n});
            done += n;
        }
    }

    // Saved state: the class's own save(dir)/load(dir); it depends on every parameter.
    std::vector<std::string> state_params() const override { return {"script", "class", "params"}; }
    void save_state(const fs::path& dir) override { script_->save(dir); }
    void load_state(const fs::path& dir, std::size_t) override { script_->load(dir); }

private:
    std::unique_ptr<sigx_python::Script> script_;
    fs::path script_file_;
    sigx::PathList code_;
    std::uint32_t channels_ = 0;
    double rate_ = 0;
    sigx::Task task_;
    std::size_t max_block_ = 1;
    sigx::Samples zeros_;
};

}  // namespace

SIGX_PLUGIN(PythonModel)
