// sigx-make-hum: speech with mains hum on it, and the hum alone, for pipelines/hum.toml.
//
//   sigx-make-hum SPEECH.wav SECONDS SEED MIX_OUT.wav TRUTH_OUT.wav [DRIFT [HZ [SECONDS]]]
//
// The speech (any rate, e.g. espeak-ng's 22050 Hz; several channels are averaged) is
// resampled to 16 kHz with libsamplerate (SRC_SINC_BEST_QUALITY), normalised to a peak of
// 0.5 and, when SECONDS > 0, repeated with 0.5 s of silence between repetitions and cut
// to SECONDS (0: its own length). Then 50 Hz hum and its 100 and 150 Hz harmonics are
// added, each
//
//   a_h(t) sin(h Theta(t) + phi_h(t)),  a_h(t) = A_h (1 + m_h sin(2 pi fm_h t + psi_h)),
//                                        phi_h(t) = phi0_h + d_h sin(2 pi fd_h t + chi_h),
//   Theta(t) = 2 pi integral of f(t),     f(t) = 50 Hz + drift(t)
//
// with h = 1, 2, 3 and A = 0.1, 0.05, 0.03: an amplitude that swells by up to +-20% over
// 5 to 20 s and a phase that wanders by a few tenths of a radian over 3 to 10 s, as real
// hum does while the grid's load moves. The grid's frequency f(t) drifts, and the
// harmonics with it (h f(t)): DRIFT is
//   none                 f = 50 Hz exactly
//   offset HZ            f = 50 + HZ, constant
//   walk HZ SECONDS      a random walk around 50 Hz (Ornstein-Uhlenbeck): standard
//                        deviation HZ, correlation time SECONDS, started in its stationary
//                        state (the default: walk 0.05 2, as a grid wanders)
//   sweep HZ             linear from 50 - HZ to 50 + HZ over the record
// MIX_OUT gets the sum (1 channel), TRUTH_OUT the three hum components exactly as they
// were added (3 channels, 50, 100, 150 Hz) and TRUTH_OUT with the extension
// ".frequency.wav" each component's grid frequency h f(t) in Hz, sample by sample (what a
// tracker's estimate is scored against; each harmonic's own slow phase wander is part of
// its phase, not of this), all as 32-bit float WAV.
//
// The drift parameters come from SEED: one std::mt19937_64, uniforms drawn as
// (engine() >> 11) * 2^-53 (never std::uniform_real_distribution, whose algorithm each
// standard library chooses), in a fixed order: for h = 1, 2, 3: fm, m, psi, phi0, fd, d,
// chi. The walk's steps come from a second engine, seeded with SEED + 0x6772696400 ("grid"),
// as standard normals by Box-Muller from two such uniforms per step. So a seed gives the
// same hum on every machine, and the same amplitudes and phases whatever the drift.
#include <sigx/audio.hpp>

#include <fmt/format.h>
#include <samplerate.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr double two_pi = 6.283185307179586476925286766559;
constexpr double rate = 16000.0;  // Hz, the output's sample rate
constexpr double gap = 0.5;       // s of silence between repetitions of the speech

struct Harmonic {
    double multiple, amplitude;
};
constexpr double grid = 50.0;                                       // Hz, the nominal mains frequency
constexpr Harmonic harmonics[] = {{1, 0.1}, {2, 0.05}, {3, 0.03}};  // multiple of the grid, amplitude

[[noreturn]] void usage(const std::string& why) {
    throw std::invalid_argument(
        why +
        "\nusage: sigx-make-hum SPEECH.wav SECONDS SEED MIX_OUT.wav TRUTH_OUT.wav [DRIFT [HZ [SECONDS]]]\n"
        "  SECONDS: length of the output (0: the speech's own); SEED: a whole number >= 0\n"
        "  DRIFT: none, offset HZ, walk HZ SECONDS (standard deviation, correlation time) or sweep HZ\n"
        "  (from 50 - HZ to 50 + HZ); default: walk 0.05 2");
}

double parse_number(const std::string& what, const std::string& s, double lo, double hi) {
    std::size_t used = 0;
    double x = 0;
    try {
        x = std::stod(s, &used);
    } catch (const std::exception&) {
        usage(fmt::format("{} '{}' is not a number", what, s));
    }
    if (used != s.size() || !std::isfinite(x) || x < lo || x > hi)
        usage(fmt::format("{} '{}' must be a number in [{}, {}]", what, s, lo, hi));
    return x;
}

double parse_seconds(const std::string& s) { return parse_number("SECONDS", s, 0, 86400); }

// How the grid's frequency moves (see the file comment).
struct Drift {
    enum Kind { none, offset, walk, sweep } kind = walk;
    double hz = 0.05;      // offset; walk: standard deviation; sweep: half the excursion
    double seconds = 2.0;  // walk: correlation time
};

