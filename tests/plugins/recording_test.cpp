// The recording generator, loaded from the built plugin folder like the host does: data
// written as WAV or CSV files reads back as the records it was made from, and every file
// it cannot use is refused with a message naming the file.
//
// The files are made from noisy_sinusoid data. WAV stores float32, so a WAV round trip
// is exact to float precision (relative error below 2^-24, checked at 1e-6); a CSV written
// with 17 significant digits reads back the same doubles.
#include "support/support.hpp"

#include <sigx/audio.hpp>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

using namespace sigx;
using Catch::Contains;
using sigx::test::make_plugin;
using sigx::test::TempDir;
using sigx::test::TestHost;

namespace {

namespace fs = std::filesystem;

std::shared_ptr<Generator> make(const Params& p) { return make_plugin<Generator>("recording", Kind::generator, p); }

Dataset generate(const Params& p) {
    TestHost host;
    return make(p)->generate(host);
}

// The ParamError that constructing with `p` throws.
ParamError param_error(const Params& p) {
    try {
        make(p);
    } catch (const ParamError& e) {
        return e;
    }
    FAIL("no ParamError");
    throw std::logic_error("unreachable");
}

// Two-component noisy_sinusoid data: one training record, the test set "test" first.
Dataset sinusoids(double sample_rate = 1000.0) {
    Params p;
    p.set("frequencies", RealList{5.0, 13.0});
    p.set("sample_rate", sample_rate);
    p.set("duration", 2.0);
    p.set("phase_scale", 0.5);
    p.set("unseen_records", std::int64_t{0});
    return sigx::test::noisy_sinusoid(p);
}

// Recording parameters matching sinusoids(): same frequencies and labels, same gains.
Params recording(const Record& like, PathList train, PathList test) {
    Params p;
    p.set("train", std::move(train));
    p.set("test", std::move(test));
    RealList f, gains;
    for (const auto& c : like.task.components) f.push_back(c.frequency), gains.push_back(c.gain);
    p.set("frequencies", f);
    p.set("gains", gains);
    return p;
}

void write_wav(const fs::path& file, double rate, const std::vector<Samples>& channels) {
    std::vector<const Samples*> c;
    for (const auto& s : channels) c.push_back(&s);
    fs::create_directories(file.parent_path());
    audio::write_wav(file, rate, c);
}

// The record's mix as `file` and its references as the truth file {dir}/truth/{stem}.wav.
void write_record_wav(const Record& r, const fs::path& file) {
    write_wav(file, r.input.sample_rate, r.input.channels);
    write_wav(file.parent_path() / "truth" / file.filename(), r.input.sample_rate, r.truth->references);
}

// time, mix, then one column per reference named by its label; 17 significant digits.
void write_record_csv(const Record& r, const fs::path& file) {
    std::ofstream out(file);
    out << "time,mix";
    for (const auto& c : r.task.components) out << "," << c.label;
    out << "\n";
    for (std::size_t n = 0; n < r.size(); ++n) {
        out << fmt::format("{:.17g},{:.17g}", r.input.time(n), r.input.channels[0][n]);
        for (const auto& ref : r.truth->references) out << fmt::format(",{:.17g}", ref[n]);
        out << "\n";
    }
}

using sigx::test::write_text;

void check_close(const Samples& got, const Samples& want, double relative) {
    REQUIRE(got.size() == want.size());
    std::size_t bad = 0;
    for (std::size_t n = 0; n < got.size(); ++n)
        if (!(std::abs(got[n] - want[n]) <= relative * std::abs(want[n]) + 1e-300)) ++bad;
    CHECK(bad == 0);
}

// lsq fitted on the training records, scored on the test set "test": the mean over
// components and records of the mean squared error.
double lsq_mse(const Dataset& d) {
    TestHost host;
    auto model = make_plugin<Model>("lsq", Kind::model);
    model->fit(d.train, host);
    double sum = 0;
    std::size_t count = 0;
    for (const auto& r : d.tests.at(0).records) {
        const Prediction p = model->predict(r.input, r.task, host);
        REQUIRE(p.components.size() == r.truth->references.size());
        for (std::size_t k = 0; k < p.components.size(); ++k) {
            double e = 0;
            for (std::size_t n = 0; n < r.size(); ++n) {
                const double diff = p.components[k][n] - r.truth->references[k][n];
                e += diff * diff;
            }
            sum += e / static_cast<double>(r.size());
            ++count;
        }
    }
    return sum / static_cast<double>(count);
}

// The recording's records equal the source's: input and references to `relative`.
void check_same(const Dataset& got, const Dataset& want, double relative) {
    REQUIRE(got.train.size() == 1);
    REQUIRE(got.tests.size() == 1);
    CHECK(got.tests[0].name == "test");
    REQUIRE(got.tests[0].records.size() == 1);
    const std::pair<const Record*, const Record*> pairs[] = {{&got.train[0], &want.train[0]},
                                                             {&got.tests[0].records[0], &want.tests[0].records[0]}};
    for (auto [g, w] : pairs) {
        CHECK(g->input.sample_rate == w->input.sample_rate);
        CHECK(g->input.start_time == 0.0);
        REQUIRE(g->input.channels.size() == 1);
        check_close(g->input.channels[0], w->input.channels[0], relative);
        REQUIRE(g->task.size() == w->task.size());
        for (std::size_t k = 0; k < g->task.size(); ++k) {
            CHECK(g->task.components[k].label == w->task.components[k].label);
            CHECK(g->task.components[k].frequency == w->task.components[k].frequency);
            CHECK(g->task.components[k].gain == w->task.components[k].gain);
        }
        REQUIRE(g->truth);
        CHECK(g->truth->start_time == 0.0);
        REQUIRE(g->truth->references.size() == w->truth->references.size());
        for (std::size_t k = 0; k < g->truth->references.size(); ++k)
            check_close(g->truth->references[k], w->truth->references[k], relative);
    }
}

}  // namespace

