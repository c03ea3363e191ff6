// sigx_python_embed: the user's Python class behind sigx_python::Script. The interpreter
// is started once per process (unless the process is Python itself: `import sigx`),
// numpy imported first, and the GIL released at once, so that every call, from whichever
// thread the host makes it, takes the GIL for itself and gives it back.
#include "script.hpp"

#include <pybind11/embed.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <fmt/format.h>

#include <cmath>
#include <mutex>

namespace py = pybind11;
namespace fs = std::filesystem;

namespace {

void start_python() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (Py_IsInitialized()) {
            py::gil_scoped_acquire gil;
            py::module_::import("numpy");
            return;
        }
        py::initialize_interpreter(false);  // Python installs no signal handlers: Ctrl-C stays the host's
        py::module_::import("numpy");
        PyEval_SaveThread();  // the GIL is taken per call from here on; the interpreter lives as long as the process
    });
}

// "script.py:LINE: Type: message", LINE the innermost frame inside the script (a syntax
// error: where the parser stopped).
std::string describe(const py::error_already_set& e, const fs::path& script) {
    std::string where = script.string();
    try {
        const py::object value = e.value();
        if (py::isinstance(value, py::module_::import("builtins").attr("SyntaxError")) &&
            !value.attr("lineno").is_none())
            where = fmt::format("{}:{}", script.string(), value.attr("lineno").cast<int>());
        for (const py::handle frame : py::module_::import("traceback").attr("extract_tb")(e.trace()))
            if (fs::path(frame.attr("filename").cast<std::string>()) == script)
                where = fmt::format("{}:{}", script.string(), frame.attr("lineno").cast<int>());
        return fmt::format("{}: {}: {}", where, e.type().attr("__name__").cast<std::string>(),
                           py::str(value).cast<std::string>());
    } catch (const py::error_already_set&) {
        return fmt::format("{}: {}", where, e.what());
    }
}

py::array_t<double> planar(const double* const* channels, std::size_t count, std::size_t frames) {
    py::array_t<double> a({count, frames});
    auto v = a.mutable_unchecked<2>();
    for (std::size_t c = 0; c < count; ++c)
        std::copy_n(channels[c], frames, v.mutable_data(static_cast<py::ssize_t>(c), 0));
    return a;
}

py::array_t<double> planar(const std::vector<sigx::Samples>& channels) {
    std::vector<const double*> p;
    for (const auto& c : channels) p.push_back(c.data());
    return planar(p.data(), p.size(), channels.empty() ? 0 : channels.front().size());
}

py::list components_of(const sigx::Task& task) {
    py::list out;
    for (const auto& c : task.components)
        out.append(py::dict(py::arg("label") = c.label, py::arg("frequency") = c.frequency, py::arg("gain") = c.gain,
                            py::arg("tolerance") = c.tolerance, py::arg("fundamental") = c.fundamental,
                            py::arg("amplitude") = c.amplitude));
    return out;
}

class PythonScript final : public sigx_python::Script {
    // A call into the object: a Python exception becomes the plugin's error, naming the
    // class, the method, the script's line and the exception.
    template <class F> auto call(const char* method, F&& f) {
        try {
            return f();
        } catch (const py::error_already_set& e) {
            throw std::runtime_error(fmt::format("{}.{}: {}", class_, method, describe(e, script_)));
        } catch (const py::cast_error& e) {
            throw std::runtime_error(fmt::format("{}.{}: {}: {}", class_, method, script_.string(), e.what()));
        }
    }

public:
    explicit PythonScript(const sigx_python::ScriptSpec& spec) : script_(spec.script), class_(spec.class_name) {
        start_python();
        py::gil_scoped_acquire gil;
        py::object module;
        try {
            const py::module_ sys = py::module_::import("sys");
            const std::string dir = script_.parent_path().string();
            if (!sys.attr("path").contains(dir)) sys.attr("path").attr("insert")(0, dir);
            const py::module_ util = py::module_::import("importlib.util");
            const py::object spec_ =
                util.attr("spec_from_file_location")("sigx_script_" + script_.stem().string(), script_.string());
            module = util.attr("module_from_spec")(spec_);
            spec_.attr("loader").attr("exec_module")(module);
        } catch (const py::error_already_set& e) {
            throw sigx::ParamError("script", describe(e, script_));
        }
        if (!py::hasattr(module, class_.c_str())) {
            std::vector<std::string> classes;
            for (const auto& [name, value] : module.attr("__dict__").cast<py::dict>())
                if (py::isinstance<py::type>(value)) classes.push_back(name.cast<std::string>());
            throw sigx::ParamError("class",
                                   fmt::format("{} defines no class '{}' (it has: {})", script_.string(), class_,
                                               classes.empty() ? "none" : fmt::format("{}", fmt::join(classes, ", "))));
        }
        py::dict kwargs;
        try {
            std::string text;
            for (const auto& line : spec.params) text += line + "\n";
            kwargs = py::module_::import("tomllib").attr("loads")(text);
        } catch (const py::error_already_set& e) {
            throw sigx::ParamError(
                "params", fmt::format("not TOML \"key = value\" lines: {}", py::str(e.value()).cast<std::string>()));
        }
        try {
            object_ = module.attr(class_.c_str())(**kwargs);
        } catch (const py::error_already_set& e) {
            throw sigx::ParamError("params", describe(e, script_));
        }
        predicts_ = py::hasattr(object_, "predict");
        fits_ = py::hasattr(object_, "fit");
        streams_ = py::hasattr(object_, "process");
        saves_ = py::hasattr(object_, "save") && py::hasattr(object_, "load");
        if (py::hasattr(object_, "latency"))
            latency_ = call("latency", [&] { return object_.attr("latency").cast<std::size_t>(); });
    }
    ~PythonScript() override {
        if (!Py_IsInitialized() || _Py_IsFinalizing()) {
            (void)object_.release();  // the interpreter is going: nothing to hand the reference back to
            return;
        }
        py::gil_scoped_acquire gil;
        object_ = py::none();
    }

