// A plugin that declares a name which would be a path: "../escape". The loader must
// refuse it (plugin names become folder names in the run directory).
#include <sigx/register.hpp>

namespace {

class BadName final : public sigx::Evaluator {
public:
    static sigx::Descriptor describe() {
        return {
            .name = "../escape", .version = "0.0.1", .description = "test plugin: a name that is a path", .params = {}};
    }
    explicit BadName(const sigx::Params&) {}
    std::vector<sigx::Metric> evaluate(const sigx::Dataset&, const std::vector<sigx::ModelOutput>&,
                                       sigx::Host&) override {
        return {};
    }
};

}  // namespace

SIGX_PLUGIN(BadName)
