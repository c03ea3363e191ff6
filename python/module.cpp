// sigx._sigx: the C++ side of `import sigx` (python/sigx/__init__.py is the rest). The
// host's own functions, as the CLI calls them, with numpy arrays in and out; the GIL is
// released while C++ computes.
#include <sigx/audio.hpp>
#include <sigx/host/apply.hpp>
#include <sigx/host/code.hpp>
#include <sigx/host/console.hpp>
#include <sigx/host/errors.hpp>
#include <sigx/host/guard.hpp>
#include <sigx/host/loader.hpp>
#include <sigx/host/names.hpp>
#include <sigx/host/pipeline.hpp>
#include <sigx/host/run_dir.hpp>
#include <sigx/host/runner.hpp>
#include <sigx/host/services.hpp>
#include <sigx/host/stream.hpp>
#include <sigx/host/sweep.hpp>
#include <sigx/version.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <fmt/format.h>

#include <dlfcn.h>
#include <chrono>
#include <future>
#include <thread>

namespace py = pybind11;
namespace fs = std::filesystem;
using namespace sigx;
using namespace sigx::host;

namespace {

// The built-in plugins: beside the module in the build tree (build/python/sigx ->
// build/plugins), or in <prefix>/lib/sigx/plugins once installed (the module in
// <prefix>/lib/python3.X/dist-packages/sigx).
fs::path builtin_dir() {
    Dl_info info{};
    static int anchor = 0;
    if (!dladdr(&anchor, &info) || !info.dli_fname) return {};
    const fs::path here = fs::canonical(info.dli_fname).parent_path();
    for (const fs::path& dir : {here / ".." / ".." / "plugins", here / ".." / ".." / ".." / "sigx" / "plugins"})
        if (fs::is_directory(dir)) return fs::canonical(dir);
    return {};
}

Registry make_registry(std::vector<fs::path> paths, const std::vector<fs::path>& pipeline_paths = {}) {
    paths.insert(paths.end(), pipeline_paths.begin(), pipeline_paths.end());
    return plugin_registry(builtin_dir(), paths);
}

// Channels x samples, float64, C order: the layout every function here takes. Anything
// else is converted once (a copy); what cannot be is refused, saying what it is.
py::array_t<double, py::array::c_style> as_planar(const py::handle& x, const char* what) {
    py::array a = py::array::ensure(x);
    if (!a) throw py::type_error(fmt::format("{}: expected a numpy array of samples", what));
    const char kind = a.dtype().kind();
    if (kind != 'f' && kind != 'i' && kind != 'u')
        throw py::type_error(fmt::format("{}: samples must be real numbers, not dtype {}", what,
                                         py::str(a.dtype()).cast<std::string>()));
    if (a.ndim() == 1) a = a.reshape({py::ssize_t{1}, a.shape(0)});
    if (a.ndim() != 2)
        throw py::value_error(
            fmt::format("{}: expected samples or channels x samples, not a {}-D array", what, a.ndim()));
    if (a.shape(0) == 0 || a.shape(1) == 0) throw py::value_error(fmt::format("{}: the array is empty", what));
    auto planar = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a);
    const double* p = planar.data();
    for (py::ssize_t i = 0; i < planar.size(); ++i)
        if (!std::isfinite(p[i]))
            throw py::value_error(fmt::format("{}: sample {} of channel {} is not a finite number", what,
                                              i % planar.shape(1), i / planar.shape(1)));
    return planar;
}

py::array_t<double> to_array(const std::vector<Samples>& channels, std::size_t offset = 0,
                             std::size_t frames = std::string::npos) {
    const std::size_t n = channels.empty() ? 0 : std::min(frames, channels.front().size() - offset);
    py::array_t<double> out({channels.size(), n});
    auto v = out.mutable_unchecked<2>();
    for (std::size_t c = 0; c < channels.size(); ++c)
        std::copy_n(channels[c].data() + offset, n, v.mutable_data(static_cast<py::ssize_t>(c), 0));
    return out;
}

py::list components_of(const Task& task) {
    py::list out;
    for (const auto& c : task.components) {
        py::dict d;
        d["label"] = c.label, d["frequency"] = c.frequency, d["gain"] = c.gain, d["tolerance"] = c.tolerance;
        d["fundamental"] = c.fundamental, d["amplitude"] = c.amplitude;
        out.append(d);
    }
    return out;
}

