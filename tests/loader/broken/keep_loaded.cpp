// "test.keep_loaded": a healthy evaluator whose entry carries SIGX_FLAG_KEEP_LOADED, as
// the LibTorch plugins' do. The host must never unload its library.
#include <sigx/register.hpp>

namespace {

class KeepLoaded final : public sigx::Evaluator {
public:
    static constexpr std::uint32_t plugin_flags = SIGX_FLAG_KEEP_LOADED;
    static sigx::Descriptor describe() {
        return {.name = "test.keep_loaded",
                .version = "0.0.1",
                .description = "test plugin: asks never to be unloaded",
                .params = {}};
    }
    explicit KeepLoaded(const sigx::Params&) {}
    std::vector<sigx::Metric> evaluate(const sigx::Dataset&, const std::vector<sigx::ModelOutput>&,
                                       sigx::Host&) override {
        return {};
    }
};

}  // namespace

SIGX_PLUGIN(KeepLoaded)