TEST_CASE("recording: a WAV round trip gives the records back to float precision, and lsq the same MSE",
          "[recording]") {
    TempDir dir;
    const Dataset want = sinusoids();
    const fs::path train = dir.path() / "train.wav", test = dir.path() / "test.wav";
    write_record_wav(want.train[0], train);
    write_record_wav(want.tests[0].records[0], test);
    Params p = recording(want.train[0], {train}, {test});
    p.set("train_truth", std::string("{dir}/truth/{stem}.wav"));
    p.set("test_truth", std::string("{dir}/truth/{stem}.wav"));
    auto g = make(p);
    CHECK(g->channels() == 1);
    TestHost host;
    const Dataset got = g->generate(host);
    check_same(got, want, 1e-6);
    CHECK(got.train[0].input.name == "train");
    CHECK(got.tests[0].records[0].input.name == "test");
    CHECK(got.train[0].input.metadata.at("file") == train.string());
    CHECK_THAT(got.tests[0].description, Contains("with references"));
    const double a = lsq_mse(want), b = lsq_mse(got);
    INFO("lsq MSE: noisy_sinusoid " << a << ", recording " << b);
    CHECK(a > 0);
    CHECK(std::abs(a - b) <= 1e-5 * a);

    SECTION("without a truth template the same files have no references") {
        p.set("train_truth", std::string(""));
        p.set("test_truth", std::string(""));
        const Dataset bare = generate(p);
        CHECK(!bare.train[0].truth);
        CHECK(!bare.tests[0].records[0].truth);
        CHECK_THAT(bare.tests[0].description, Contains("without references"));
    }
    SECTION("training files with references, a test file without: fitted on one, applied to the other") {
        p.set("test_truth", std::string(""));
        const Dataset mixed = generate(p);
        CHECK(mixed.train[0].truth);
        CHECK(!mixed.tests[0].records[0].truth);
    }
}

