// The run directory's result files: metrics.json, report.md, predictions.csv.
#pragma once

#include <sigx/plugin.hpp>

#include <optional>
#include <string>
#include <vector>

namespace sigx::host {

struct ModelSummary {
    std::string name;
    std::string plugin;
    double fit_seconds = 0;
    std::string error;                  // non-empty: the model failed; it has no predictions or metrics
    std::optional<ModelNature> nature;  // what it is, where its plugin says (sigx.model.nature/1)
};

// A model's nature in a few words for a report row: "causal, hybrid: LSTM + Kalman
// tracker"; "not stated" where the plugin does not say.
std::string describe(const std::optional<ModelNature>& nature);

// A test set as the report describes it: what it is and how many of its records have a
// truth to score against (the others are extracted, and their outputs written, unscored).
struct SetSummary {
    std::string name;
    std::string description;
    std::size_t records = 0;
    std::size_t scored = 0;
};
std::vector<SetSummary> summarise_sets(const Dataset& data);

struct RunSummary {
    std::string pipeline;
    std::vector<ModelSummary> models;
    std::vector<SetSummary> sets;
    std::vector<Metric> metrics;
    std::vector<std::string> figures;  // relative to the run directory
    std::vector<std::string> notes;    // lines for the report, e.g. an output left out
    bool extracted = true;             // extracted/MODEL/SET/RECORD.wav were written
    std::vector<ReportRow> rows;       // what the evaluators' rows beside the models are
    Headline headline;                 // the metric the report leads with (the first evaluator's)
};

// How a metric is keyed in metrics.json and report.json: its name, or name@window.
std::string metric_key(const Metric& m);

// {"pipeline", "models": [...], "test_sets": [...], "results": {test set: {model:
// {component: {metric (metric_key): value}}}}, "headline": {"metric", "windows"}, "rows":
// [the rows that are not models]}
std::string metrics_json(const RunSummary& run);

// Markdown: per test set, what it is and how many records were scored, a
// models-by-metrics table of the "mean" rows over whole records, the headline metric
// first with its windows beside it (the rows that are not models, such as the classical
// bound and the predict-zero floor, after the models) with a legend saying what each such
// row is (a bound, and under which model, or not), then the headline per component; then
// links to the figures.
std::string report_markdown(const RunSummary& run);

// The same content as JSON: {"pipeline", "models", "test_sets": {set: {"description",
// "records", "scored", "rows": {row: what it is}, "mean": {...}, "per_component": {...}}},
// "figures", "notes"}.
std::string report_json(const RunSummary& run);

// Rows of predictions_csv: one per test sample and component.
std::uint64_t predictions_rows(const Dataset& data);
// Its size, about: 50 bytes a row and 25 per model (measured: 175 bytes a row with five).
inline double predictions_bytes(std::uint64_t rows, std::size_t models) {
    return static_cast<double>(rows) * (50.0 + 25.0 * static_cast<double>(models));
}

// One row per test set, record, sample and component: the input's first channel, the
// target (empty for a record without truth) and every model's prediction, each in the
// shortest form that reads back as the same double, so that metrics recomputed from the
// file equal metrics.json.
std::string predictions_csv(const Dataset& data, const std::vector<ModelOutput>& outputs);

}  // namespace sigx::host
