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

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sigx {
SIGX_ABI_NAMESPACE_BEGIN

using Samples = std::vector<double>;
using Metadata = std::map<std::string, std::string>;

// One thing to extract: a tone near a known frequency.
//
// Real tones drift (a power grid wanders, a rotor speeds up): `tolerance` says how far
// the tone's instantaneous frequency may stray from `frequency`, and `fundamental` that
// it is a harmonic of another component, whose drift it follows (mains hum: 100 and
// 150 Hz move with 50 Hz). A harmonic's frequency stays `frequency / fundamental's
// frequency` times its fundamental's, and its tolerance is that multiple of its
// fundamental's. The host refuses a task whose tolerance bands [frequency - tolerance,
// frequency + tolerance] reach 0 Hz or the Nyquist frequency, or overlap.
//
// `amplitude`, when a source knows it, says the reference is a tone of that constant
// amplitude (the flagship's clean sinusoids have amplitude 1): a model may then estimate
// only the phase.
struct Component {
    std::string label;              // e.g. "50Hz"; unique within a task, safe as a file name
    double frequency = 0;           // Hz: the nominal frequency
    double gain = 1;                // nominal gain with which the component appears in the mix, when known
    double tolerance = 0;           // Hz: how far the instantaneous frequency may stray (0: it sits at `frequency`)
    std::int64_t fundamental = -1;  // index in the task of the component it is a harmonic of; -1: none
    double amplitude = 0;           // the reference's constant amplitude, when known; 0: not known
};

// What a model must extract from a record, in output order.
struct Task {
    std::vector<Component> components;
    std::size_t size() const { return components.size(); }
};

// What is wrong with a task's frequencies, tolerances and harmonics at `sample_rate`, in
// one line naming the components; empty when nothing is. A generator refuses such a task
// at the parameter that made it (ParamError), the host any task a generator returns.
inline std::string task_problem(const Task& task, double sample_rate) {
    const auto& cs = task.components;
    const double nyquist = sample_rate / 2;
    auto num = [](double x) {
        std::string s = std::to_string(x);
        s.erase(s.find_last_not_of('0') + 1);
        if (!s.empty() && s.back() == '.') s.pop_back();
        return s;
    };
    auto band = [&](const Component& c) {
        return c.tolerance > 0 ? "'" + c.label + "' (" + num(c.frequency - c.tolerance) + " to " +
                                     num(c.frequency + c.tolerance) + " Hz)"
                               : "'" + c.label + "' (" + num(c.frequency) + " Hz)";
    };
    for (std::size_t k = 0; k < cs.size(); ++k) {
        const Component& c = cs[k];
        if (!(c.tolerance >= 0) || c.tolerance == std::numeric_limits<double>::infinity())
            return "the tolerance of '" + c.label + "' is not a finite number >= 0";
        if (c.frequency - c.tolerance <= 0 && c.tolerance > 0) return "the tolerance of " + band(c) + " reaches 0 Hz";
        if (c.frequency + c.tolerance >= nyquist)
            return (c.tolerance > 0 ? "the tolerance of " + band(c) + " reaches" : band(c) + " is at or above") +
                   " the Nyquist frequency (" + num(nyquist) + " Hz)";
        if (c.fundamental < 0) continue;
        if (c.fundamental >= static_cast<std::int64_t>(cs.size()) || c.fundamental == static_cast<std::int64_t>(k))
            return "'" + c.label + "' names component " + std::to_string(c.fundamental) +
                   " as its fundamental, which is not another component of the task";
        const Component& f = cs[static_cast<std::size_t>(c.fundamental)];
        if (f.fundamental >= 0)
            return "'" + c.label + "' is a harmonic of '" + f.label + "', itself a harmonic: name the fundamental";
        const double expected = f.tolerance * c.frequency / f.frequency;
        if (std::abs(c.tolerance - expected) > 1e-9 * (expected + 1e-300) && std::abs(c.tolerance - expected) > 1e-12)
            return "the tolerance of '" + c.label + "' (" + num(c.tolerance) + " Hz) is not its multiple of its " +
                   "fundamental '" + f.label + "''s (" + num(expected) + " Hz)";
    }
    // Bands in order of their lower edge: each must start above every earlier one's end.
    std::vector<std::size_t> order(cs.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return cs[a].frequency - cs[a].tolerance < cs[b].frequency - cs[b].tolerance;
    });
    const Component* reach = nullptr;  // the band reaching highest so far
    for (std::size_t k : order) {
        const Component& c = cs[k];
        if (reach && c.frequency - c.tolerance <= reach->frequency + reach->tolerance &&
            (c.tolerance > 0 || reach->tolerance > 0))
            return "the tolerance bands of " + band(*reach) + " and " + band(c) + " overlap";
        if (!reach || c.frequency + c.tolerance > reach->frequency + reach->tolerance) reach = &c;
    }
    return {};
}

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
    // Each component's instantaneous frequency (Hz) at every sample, where the generator
    // knows it (a drifting tone); empty otherwise. Trackers are scored against it.
    std::vector<Samples> frequencies{};
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
// as long as the input. A model that tracks frequency also gives its estimate of each
// component's instantaneous frequency (Hz) at every sample; empty otherwise.
struct Prediction {
    std::vector<Samples> components;
    std::vector<Samples> frequencies{};
};

SIGX_ABI_NAMESPACE_END
}  // namespace sigx
