// The values passed between pipeline stages. Plain data, owned by the host: a plugin
// receives const references that stay valid for the duration of the call only.
//
// A record is three things kept apart:
//   Input  what was observed: the channels a model reads, with their time axis
//   Task   what to extract from it: one Component (label, frequency) each
//   Truth  the clean references, when known; never handed to Model::predict
// A model predicts from an Input and a Task alone, so it cannot read the answer. Only
// fitting (on training records), trainers, evaluators and the host see a Truth.
#pragma once

#include <sigx/version.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sigx {
SIGX_ABI_NAMESPACE_BEGIN

using Samples = std::vector<double>;
using Metadata = std::map<std::string, std::string>;

// One thing to extract: a tone at a known frequency.
struct Component {
    std::string label;     // e.g. "50Hz"; unique within a task, safe as a file name
    double frequency = 0;  // Hz
    double gain = 1;       // nominal gain with which the component appears in the mix, when known
};

// What a model must extract from a record, in output order.
struct Task {
    std::vector<Component> components;
    std::size_t size() const { return components.size(); }
};

// What was observed. Planar: channels[c][n] is sample n of channel c; every channel has
// the same length.
struct Input {
    std::string name;        // the record's name, used for its output files ("record-0", a file's stem)
    double sample_rate = 0;  // Hz
    double start_time = 0;   // s, time of sample 0 as a model may know it (0 where it is hidden)
    std::vector<Samples> channels;
    Metadata metadata;  // what a model may read, e.g. the source file

    std::size_t size() const { return channels.empty() ? 0 : channels.front().size(); }
    double time(std::size_t n) const { return start_time + static_cast<double>(n) / sample_rate; }
};

// The answer: the clean component each task entry names, as long as the input.
struct Truth {
    double start_time = 0;            // s, the real time of sample 0 (an unseen-phase record hides it from models)
    std::vector<Samples> references;  // one per task component, in task order
    Metadata metadata;                // what a model must not know, e.g. the seed that made the record
};

struct Record {
    Input input;
    Task task;
    std::optional<Truth> truth;  // none: the record is extracted but not scored

    std::size_t size() const { return input.size(); }
};

// A named group of records evaluated together, e.g. "test". `description` is one line
// for the report (how the set relates to the training data).
struct RecordSet {
    std::string name;
    std::string description;
    std::vector<Record> records;
};

using Records = std::vector<Record>;

// What a generator produces: records to fit on and any number of test sets.
struct Dataset {
    Records train;
    std::vector<RecordSet> tests;
};

// A model's output for one record: one channel per task component, in task order, each
// as long as the input.
struct Prediction {
    std::vector<Samples> components;
};

SIGX_ABI_NAMESPACE_END
}  // namespace sigx