// Runs `work` on a thread of its own with the GIL released, while this thread looks for
// Ctrl-C every 100 ms: then the run is asked to stop at its next checkpoint (as the CLI's
// first Ctrl-C does) and its Interrupted ends as KeyboardInterrupt.
template <class F> auto interruptible(F work) {
    cancel_flag().store(false);
    auto done = std::async(std::launch::async, std::move(work));
    {
        py::gil_scoped_release release;
        for (;;) {
            if (done.wait_for(std::chrono::milliseconds(100)) == std::future_status::ready) break;
            py::gil_scoped_acquire acquire;
            if (PyErr_CheckSignals() != 0) {
                cancel_flag().store(true);
                PyErr_Clear();
            }
        }
    }
    return done.get();
}

LoadedModel load(const fs::path& run, const std::string& name, const std::vector<fs::path>& paths) {
    Registry registry = make_registry(paths);
    return load_saved_model(run, name, registry, [](const std::string&) {});
}

struct SavedModelHandle {
    LoadedModel m;
    std::vector<fs::path> plugin_paths;
    std::mutex busy;  // one call into a plugin instance at a time (the plugin contract)
};

// A stream has a model instance of its own, restored from the same saved state, so that
// streaming and apply() on the model never share an instance's state.
class StreamHandle {
public:
    StreamHandle(const SavedModelHandle& h, double rate, std::uint32_t channels, std::size_t block)
        : m_(load(h.m.saved.dir, "", h.plugin_paths)), stream_(m_, rate, channels, block, "the stream's input") {}
    std::size_t latency() const { return stream_.latency(); }
    py::array_t<double> process(const py::handle& block) {
        const auto x = as_planar(block, "process");
        const auto channels = static_cast<std::size_t>(x.shape(0)), frames = static_cast<std::size_t>(x.shape(1));
        if (channels != m_.saved.channels)
            throw ConfigError(
                {"process"}, fmt::format("a block of {} channel(s); the stream reads {}", channels, m_.saved.channels));
        std::vector<Samples> out(stream_.components());
        {
            py::gil_scoped_release release;
            std::vector<const double*> in(channels);
            for (std::size_t done = 0; done < frames;) {
                const std::size_t n = std::min(stream_.max_block(), frames - done);
                for (std::size_t c = 0; c < channels; ++c) in[c] = x.data(static_cast<py::ssize_t>(c), 0) + done;
                append(stream_.process(in.data(), n), out);
                done += n;
            }
        }
        return to_array(out);
    }
    py::array_t<double> flush() {
        std::vector<Samples> out(stream_.components());
        {
            py::gil_scoped_release release;
            append(stream_.flush(), out);
        }
        return to_array(out);
    }
    void reset() { stream_.reset(); }

private:
    void append(std::size_t frames, std::vector<Samples>& out) const {
        for (std::size_t c = 0; c < out.size(); ++c)
            out[c].insert(out[c].end(), stream_.output()[c], stream_.output()[c] + frames);
    }
    LoadedModel m_;
    ModelStream stream_;
};

}  // namespace

