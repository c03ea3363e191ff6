// Error over time since a record's start: the bins every metric is also given in (a
// causal model's first second is spent locking on, which a whole-record figure hides),
// and the moments a metric is computed from. Shared by the metrics and diagnose
// evaluators, so that their binned figures line up.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <string>
#include <vector>

namespace sigx::classical {

// Edges in seconds: 0, 0.1, 0.2, 0.5, 1, then every second to 10, then 20, 50, 100, 200,
// 500, ... up to the longest record's `duration` (the last bin ends there).
inline std::vector<double> time_bin_edges(double duration) {
    std::vector<double> edges = {0.0};
    auto add = [&](double e) {
        if (e < duration) edges.push_back(e);
    };
    for (double e : {0.1, 0.2, 0.5}) add(e);
    for (int s = 1; s <= 10; ++s) add(s);
    for (double decade = 10; decade < duration; decade *= 10)
        for (double m : {2.0, 5.0, 10.0}) add(m * decade);
    edges.push_back(duration);
    return edges;
}

// The window (Metric::window) of bin [lo, hi): "0.1-0.2s"; of the part after the
// warm-up: "steady".
inline std::string bin_window(double lo, double hi) { return fmt::format("{}-{}s", lo, hi); }
inline const std::string steady_window = "steady";

// Sums for MSE, Pearson correlation and the predict-zero floor of one (prediction,
// target) series.
struct Moments {
    double n = 0, sp = 0, st = 0, spp = 0, stt = 0, spt = 0, se = 0;
    void add(double p, double t) {
        n += 1, sp += p, st += t, spp += p * p, stt += t * t, spt += p * t;
        se += (p - t) * (p - t);
    }
    double mse() const { return se / n; }
    double floor_mse() const { return stt / n; }
    double pearson() const {
        const double cov = spt - sp * st / n, vp = spp - sp * sp / n, vt = stt - st * st / n;
        return (vp > 0 && vt > 0) ? cov / std::sqrt(vp * vt) : 0.0;
    }
};

// Moments of a whole record, of each time bin and of the part from `warmup` seconds on:
// where sample n falls, for a record at `rate`.
struct TimedMoments {
    TimedMoments(const std::vector<double>& edges, double warmup)
        : edges_(edges), warmup_(warmup), bins(edges.size() - 1) {}
    void add(std::size_t n, double rate, double p, double t) {
        const double time = static_cast<double>(n) / rate;
        whole.add(p, t);
        if (time >= warmup_) steady.add(p, t);
        while (bin_ + 1 < bins.size() && time >= edges_[bin_ + 1]) ++bin_;
        while (bin_ > 0 && time < edges_[bin_]) --bin_;
        bins[bin_].add(p, t);
    }
    std::vector<double> edges_;
    double warmup_;
    Moments whole, steady;
    std::vector<Moments> bins;

private:
    std::size_t bin_ = 0;  // the bin of the last sample: records are walked in time order
};

}  // namespace sigx::classical
