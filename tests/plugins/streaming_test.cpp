// The classical causal models stream (sigx/stream.hpp): fft.sliding and lsq in sliding
// mode give their whole-record prediction from blocks of any size, with no latency; a
// non-causal model is refused, saying why.
#include "support/streaming.hpp"

#include <catch2/catch.hpp>

using namespace sigx;
using sigx::test::make_plugin;
using sigx::test::TestHost;

namespace {

Dataset hum_like_data() {
    Params p;
    p.set("frequencies", RealList{50.0, 100.0, 150.0});
    p.set("sample_rate", 4000.0);
    p.set("duration", 1.0);
    p.set("phase_scale", 0.05);
    p.set("train_records", std::int64_t{2});
    return sigx::test::noisy_sinusoid(p);
}

}  // namespace

TEST_CASE("fft.sliding and lsq sliding stream: any block size gives the whole-record prediction, no latency",
          "[streaming]") {
    const Dataset data = hum_like_data();
    TestHost host;
    const Record& r = data.tests.back().records.front();
    SECTION("fft.sliding") {
        auto m = make_plugin<Model>("fft.sliding", Kind::model, Params({{"window", std::int64_t{80}}}));
        sigx::test::check_streaming(*m, r);
    }
    SECTION("lsq sliding, calibrated") {
        auto m = make_plugin<Model>("lsq", Kind::model,
                                    Params({{"mode", std::string("sliding")}, {"window", std::int64_t{120}}}));
        m->fit(data.train, host);
        sigx::test::check_streaming(*m, r);
    }
    SECTION("lsq sliding, a window longer than the record") {
        auto m = make_plugin<Model>(
            "lsq", Kind::model,
            Params({{"mode", std::string("sliding")}, {"window", std::int64_t{100000}}, {"calibrate", false}}));
        sigx::test::check_streaming(*m, r);
    }
}

TEST_CASE("a non-causal model cannot stream, and says why", "[streaming]") {
    StreamConfig config{1000, 1, 0, {{{"a", 50, 1}}}, 16};
    auto block = make_plugin<Model>("lsq", Kind::model, Params({{"calibrate", false}}));
    REQUIRE(streaming(*block));
    CHECK_THROWS_WITH(streaming(*block)->configure(config),
                      Catch::Contains("mode = \"block\"") && Catch::Contains("non-causal"));
    CHECK(streaming(*make_plugin<Model>("fft.block", Kind::model)) == nullptr);
}
