// The `python` model plugin's two halves. The plugin library (python_model.cpp) holds no
// reference to Python, so the host loads it like any other; its first instance loads
// libpython (where the process has none: the sigx command) and then sigx_python_embed
// (embed.cpp), which runs the user's class behind this interface.
#pragma once

#include <sigx/sigx.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace sigx_python {

// One instance of the user's class. Every call takes the GIL for itself; a Python
// exception comes out as std::runtime_error naming the script, the line and the exception.
class Script {
public:
    virtual ~Script() = default;
    virtual bool predicts() const = 0;  // the class has predict(x, rate, components)
    virtual bool fits() const = 0;      // fit(records)
    virtual bool streams() const = 0;   // process(block) (and optionally reset(rate, components), latency)
    virtual bool saves() const = 0;     // save(dir) and load(dir)
    virtual std::size_t latency() const = 0;
    virtual void fit(const sigx::Records& train) = 0;
    virtual sigx::Prediction predict(const sigx::Input& in, const sigx::Task& task) = 0;
    virtual void reset(double rate, const sigx::Task& task) = 0;  // a stream starts
    virtual void process(const sigx::ConstBlock& in, const sigx::Block& out) = 0;
    virtual void save(const std::filesystem::path& dir) = 0;
    virtual void load(const std::filesystem::path& dir) = 0;
};

struct ScriptSpec {
    std::filesystem::path script;  // absolute
    std::string class_name;
    std::vector<std::string> params;  // "key = value" lines of TOML, the constructor's keyword arguments
};

// sigx_python_embed's one export (extern "C", so found by name): a new instance, owned by
// the caller. Throws sigx::ParamError at `script`, `class` or `params` for what the
// pipeline can put right (a missing module, a misspelt class, a bad value).
using CreateScript = Script* (*)(const ScriptSpec& spec);
inline constexpr const char* create_script_symbol = "sigx_python_create_script";

}  // namespace sigx_python
