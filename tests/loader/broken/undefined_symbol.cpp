// A plugin that calls a function defined nowhere. It links (ALLOW_UNDEFINED) but the host
// opens libraries with RTLD_NOW, so loading must fail with the dlerror text.
#include <sigx/register.hpp>

extern "C" double sigx_test_symbol_defined_nowhere(double);

namespace {

class Undefined final : public sigx::Evaluator {
public:
    static sigx::Descriptor describe() {
        return {.name = "test.undefined",
                .version = "0.0.1",
                .description = "test plugin: needs a missing symbol",
                .params = {}};
    }
    explicit Undefined(const sigx::Params&) {}
    std::vector<sigx::Metric> evaluate(const sigx::Dataset& data, const std::vector<sigx::ModelOutput>&,
                                       sigx::Host&) override {
        const double v = sigx_test_symbol_defined_nowhere(static_cast<double>(data.tests.size()));
        return {{"all", "none", "mean", "value", v}};
    }
};

}  // namespace

SIGX_PLUGIN(Undefined)