TEST_CASE("recording: a CSV round trip gives the same doubles and lsq the same MSE", "[recording]") {
    TempDir dir;
    const Dataset want = sinusoids();
    const fs::path train = dir.path() / "train.csv", test = dir.path() / "test.csv";
    write_record_csv(want.train[0], train);
    write_record_csv(want.tests[0].records[0], test);
    const Dataset got = generate(recording(want.train[0], {train}, {test}));
    check_same(got, want, 0.0);
    CHECK(got.train[0].input.channels[0] == want.train[0].input.channels[0]);
    CHECK(lsq_mse(got) == Approx(lsq_mse(want)).epsilon(1e-12));
}

TEST_CASE("recording: a CSV without a time column takes sample_rate, without it the error names the file",
          "[recording]") {
    TempDir dir;
    const fs::path file = dir.path() / "plain.csv";
    write_text(file, "a,b\n1,2\n3,4\n5,6\n");
    Params p;
    p.set("train", PathList{file});
    p.set("test", PathList{file});
    p.set("frequencies", RealList{100.0});
    REQUIRE_THROWS_WITH(make(p), Contains(file.string()) && Contains("sample_rate"));
    CHECK(param_error(p).key == "sample_rate");
    p.set("sample_rate", 1000.0);
    auto g = make(p);
    CHECK(g->channels() == 2);
    p.set("channels", RealList{2.0});
    const Dataset d = generate(p);
    REQUIRE(d.train[0].input.channels.size() == 1);
    CHECK(d.train[0].input.channels[0] == Samples{2, 4, 6});
    CHECK(d.train[0].input.sample_rate == 1000.0);
    CHECK(!d.train[0].truth);
}

TEST_CASE("recording: channels = [2] selects the second channel of a 2-channel file", "[recording]") {
    TempDir dir;
    const Samples left{0.1, 0.2, 0.3, 0.4}, right{-0.5, 0.25, -0.125, 0.0625};
    const fs::path file = dir.path() / "stereo.wav";
    write_wav(file, 1000, {left, right});
    Params p;
    p.set("train", PathList{file});
    p.set("test", PathList{file});
    p.set("frequencies", RealList{50.0});
    CHECK(make(p)->channels() == 2);
    const Dataset both = generate(p);
    REQUIRE(both.train[0].input.channels.size() == 2);
    p.set("channels", RealList{2.0});
    auto g = make(p);
    CHECK(g->channels() == 1);
    TestHost host;
    const Dataset d = g->generate(host);
    REQUIRE(d.train[0].input.channels.size() == 1);
    check_close(d.train[0].input.channels[0], right, 1e-6);
    REQUIRE(d.tests[0].records[0].input.channels.size() == 1);
    check_close(d.tests[0].records[0].input.channels[0], right, 1e-6);

    SECTION("a channel the file lacks names the file") {
        p.set("channels", RealList{3.0});
        REQUIRE_THROWS_WITH(make(p), Contains(file.string()) && Contains("channel 3"));
        CHECK(param_error(p).key == "channels");
    }
    SECTION("a channel number must be whole") {
        p.set("channels", RealList{1.5});
        CHECK(param_error(p).key == "channels");
    }
    SECTION("files of different channel counts need a selection") {
        const fs::path mono = dir.path() / "mono.wav";
        write_wav(mono, 1000, {left});
        p.set("channels", RealList{});
        p.set("test", PathList{mono});
        REQUIRE_THROWS_WITH(make(p), Contains(mono.string()) && Contains(file.string()));
        CHECK(param_error(p).key == "channels");
        p.set("channels", RealList{1.0});
        CHECK(make(p)->channels() == 1);
    }
}

TEST_CASE("recording: record names are file stems, sanitised and made unique", "[recording]") {
    TempDir dir;
    const Samples s{0.1, 0.2, 0.3};
    PathList files;
    for (const char* name : {"a b.wav", "a_b.wav", ".hidden.wav", "x.wav"}) {
        files.push_back(dir.path() / name);
        write_wav(files.back(), 1000, {s});
    }
    files.push_back(dir.path() / "x.wav");  // twice
    Params p;
    p.set("train", files);
    p.set("test", PathList{files.front()});
    p.set("frequencies", RealList{50.0});
    const Dataset d = generate(p);
    REQUIRE(d.train.size() == 5);
    CHECK(d.train[0].input.name == "a_b");
    CHECK(d.train[1].input.name == "a_b-2");
    CHECK(d.train[2].input.name == "_hidden");
    CHECK(d.train[3].input.name == "x");
    CHECK(d.train[4].input.name == "x-2");
    CHECK(d.tests[0].records[0].input.name == "a_b");
}

