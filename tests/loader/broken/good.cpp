// A healthy evaluator, "test.good", that shares a folder with broken libraries: the host
// must load it whatever its neighbours do. It reports the number of test sets.
#include <sigx/register.hpp>

namespace {

class Good final : public sigx::Evaluator {
public:
    static sigx::Descriptor describe() {
        return {.name = "test.good",
                .version = "0.0.1",
                .description = "test plugin: counts test sets",
                .params = {sigx::ParamSpec::integer("offset", 0).help("added to the count")}};
    }
    explicit Good(const sigx::Params& p) : offset_(p.integer("offset")) {}
    std::vector<sigx::Metric> evaluate(const sigx::Dataset& data, const std::vector<sigx::ModelOutput>&,
                                       sigx::Host&) override {
        return {{"all", "none", "mean", "test_sets",
                 static_cast<double>(data.tests.size()) + static_cast<double>(offset_)}};
    }

private:
    std::int64_t offset_;
};

}  // namespace

SIGX_PLUGIN(Good)
