// A library with two plugins: "test.describe_throws", whose describe() throws something
// that is not a std::exception, and a healthy "test.beside_thrower". The host must reject
// the first in one line naming the library and still load the second.
#include <sigx/register.hpp>

namespace {

class Thrower final : public sigx::Evaluator {
public:
    static sigx::Descriptor describe() { throw 42; }
    explicit Thrower(const sigx::Params&) {}
    std::vector<sigx::Metric> evaluate(const sigx::Dataset&, const std::vector<sigx::ModelOutput>&,
                                       sigx::Host&) override {
        return {};
    }
};

class Beside final : public sigx::Evaluator {
public:
    static sigx::Descriptor describe() {
        return {.name = "test.beside_thrower",
                .version = "0.0.1",
                .description = "test plugin: loads beside a thrower",
                .params = {}};
    }
    explicit Beside(const sigx::Params&) {}
    std::vector<sigx::Metric> evaluate(const sigx::Dataset&, const std::vector<sigx::ModelOutput>&,
                                       sigx::Host&) override {
        return {};
    }
};

}  // namespace

SIGX_PLUGIN(Thrower)
SIGX_PLUGIN(Beside)