Drift parse_drift(int argc, char** argv) {
    Drift d;
    if (argc <= 6) return d;
    const std::string kind = argv[6];
    const int expected = kind == "none" ? 7 : kind == "walk" ? 9 : 8;
    if (kind == "none")
        d.kind = Drift::none;
    else if (kind == "offset")
        d.kind = Drift::offset;
    else if (kind == "walk")
        d.kind = Drift::walk;
    else if (kind == "sweep")
        d.kind = Drift::sweep;
    else
        usage(fmt::format("DRIFT '{}' is not one of none, offset, walk, sweep", kind));
    if (argc != expected) usage(fmt::format("DRIFT {} takes {} value(s)", kind, expected - 7));
    if (d.kind == Drift::none) return d;
    d.hz = parse_number("HZ", argv[7], d.kind == Drift::offset ? -10.0 : 0.0, 10.0);
    if (d.kind == Drift::walk) d.seconds = parse_number("SECONDS", argv[8], 1e-3, 1e6);
    return d;
}

std::uint64_t parse_seed(const std::string& s) {
    std::size_t used = 0;
    std::uint64_t x = 0;
    try {
        if (s.empty() || s.front() == '-' || s.front() == '+') throw std::invalid_argument(s);
        x = std::stoull(s, &used, 10);
    } catch (const std::exception&) {
        usage(fmt::format("SEED '{}' is not a whole number >= 0", s));
    }
    if (used != s.size()) usage(fmt::format("SEED '{}' is not a whole number >= 0", s));
    return x;
}

// The speech as one channel at `rate`.
sigx::Samples load_speech(const std::filesystem::path& file) {
    const sigx::audio::Audio a = sigx::audio::read(file);
    const std::size_t n = a.channels.front().size();
    if (n == 0) throw std::runtime_error(fmt::format("{}: has no samples", file.string()));
    std::vector<float> in(n, 0.0f);
    for (const auto& ch : a.channels)
        for (std::size_t i = 0; i < n; ++i) in[i] += static_cast<float>(ch[i] / static_cast<double>(a.channels.size()));
    if (a.sample_rate == rate) return sigx::Samples(in.begin(), in.end());
    const double ratio = rate / a.sample_rate;
    std::vector<float> out(static_cast<std::size_t>(std::ceil(static_cast<double>(n) * ratio)) + 16);
    SRC_DATA d{};
    d.data_in = in.data();
    d.data_out = out.data();
    d.input_frames = static_cast<long>(n);
    d.output_frames = static_cast<long>(out.size());
    d.end_of_input = 1;
    d.src_ratio = ratio;
    if (const int error = src_simple(&d, SRC_SINC_BEST_QUALITY, 1); error != 0)
        throw std::runtime_error(fmt::format("{}: resampling {} Hz to {} Hz failed: {}", file.string(), a.sample_rate,
                                             rate, src_strerror(error)));
    return sigx::Samples(out.begin(), out.begin() + d.output_frames_gen);
}

// Peak 0.5, repeated with gaps to `frames` (0: as it is).
sigx::Samples shape_speech(sigx::Samples speech, std::size_t frames) {
    double peak = 0;
    for (double x : speech) peak = std::max(peak, std::abs(x));
    if (peak == 0) throw std::runtime_error("the speech is silent");
    for (double& x : speech) x *= 0.5 / peak;
    if (frames == 0) return speech;
    sigx::Samples out(frames, 0.0);
    const auto period = speech.size() + static_cast<std::size_t>(std::lround(gap * rate));
    for (std::size_t n = 0; n < frames; ++n) {
        const std::size_t k = n % period;
        if (k < speech.size()) out[n] = speech[k];
    }
    return out;
}

// The grid's frequency at each sample (see the file comment).
sigx::Samples grid_frequency(const Drift& drift, std::uint64_t seed, std::size_t frames) {
    sigx::Samples f(frames, grid);
    if (drift.kind == Drift::offset)
        for (double& x : f) x += drift.hz;
    if (drift.kind == Drift::sweep)
        for (std::size_t n = 0; n < frames; ++n)
            f[n] +=
                drift.hz * (frames > 1 ? 2.0 * static_cast<double>(n) / static_cast<double>(frames - 1) - 1.0 : 0.0);
    if (drift.kind == Drift::walk) {
        std::mt19937_64 engine(seed + 0x6772696400ull);
        auto uniform = [&] { return (static_cast<double>(engine() >> 11) + 0.5) * 0x1.0p-53; };  // (0, 1)
        auto normal = [&] { return std::sqrt(-2.0 * std::log(uniform())) * std::cos(two_pi * uniform()); };
        const double keep = std::exp(-1.0 / (rate * drift.seconds)), fresh = std::sqrt(1.0 - keep * keep);
        double x = drift.hz * normal();
        for (std::size_t n = 0; n < frames; ++n) {
            f[n] += x;
            x = keep * x + drift.hz * fresh * normal();
        }
    }
    return f;
}