    bool predicts() const override { return predicts_; }
    bool fits() const override { return fits_; }
    bool streams() const override { return streams_; }
    bool saves() const override { return saves_; }
    std::size_t latency() const override { return latency_; }

    void fit(const sigx::Records& train) override {
        py::gil_scoped_acquire gil;
        py::list records;
        for (const auto& r : train) {
            py::dict d(py::arg("name") = r.input.name, py::arg("rate") = r.input.sample_rate,
                       py::arg("start_time") = r.input.start_time, py::arg("x") = planar(r.input.channels),
                       py::arg("components") = components_of(r.task));
            d["truth"] = r.truth ? py::object(planar(r.truth->references)) : py::object(py::none());
            records.append(d);
        }
        call("fit", [&] { object_.attr("fit")(records); });
    }

    sigx::Prediction predict(const sigx::Input& in, const sigx::Task& task) override {
        py::gil_scoped_acquire gil;
        const py::object y = call("predict", [&] {
            return object_.attr("predict")(planar(in.channels), in.sample_rate, components_of(task));
        });
        sigx::Prediction p;
        p.components = samples_of(y, "predict", task.size(), in.size());
        return p;
    }

    void reset(double rate, const sigx::Task& task) override {
        py::gil_scoped_acquire gil;
        if (py::hasattr(object_, "reset")) call("reset", [&] { object_.attr("reset")(rate, components_of(task)); });
    }

    void process(const sigx::ConstBlock& in, const sigx::Block& out) override {
        py::gil_scoped_acquire gil;
        const py::object y =
            call("process", [&] { return object_.attr("process")(planar(in.channels, in.channel_count, in.frames)); });
        const auto channels = samples_of(y, "process", out.channel_count, in.frames);
        for (std::size_t c = 0; c < channels.size(); ++c)
            std::copy(channels[c].begin(), channels[c].end(), out.channels[c]);
    }

    void save(const fs::path& dir) override {
        py::gil_scoped_acquire gil;
        call("save", [&] { object_.attr("save")(dir.string()); });
    }
    void load(const fs::path& dir) override {
        py::gil_scoped_acquire gil;
        call("load", [&] { object_.attr("load")(dir.string()); });
    }

private:
    // What a method returned, as `count` channels of `frames` floats: an array of shape
    // (count, frames), or (frames,) when count is 1; anything else is refused saying what it is.
    std::vector<sigx::Samples> samples_of(const py::object& y, const char* method, std::size_t count,
                                          std::size_t frames) const {
        const std::string who = fmt::format("{}: {}.{}", script_.string(), class_, method);
        const py::array a = py::array::ensure(y);  // numpy.asarray, without a lookup per block
        if (!a)
            throw std::runtime_error(fmt::format("{} returned {}: return a numpy array of samples", who,
                                                 py::str(py::type::of(y)).cast<std::string>()));
        const char kind = a.dtype().kind();
        if (kind != 'f')
            throw std::runtime_error(fmt::format("{} returned dtype {}: return floating-point samples", who,
                                                 py::str(a.dtype()).cast<std::string>()));
        std::vector<std::size_t> shape(a.shape(), a.shape() + a.ndim());
        const bool one = count == 1 && shape == std::vector<std::size_t>{frames};
        if (!one && shape != std::vector<std::size_t>{count, frames})
            throw std::runtime_error(fmt::format("{} returned shape ({}); expected ({}, {}): components x samples", who,
                                                 fmt::join(shape, ", "), count, frames));
        const auto v = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a);
        std::vector<sigx::Samples> out(count);
        for (std::size_t c = 0; c < count; ++c) out[c].assign(v.data() + c * frames, v.data() + (c + 1) * frames);
        return out;
    }

    fs::path script_;
    std::string class_;
    py::object object_;
    bool predicts_ = false, fits_ = false, streams_ = false, saves_ = false;
    std::size_t latency_ = 0;
};

}  // namespace

extern "C" __attribute__((visibility("default"))) sigx_python::Script* sigx_python_create_script(
    const sigx_python::ScriptSpec& spec) {
    return new PythonScript(spec);
}