PYBIND11_MODULE(_sigx, m) {
    m.doc() = "sigx's host, from Python (see the sigx package)";
    m.attr("__version__") =
        fmt::format("{}.{}.{}", SIGX_SDK_VERSION_MAJOR, SIGX_SDK_VERSION_MINOR, SIGX_SDK_VERSION_PATCH);

    static py::exception<std::runtime_error> error(m, "Error");
    static py::exception<ConfigError> config_error(m, "ConfigError", error.ptr());
    static py::exception<PluginError> plugin_error(m, "PluginError", error.ptr());
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const Interrupted& e) {
            PyErr_SetString(PyExc_KeyboardInterrupt,
                            e.run_dir.empty()
                                ? "interrupted"
                                : fmt::format("interrupted; resume with: sigx run --resume {}", e.run_dir).c_str());
        } catch (const ConfigError& e) {
            config_error(e.what());
        } catch (const PluginError& e) {
            plugin_error(e.what());
        } catch (const py::builtin_exception&) {
            throw;  // TypeError, ValueError: pybind11's own translator
        } catch (const std::invalid_argument& e) {
            PyErr_SetString(PyExc_ValueError, e.what());
        } catch (const std::runtime_error& e) {
            error(e.what());
        }
    });

    m.def(
        "plugins",
        [](const std::vector<fs::path>& plugin_paths) {
            const Registry r = make_registry(plugin_paths);
            py::list out;
            for (const auto* p : r.all()) {
                py::dict d;
                d["name"] = p->descriptor->name, d["kind"] = to_string(p->descriptor->kind);
                d["version"] = p->descriptor->version, d["description"] = p->descriptor->description;
                d["library"] = p->file.string();
                out.append(d);
            }
            py::list rejected;
            for (const auto& rej : r.rejections()) rejected.append(py::make_tuple(rej.file.string(), rej.reason));
            return py::make_tuple(out, rejected);
        },
        py::arg("plugin_paths"));

    m.def(
        "validate",
        [](const fs::path& file, const std::vector<std::string>& overrides, const std::vector<fs::path>& paths) {
            py::gil_scoped_release release;
            const PipelineSource src = read_pipeline(file, overrides);
            Registry registry = make_registry(paths, plugin_paths(src));
            return fmt::format("{}", fmt::join(validate_file(file, src, registry), "\n"));
        },
        py::arg("file"), py::arg("overrides"), py::arg("plugin_paths"));

    m.def(
        "run",
        [](const fs::path& file, const std::vector<std::string>& overrides, const fs::path& out, bool quiet,
           const std::vector<fs::path>& paths, const fs::path& resume) {
            return interruptible([=] {
                const fs::path pipeline = resume.empty() ? file : RunDir::reopen(resume).path() / "config.toml";
                const PipelineSource src = read_pipeline(pipeline, overrides);
                if (!read_sweep(src).empty())
                    throw ConfigError({pipeline.string()},
                                      "a [sweep] runs its points as processes: run it with the sigx command");
                Registry registry = make_registry(paths, plugin_paths(src));
                const Pipeline p = validate_pipeline(src, registry);
                Console console(quiet);
                const RunResult r = run_pipeline(p, registry, {out, resume, World{}}, console);
                return std::make_pair(r.dir, r.report);
            });
        },
        py::arg("file"), py::arg("overrides"), py::arg("out"), py::arg("quiet"), py::arg("plugin_paths"),
        py::arg("resume"));

    m.def("name_problem", &name_problem, py::arg("what"), py::arg("name"),
          "what is wrong with a name that becomes a path (empty: nothing)");

    m.def("read_sound", [](const fs::path& file) {
        audio::Audio a;
        {
            py::gil_scoped_release release;
            a = audio::read(file);
        }
        return py::make_tuple(a.sample_rate, to_array(a.channels));
    });

    py::class_<SavedModelHandle, std::shared_ptr<SavedModelHandle>>(m, "SavedModel")
        .def(py::init([](const fs::path& run, const std::string& name, const std::vector<fs::path>& paths) {
                 py::gil_scoped_release release;
                 auto h = std::make_shared<SavedModelHandle>();
                 h->m = load(run, name, paths);
                 h->plugin_paths = paths;
                 return h;
             }),
             py::arg("run"), py::arg("name"), py::arg("plugin_paths"))
        .def_property_readonly("name", [](const SavedModelHandle& h) { return h.m.saved.name; })
        .def_property_readonly("plugin", [](const SavedModelHandle& h) { return h.m.saved.plugin; })
        .def_property_readonly("path", [](const SavedModelHandle& h) { return h.m.saved.dir; })
        .def_property_readonly("sample_rate", [](const SavedModelHandle& h) { return h.m.saved.sample_rate; })
        .def_property_readonly("channels", [](const SavedModelHandle& h) { return h.m.saved.channels; })
        .def_property_readonly("components", [](const SavedModelHandle& h) { return components_of(h.m.task); })
        .def_property_readonly("causal",
                               [](SavedModelHandle& h) {
                                   std::lock_guard lock(h.busy);
                                   return guarded(h.m.who, "extension", [&] { return streaming(*h.m.model); }) !=
                                          nullptr;
                               })
        .def(
            "apply",
            [](SavedModelHandle& h, const py::handle& x, double rate) {
                const auto planar = as_planar(x, "apply");
                Input in;
                in.name = "array";
                in.sample_rate = rate;
                for (py::ssize_t c = 0; c < planar.shape(0); ++c)
                    in.channels.emplace_back(planar.data(c, 0), planar.data(c, 0) + planar.shape(1));
                Prediction p;
                {
                    py::gil_scoped_release release;
                    std::lock_guard lock(h.busy);
                    p = predict_saved(h.m, in, "the array");
                }
                return to_array(p.components);
            },
            py::arg("x"), py::arg("rate"))
        .def(
            "stream",
            [](const SavedModelHandle& h, double rate, std::uint32_t channels, std::size_t block) {
                py::gil_scoped_release release;
                return std::make_unique<StreamHandle>(h, rate, channels, block);
            },
            py::arg("rate"), py::arg("channels"), py::arg("block"));

    py::class_<StreamHandle>(m, "Stream")
        .def_property_readonly("latency", &StreamHandle::latency)
        .def("process", &StreamHandle::process, py::arg("block"))
        .def("flush", &StreamHandle::flush)
        .def("reset", &StreamHandle::reset);
}