// The three hum components, `frames` long, drawn from `seed`, on the grid frequency `f`
// (see the file comment).
std::vector<sigx::Samples> make_hum(std::uint64_t seed, const sigx::Samples& f) {
    const std::size_t frames = f.size();
    std::mt19937_64 engine(seed);
    auto uniform = [&](double lo, double hi) {
        return lo + (hi - lo) * static_cast<double>(engine() >> 11) * 0x1.0p-53;
    };
    // Theta at each sample: the integral of 2 pi f, by the trapezoid rule, wrapped to keep
    // its precision over long records (each harmonic's multiple is whole).
    sigx::Samples theta(frames, 0.0);
    for (std::size_t n = 1; n < frames; ++n)
        theta[n] = std::fmod(theta[n - 1] + two_pi * 0.5 * (f[n - 1] + f[n]) / rate, two_pi);
    std::vector<sigx::Samples> hum;
    for (const Harmonic& h : harmonics) {
        const double fm = uniform(0.05, 0.2);      // Hz: amplitude swell, a period of 5 to 20 s
        const double m = uniform(0.1, 0.2);        // its depth: +-10 to 20%
        const double psi = uniform(0.0, two_pi);   // its phase
        const double phi0 = uniform(0.0, two_pi);  // the hum's phase
        const double fd = uniform(0.1, 1.0 / 3);   // Hz: phase drift, a period of 3 to 10 s
        const double d = uniform(0.2, 0.5);        // rad: its depth
        const double chi = uniform(0.0, two_pi);   // its phase
        sigx::Samples& c = hum.emplace_back(frames);
        for (std::size_t n = 0; n < frames; ++n) {
            const double t = static_cast<double>(n) / rate;
            const double a = h.amplitude * (1 + m * std::sin(two_pi * fm * t + psi));
            const double phi = phi0 + d * std::sin(two_pi * fd * t + chi);
            c[n] = a * std::sin(h.multiple * theta[n] + phi);
        }
    }
    return hum;
}

// TRUTH.wav -> TRUTH.frequency.wav
std::filesystem::path frequency_file(std::filesystem::path truth) {
    return truth.replace_extension(".frequency" + truth.extension().string());
}

void run(int argc, char** argv) {
    if (argc < 6 || argc > 9) usage(fmt::format("expected 5 to 8 arguments, got {}", argc - 1));
    const std::filesystem::path speech_file = argv[1], mix_file = argv[4], truth_file = argv[5];
    const double seconds = parse_seconds(argv[2]);
    const std::uint64_t seed = parse_seed(argv[3]);
    const Drift drift = parse_drift(argc, argv);
    const std::size_t frames = static_cast<std::size_t>(std::llround(seconds * rate));
    if (seconds > 0 && frames == 0) usage(fmt::format("SECONDS {} is less than one sample", seconds));

    const sigx::Samples speech = shape_speech(load_speech(speech_file), frames);
    const sigx::Samples grid_hz = grid_frequency(drift, seed, speech.size());
    const std::vector<sigx::Samples> hum = make_hum(seed, grid_hz);
    std::vector<sigx::Samples> frequency;
    for (const Harmonic& h : harmonics) {
        sigx::Samples& fh = frequency.emplace_back(grid_hz);
        for (double& x : fh) x *= h.multiple;
    }
    sigx::Samples mix = speech;
    for (const auto& c : hum)
        for (std::size_t n = 0; n < mix.size(); ++n) mix[n] += c[n];

    for (const auto& f : {mix_file, truth_file})
        if (f.has_parent_path()) std::filesystem::create_directories(f.parent_path());
    sigx::audio::write_wav(mix_file, rate, {&mix});
    sigx::audio::write_wav(truth_file, rate, {&hum[0], &hum[1], &hum[2]});
    sigx::audio::write_wav(frequency_file(truth_file), rate, {&frequency[0], &frequency[1], &frequency[2]});
    const auto [lo, hi] = std::minmax_element(grid_hz.begin(), grid_hz.end());
    fmt::print(
        "{}: {:.2f} s at {} Hz, speech from {} (peak 0.5), hum at 50/100/150 Hz from seed {}, grid {:.3f} to "
        "{:.3f} Hz; truth {}\n",
        mix_file.string(), static_cast<double>(mix.size()) / rate, rate, speech_file.string(), seed, *lo, *hi,
        truth_file.string());
}

}  // namespace

int main(int argc, char** argv) {
    try {
        run(argc, argv);
        return 0;
    } catch (const std::invalid_argument& e) {
        fmt::print(stderr, "sigx-make-hum: {}\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        fmt::print(stderr, "sigx-make-hum: {}\n", e.what());
        return 1;
    }
}