TEST_CASE("recording: labels and gains make the task", "[recording]") {
    TempDir dir;
    const fs::path file = dir.path() / "hum.wav";
    write_wav(file, 1000, {Samples{0.1, 0.2, 0.3}});
    Params p;
    p.set("train", PathList{file});
    p.set("test", PathList{file});
    p.set("frequencies", RealList{50.0, 100.0});
    Dataset d = generate(p);
    REQUIRE(d.train[0].task.size() == 2);
    CHECK(d.train[0].task.components[0].label == "50Hz");
    CHECK(d.train[0].task.components[1].label == "100Hz");
    CHECK(d.train[0].task.components[1].gain == 1.0);
    p.set("labels", StringList{"hum50", "hum100"});
    p.set("gains", RealList{0.1, 0.05});
    d = generate(p);
    CHECK(d.train[0].task.components[0].label == "hum50");
    CHECK(d.train[0].task.components[1].frequency == 100.0);
    CHECK(d.train[0].task.components[1].gain == 0.05);

    p.set("labels", StringList{"hum50"});
    REQUIRE_THROWS_WITH(make(p), Contains("1 labels for 2 frequencies"));
    CHECK(param_error(p).key == "labels");
    p.set("labels", StringList{"hum 50", "hum100"});
    CHECK(param_error(p).key == "labels");
    p.set("labels", StringList{});
    p.set("gains", RealList{1.0});
    CHECK(param_error(p).key == "gains");
}

TEST_CASE("recording: what the headers tell is checked at construction, naming the file", "[recording]") {
    TempDir dir;
    const Samples s(100, 0.25);
    const fs::path a = dir.path() / "a.wav", b = dir.path() / "b.wav";
    write_wav(a, 1000, {s});
    write_wav(b, 2000, {s});
    Params p;
    p.set("train", PathList{a});
    p.set("test", PathList{a});
    p.set("frequencies", RealList{50.0});

    SECTION("a frequency at or above Nyquist") {
        p.set("frequencies", RealList{50.0, 500.0});
        REQUIRE_THROWS_WITH(make(p), Contains(a.string()) && Contains("Nyquist"));
        CHECK(param_error(p).key == "frequencies");
    }
    SECTION("files of different sample rates") {
        p.set("test", PathList{b});
        REQUIRE_THROWS_WITH(make(p), Contains(b.string()) && Contains("2000 Hz") && Contains("1000 Hz"));
        CHECK(param_error(p).key == "test");
    }
    SECTION("a file that is no sound") {
        const fs::path text = dir.path() / "text.wav";
        write_text(text, "this is not a sound file\n");
        p.set("train", PathList{a, text});
        REQUIRE_THROWS_WITH(make(p), Contains(text.string()));
        CHECK(param_error(p).key == "train");
    }
    SECTION("sample_rate that disagrees with a file") {
        p.set("sample_rate", 2000.0);
        REQUIRE_THROWS_WITH(make(p), Contains(a.string()));
        CHECK(param_error(p).key == "sample_rate");
    }
    SECTION("truth files") {
        p.set("train_truth", std::string("{dir}/truth/{stem}.wav"));
        const fs::path truth = dir.path() / "truth" / "a.wav";
        SECTION("missing") {
            REQUIRE_THROWS_WITH(make(p), Contains(truth.string()) && Contains("does not exist"));
            CHECK(param_error(p).key == "train_truth");
        }
        SECTION("of another length") {
            write_wav(truth, 1000, {Samples(99, 0.5)});
            REQUIRE_THROWS_WITH(make(p), Contains(truth.string()) && Contains("99 frames"));
            CHECK(param_error(p).key == "train_truth");
        }
        SECTION("of another rate") {
            write_wav(truth, 2000, {s});
            REQUIRE_THROWS_WITH(make(p), Contains(truth.string()) && Contains("2000 Hz"));
        }
        SECTION("with a channel count other than the number of components") {
            write_wav(truth, 1000, {s, s});
            REQUIRE_THROWS_WITH(make(p), Contains(truth.string()) && Contains("2 channels, expected 1"));
        }
        SECTION("an unknown placeholder") {
            p.set("test_truth", std::string("{folder}/{stem}.wav"));
            REQUIRE_THROWS_WITH(make(p), Contains("{folder}"));
            CHECK(param_error(p).key == "test_truth");
        }
        SECTION("present") {
            write_wav(truth, 1000, {Samples(100, 0.125)});
            const Dataset d = generate(p);
            REQUIRE(d.train[0].truth);
            CHECK(d.train[0].truth->references == std::vector<Samples>{Samples(100, 0.125)});
        }
    }
}

