// The values passed between pipeline stages. Plain data, owned by the host: a plugin
// receives const references that stay valid for the duration of the call only.
#pragma once

#include <sigx/version.hpp>

#include <map>
#include <string>
#include <vector>

namespace sigx {
SIGX_ABI_NAMESPACE_BEGIN

using Samples = std::vector<double>;

// One clean component of a mix: what an extractor should recover.
struct Component {
    std::string label;     // e.g. "f1"
    double frequency = 0;  // Hz
    double mix_gain = 1;   // nominal gain with which `reference` appears in the mix
    Samples reference;     // the clean target, same length as the mix
};

// One record: a sampled mixed channel and the clean components it was made from.
struct Signal {
    double sample_rate = 0;  // Hz
    double start_time = 0;   // s, time of sample 0
    Samples mix;             // the observed channel
    std::vector<Component> components;
    std::map<std::string, std::string> metadata;  // e.g. seed, generator name

    std::size_t size() const { return mix.size(); }
    double time(std::size_t n) const { return start_time + static_cast<double>(n) / sample_rate; }
};

// A named group of records evaluated together, e.g. "test" (seed 2).
struct SignalSet {
    std::string name;
    std::vector<Signal> records;
};

// What a generator produces: records to fit on and any number of test sets.
struct Dataset {
    std::vector<Signal> train;
    std::vector<SignalSet> tests;
};

// A model's output for one record: one channel per component, in the record's
// component order, each as long as the record.
struct Prediction {
    std::vector<Samples> components;
};

SIGX_ABI_NAMESPACE_END
}  // namespace sigx
