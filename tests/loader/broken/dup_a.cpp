// One of two libraries that register the same plugin name, "dup.eval". The host keeps
// the first it loads and rejects the other, naming both files.
#include <sigx/register.hpp>

namespace {

class Dup final : public sigx::Evaluator {
public:
    static sigx::Descriptor describe() {
        return {.name = "dup.eval",
                .version = "0.0.1",
                .description = "test plugin: copy a of a duplicated name",
                .params = {}};
    }
    explicit Dup(const sigx::Params&) {}
    std::vector<sigx::Metric> evaluate(const sigx::Dataset&, const std::vector<sigx::ModelOutput>&,
                                       sigx::Host&) override {
        return {{"all", "none", "mean", "copy", 'a' == 'a' ? 1.0 : 2.0}};
    }
};

}  // namespace

SIGX_PLUGIN(Dup)
