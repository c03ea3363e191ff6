// metrics: MSE and Pearson correlation of every model's prediction against each clean
// component, on every test set (records pooled), with the mean over components and the
// MSE of predicting zero (the floor any useful model must beat).
#include <sigx/register.hpp>

#include <cmath>

namespace {

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

class Metrics final : public sigx::Evaluator {
public:
    static constexpr const char* floor_model = "(predict zero)";

    static sigx::Descriptor describe() {
        return {"metrics", sigx::Kind::evaluator, "1.0.0",
                "MSE and Pearson correlation per component and their mean, on every test set; MSE of predicting zero",
                {}, false};
    }
    explicit Metrics(const sigx::Params&) {}

    std::vector<sigx::Metric> evaluate(const sigx::Dataset& data, const std::vector<sigx::ModelOutput>& outputs,
                                       sigx::Host&) override {
        std::vector<sigx::Metric> out;
        for (std::size_t s = 0; s < data.tests.size(); ++s) {
            const auto& set = data.tests[s];
            if (set.records.empty()) continue;
            const auto& comps = set.records.front().components;
            auto pooled = [&](auto prediction) {
                std::vector<Moments> m(comps.size());
                for (std::size_t r = 0; r < set.records.size(); ++r)
                    for (std::size_t c = 0; c < comps.size(); ++c) {
                        const auto& ref = set.records[r].components[c].reference;
                        for (std::size_t n = 0; n < ref.size(); ++n) m[c].add(prediction(r, c, n), ref[n]);
                    }
                return m;
            };
            auto emit = [&](const std::string& model, const std::vector<Moments>& m, bool with_pearson) {
                double mse = 0, r = 0;
                for (std::size_t c = 0; c < comps.size(); ++c) {
                    out.push_back({set.name, model, comps[c].label, "mse", m[c].mse()});
                    if (with_pearson) out.push_back({set.name, model, comps[c].label, "pearson", m[c].pearson()});
                    mse += m[c].mse(), r += m[c].pearson();
                }
                const double k = static_cast<double>(comps.size());
                out.push_back({set.name, model, "mean", "mse", mse / k});
                if (with_pearson) out.push_back({set.name, model, "mean", "pearson", r / k});
            };
            for (const auto& o : outputs)
                emit(o.model, pooled([&](std::size_t r, std::size_t c, std::size_t n) {
                         return o.predictions[s][r].components[c][n];
                     }), true);
            emit(floor_model, pooled([](std::size_t, std::size_t, std::size_t) { return 0.0; }), false);
        }
        return out;
    }
};

}  // namespace

SIGX_PLUGIN(Metrics)
