// The run directory's result files: metrics.json, report.md, predictions.csv.
#pragma once

#include <sigx/plugin.hpp>

#include <string>
#include <vector>

namespace sigx::host {

struct ModelSummary {
    std::string name;
    std::string plugin;
    double fit_seconds = 0;
    std::string error;  // non-empty: the model failed; it has no predictions or metrics
};

// {"pipeline", "models": [...], "results": {test set: {model: {component: {metric: value}}}}}
std::string metrics_json(const std::string& pipeline, const std::vector<ModelSummary>& models,
                         const std::vector<Metric>& metrics);

// Markdown: per test set, a models-by-metrics table of the "mean" rows (pseudo-models such
// as the classical bound and the predict-zero floor after the real ones), then MSE per
// component; then links to the figures (paths relative to the run directory).
std::string report_markdown(const std::string& pipeline, const std::vector<ModelSummary>& models,
                            const std::vector<Metric>& metrics, const std::vector<std::string>& figures = {});

// The same content as JSON: {"pipeline", "models", "test_sets": {set: {"mean": [rows],
// "per_component": {...}}}, "figures"}.
std::string report_json(const std::string& pipeline, const std::vector<ModelSummary>& models,
                        const std::vector<Metric>& metrics, const std::vector<std::string>& figures);

// One row per test set, record, sample and component: the mix, the target and every
// model's prediction, each in the shortest form that reads back as the same double, so
// that metrics recomputed from the file equal metrics.json.
std::string predictions_csv(const Dataset& data, const std::vector<ModelOutput>& outputs);

}  // namespace sigx::host
