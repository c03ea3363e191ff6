// The four plugin kinds and what the host calls on each.
//
// Lifetime: the host constructs an instance from validated Params (the constructor may
// throw ParamError for a value that passes the schema but makes no sense), calls it from
// one thread at a time, and destroys it before its library is unloaded.
// Data ownership: arguments are const references owned by the host, valid only during
// the call; return values are moved to the host.
// Errors: throw an exception derived from std::exception with a message a user can act
// on; the host reports it with the plugin's name and file.
#pragma once

#include <sigx/host.hpp>
#include <sigx/params.hpp>
#include <sigx/record.hpp>
#include <sigx/version.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#define SIGX_API __attribute__((visibility("default")))

namespace sigx {
SIGX_ABI_NAMESPACE_BEGIN

enum class Kind { generator, model, trainer, evaluator };

inline const char* to_string(Kind k) {
    switch (k) {
    case Kind::generator: return "generator";
    case Kind::model: return "model";
    case Kind::trainer: return "trainer";
    case Kind::evaluator: return "evaluator";
    }
    return "?";
}

// What `sigx plugins` and `sigx inspect` show, readable without constructing the plugin.
// Written with designated initialisers, leaving out what does not apply:
//   return {.name = "fft.block", .version = "1.0.0", .description = "...", .params = {...}};
struct Descriptor {
    std::string name;         // unique across all loaded plugins, e.g. "fft.block"
    std::string version;      // the plugin's own version, e.g. "1.0.0"
    std::string description;  // one line
    std::vector<ParamSpec> params;
    bool trainable = false;  // models: fitted by a trainer named in the pipeline
    // Models: how many input channels a record must have; 0 accepts any number. The host
    // refuses a pipeline whose generator gives another count before any work is done.
    std::uint32_t input_channels = 1;
    // Models: whether it follows a tone within the task's frequency tolerance
    // (Component::tolerance). The host warns, naming the model, when the task lets a tone
    // stray and a model that assumes exact frequencies is asked to extract it.
    bool follows_drift = false;
    Kind kind = Kind::model;  // filled in by SIGX_PLUGIN from the plugin's base class: leave it out
};

class SIGX_API Plugin {
public:
    virtual ~Plugin() = default;
    // Optional capabilities, looked up by id (e.g. sigx::torch_model_id) rather than by
    // dynamic_cast across libraries. Returns nullptr when the id is not offered.
    virtual void* extension(std::string_view /*id*/) { return nullptr; }
};

// Makes the data: training records and test sets.
class SIGX_API Generator : public Plugin {
public:
    // The input channels of every record it will make, known once it is constructed.
    virtual std::uint32_t channels() const { return 1; }
    virtual Dataset generate(Host& host) = 0;
};

// Optional generator capability, offered through Plugin::extension(dataset_size_id): the
// size of what generate() will return, known from the parameters alone, so the host can
// refuse a pipeline whose data cannot fit in memory before any work is done.
inline constexpr std::string_view dataset_size_id = "sigx.generator.dataset_size/1";
struct DatasetSize {
    std::uint64_t samples = 0;       // over all records, training and test
    std::uint64_t test_samples = 0;  // of which in test sets
    std::uint64_t components = 0;    // per record (the largest)
};
inline const DatasetSize* dataset_size(Plugin& generator) {
    return static_cast<const DatasetSize*>(generator.extension(dataset_size_id));
}

// Maps a record's input to one output channel per task component.
class SIGX_API Model : public Plugin {
public:
    // Called once before any prediction when the pipeline names no trainer for this
    // model: a model that calibrates itself on the training records (and their truth,
    // where they have one) does it here. Test records are never passed to a model.
    virtual void fit(const Records& /*train*/, Host& /*host*/) {}
    // Sees the input and the task only: the truth is not reachable from here.
    virtual Prediction predict(const Input& input, const Task& task, Host& host) = 0;
};

// Optional model capability, offered through Plugin::extension(model_state_id): the
// fitted state to and from a folder, so that a model fitted in one run serves in another
// (`from = "RUN_DIR"` in a pipeline, `sigx apply`). The host saves it after fitting,
// with a manifest of its own (plugin, parameters, task, sample rate), and loads it
// instead of fitting. Every built-in model offers it; one that fits nothing saves nothing.
inline constexpr std::string_view model_state_id = "sigx.model.state/1";
class ModelState {
public:
    virtual ~ModelState() = default;
    // The parameters the fitted state depends on (a network's size, a calibration's
    // window): state is only loaded into a model with the same values of these.
    virtual std::vector<std::string> state_params() const = 0;
    // Writes the fitted state into `dir` (a folder of its own; replace what is there),
    // after fitting.
    virtual void save_state(const std::filesystem::path& dir) = 0;
    // Restores what save_state wrote, into a model constructed with the same
    // state_params, for a task of `components` components. Fitting may follow
    // (fine-tuning) and must then start from the restored state.
    virtual void load_state(const std::filesystem::path& dir, std::size_t components) = 0;
};
inline ModelState* model_state(Plugin& m) { return static_cast<ModelState*>(m.extension(model_state_id)); }

// Optional model capability, offered through Plugin::extension(model_nature_id): what the
// model is, which every report row says beside its figures. Causal: each estimate uses
// samples up to it (a fixed latency allowed), so it can run live; classical: a fixed
// method whose few settings are fitted by formula or search; learned: a network trained
// on the training records; hybrid: a learned part on a classical one (`parts` names
// both). Per instance: parameters may change it (a bidirectional LSTM is not causal).
struct ModelNature {
    bool causal = true;
    enum class Method { classical, learned, hybrid } method = Method::classical;
    std::string parts;  // what it is, in a few words: "Kalman tracker", "LSTM + Kalman tracker"
};
inline constexpr std::string_view model_nature_id = "sigx.model.nature/1";
inline const ModelNature* model_nature(Plugin& m) {
    return static_cast<const ModelNature*>(m.extension(model_nature_id));
}

// Optional capability of any plugin, offered through Plugin::extension(code_files_id):
// the files of code an instance runs beyond its own library (a script it imports), as
// absolute paths. The host names them beside the libraries it loads, before any work
// (`sigx validate`, the first lines of a run's log, `sigx apply` and `sigx stream`).
inline constexpr std::string_view code_files_id = "sigx.plugin.code_files/1";
inline const PathList* code_files(Plugin& p) { return static_cast<const PathList*>(p.extension(code_files_id)); }

// The state of a model that fits nothing: nothing to save, nothing to load.
inline ModelState& no_fitted_state() {
    struct Nothing final : ModelState {
        std::vector<std::string> state_params() const override { return {}; }
        void save_state(const std::filesystem::path&) override {}
        void load_state(const std::filesystem::path&, std::size_t) override {}
    };
    static Nothing nothing;
    return nothing;
}

// Any model built with sigx/torch.hpp answers this id with the LibTorch version it was
// compiled against (a const char*); here, outside that header, so that the host can ask
// without LibTorch.
inline constexpr std::string_view torch_version_id = "sigx.torch.version/1";
inline const char* torch_version_of(Plugin& m) { return static_cast<const char*>(m.extension(torch_version_id)); }

// Fits a model (Descriptor::trainable) on the training records, through an extension the
// trainer understands.
class SIGX_API Trainer : public Plugin {
public:
    virtual void train(Model& model, const Records& train, Host& host) = 0;
};

// Optional trainer capability, offered through Plugin::extension(data_parallel_id):
// the trainer can fit one model across several processes (data-parallel). The host then
// runs the same pipeline in every process and, before train(), resolves the launcher's
// variables into the ones torchrun sets: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT. Rank 0 alone has a run directory (output_dir() throws on the
// others) and writes what the trainer leaves; every rank must end with the same model.
// A pipeline run across processes with a trainer that lacks this is refused before any work.
inline constexpr std::string_view data_parallel_id = "sigx.trainer.data_parallel/1";
class DataParallel {
public:
    virtual ~DataParallel() = default;
    // Empty when this trainer can fit `model` across processes; otherwise why not, in one
    // line (asked before any work).
    virtual std::string refusal(Model& model) = 0;
};
inline DataParallel* data_parallel(Plugin& trainer) {
    return static_cast<DataParallel*>(trainer.extension(data_parallel_id));
}

// One model's results: how long it took to fit and its predictions,
// predictions[test set index][record index], in the Dataset's order.
using Artifacts = std::map<std::string, std::filesystem::path>;
struct ModelOutput {
    std::string model;
    double fit_seconds = 0;
    std::vector<std::vector<Prediction>> predictions;
    // Files the model's fitting left in its folder, by name without extension, e.g. the
    // torch trainer's "training_curve" -> its CSV (epoch,train_loss,validation_mse,lr,
    // seconds,train_seconds).
    Artifacts artifacts;
};

// One number: `name` (e.g. "mse") of `model` (a model's name, or a row the evaluator
// adds beside the models: see ReportRow) on `component` (a component label, or "mean")
// over `window` of the test set's records: "" the whole of every record, else a label of
// the evaluator's ("steady": after a warm-up; "0.1-0.2s": a time bin). The host writes it
// as `name` or `name@window`.
struct Metric {
    std::string test_set;
    std::string model;
    std::string component;
    std::string name;
    double value = 0;
    std::string window{};
};

// A row an evaluator's metrics add to the report beside the models (a bound, a floor,
// a reference), and what it is in one line: how it is computed, whether it is a bound
// and under which model of the data. The report prints it as the row's legend.
struct ReportRow {
    std::string test_set;  // the set it describes; "" for every set
    std::string name;      // the Metric::model it reports under, e.g. "(classical bound)"
    std::string description;
};

// What a report and a sweep's summary lead with: a metric (e.g. "mse"), given for every
// row and component, and the windows shown beside its whole-record value (e.g. "steady").
struct Headline {
    std::string metric;
    std::vector<std::string> windows;
};

// Turns predictions and references into metrics, and may write artifacts (plots, tables)
// into host.output_dir(). Only records with a truth can be scored; the others are
// skipped, never given an invented metric.
class SIGX_API Evaluator : public Plugin {
public:
    // Called once right after the data is made, before any model is fitted: an evaluator
    // can judge the task itself here (and warn before minutes of training are spent).
    virtual void inspect(const Dataset& /*data*/, Host& /*host*/) {}
    virtual std::vector<Metric> evaluate(const Dataset& data, const std::vector<ModelOutput>& outputs, Host& host) = 0;
    // The rows its last evaluate() added besides the models, with what each is.
    virtual std::vector<ReportRow> rows() const { return {}; }
    // The metric a report leads with, where this evaluator has one (metric empty: none).
    // The first evaluator of a pipeline that has one sets the report's.
    virtual Headline headline() const { return {}; }
};

SIGX_ABI_NAMESPACE_END
}  // namespace sigx