TEST_CASE("recording: a truncated WAV is refused when read, naming the file", "[recording]") {
    TempDir dir;
    const fs::path file = dir.path() / "cut.wav";
    write_wav(file, 1000, {Samples(1000, 0.25)});
    fs::resize_file(file, fs::file_size(file) - 100);
    Params p;
    p.set("train", PathList{file});
    p.set("test", PathList{file});
    p.set("frequencies", RealList{50.0});
    auto g = make(p);  // the header is whole
    TestHost host;
    REQUIRE_THROWS_WITH(g->generate(host), Contains(file.string()) && Contains("truncated"));
}

TEST_CASE("recording: CSV errors name the file and the line", "[recording]") {
    TempDir dir;
    const fs::path file = dir.path() / "data.csv";
    Params p;
    p.set("train", PathList{file});
    p.set("test", PathList{file});
    p.set("frequencies", RealList{50.0, 100.0});

    SECTION("some but not all reference columns") {
        write_text(file, "time,mix,50Hz\n0,1,2\n0.001,1,2\n");
        REQUIRE_THROWS_WITH(make(p), Contains(file.string()) && Contains("'100Hz'"));
        CHECK(param_error(p).key == "train");
    }
    SECTION("a row with too few fields") {
        write_text(file, "time,mix\n0,1\n0.001,1\n0.002\n");
        auto g = make(p);
        TestHost host;
        REQUIRE_THROWS_WITH(g->generate(host), Contains(file.string() + ": line 4"));
    }
    SECTION("a field that is not a finite number") {
        write_text(file, "time,mix\n0,1\n0.001,nan\n0.002,1\n");
        REQUIRE_THROWS_WITH(make(p), Contains(file.string() + ": line 3") && Contains("finite"));
    }
    SECTION("a field that is not a number") {
        write_text(file, "time,mix\n0,1\n0.001,1\n0.002,x\n");
        auto g = make(p);
        TestHost host;
        REQUIRE_THROWS_WITH(g->generate(host), Contains(file.string() + ": line 4") && Contains("'x'"));
    }
    SECTION("times not evenly spaced") {
        write_text(file, "time,mix\n0,1\n0.001,1\n0.002,1\n0.0031,1\n");
        auto g = make(p);
        TestHost host;
        REQUIRE_THROWS_WITH(g->generate(host), Contains(file.string() + ": line 5") && Contains("evenly spaced"));
    }
    SECTION("the time column gives the rate") {
        write_text(file, "time,mix,100Hz,50Hz\n0,1,2,3\n0.001,4,5,6\n");
        const Dataset d = generate(p);
        CHECK(d.train[0].input.sample_rate == 1000.0);
        CHECK(d.train[0].input.channels == std::vector<Samples>{Samples{1, 4}});
        REQUIRE(d.train[0].truth);
        CHECK(d.train[0].truth->references == std::vector<Samples>{Samples{3, 6}, Samples{2, 5}});  // task order
    }
}
