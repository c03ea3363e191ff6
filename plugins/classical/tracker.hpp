// The frequency tracker: an extended Kalman filter that follows each tone's instantaneous
// frequency as well as its amplitude and phase, within the task's tolerance.
//
// Tones are grouped in families: a component with no fundamental heads one, and every
// harmonic of it joins (Component::fundamental); the members of a family share one phase
// and frequency (mains hum: 50, 100 and 150 Hz move together), as in a phase-locked loop
// with harmonics locked to the fundamental. A family's state is its phase theta (the
// head's, a member m turns at r_m theta, r_m = f_m / f_head), its frequency offset nu from
// the nominal (rad per sample) and each member's in-phase and quadrature amplitudes
// (a_m, b_m): the member is a_m cos(r_m theta) + b_m sin(r_m theta). Per sample, theta
// advances by the nominal step plus nu, nu is a random walk (`q_frequency`) kept within
// the tolerance, the amplitudes are random walks (`q_amplitude`, relative to each
// member's power), and the mix is the sum of all members plus noise of variance r. The
// filter is robust to bursts of interference (speech): a sample whose innovation e is far
// beyond what the filter expects counts as noise of variance about robust e^2 (a bounded
// influence, as in a Huber-type Kalman filter). The phase is kept as an error state folded into
// each member's phasor after every update, so the covariance is only propagated along the
// phase's own row. Families are filtered apart (block-diagonal covariance) from one
// innovation. The update is made once per block of a few milliseconds, from all of the
// block's samples at once (tracker.cpp): the same filter to second order in its gains,
// several times cheaper than one update per sample.
//
// With a tolerance of 0 the frequency is not a state: the filter is the amplitude
// tracker of kalman.hpp in this form. The smoother runs the filter forward and, on the
// time-reversed record, backward, and combines the two estimates at each sample weighted
// by their inverse variances (a two-filter smoother): non-causal, for whole recordings.
#pragma once

#include "lsq.hpp"
#include "phasor.hpp"

#include <complex>
#include <filesystem>
#include <functional>
#include <istream>
#include <string>
#include <vector>

namespace sigx::classical {

struct TrackerSettings {
    std::vector<double> q_amplitude;  // per component, per second: variance added to each amplitude state,
                                      // relative to its prior
    double q_frequency = 1e-3;        // Hz^2 per second: the frequency's random walk (of a family's head)
    double r = 1;                     // observation noise variance (squared mix units); robust: its floor
    double robust = 3;       // robust: the noise at a sample is max(r, robust e^2 - h'Ph) (e the innovation); 0: r
    std::vector<double> p0;  // per component: the prior variance of each of its amplitude states
    double block = 0.004;    // s: at most this long between updates, once locked on (tracker.cpp)
};

// What the tracker gives at one sample: per component, the analytic estimate W
// (Re W is the component), the variance of Re W, and the instantaneous frequency (Hz).
struct TrackerOutput {
    std::vector<std::complex<double>> w;
    std::vector<double> variance, frequency;
};

class FrequencyTracker {
public:
    FrequencyTracker(const Task& task, double sample_rate, double start_time, const TrackerSettings& settings);
    ~FrequencyTracker();
    FrequencyTracker(FrequencyTracker&&) noexcept;
    FrequencyTracker& operator=(FrequencyTracker&&) noexcept;
    // Back to before the first sample.
    void reset();
    // Takes the next sample and writes each component's estimate for it into `out` (sized
    // by the tracker); the variances only when `variance` is true (the smoother's).
    void push(double x, TrackerOutput& out, bool variance = false);

private:
    struct Family;
    std::vector<Family> families_;
    std::size_t components_;
    TrackerSettings settings_;
    double hz_per_step_;  // Hz per radian per sample
};

// Per component, per sample: the analytic estimate W and the frequency (Hz), causal
// (`smooth` false) or from the two-filter smoother over the whole record.
struct Tracked {
    Analytic w;
    std::vector<std::vector<double>> frequency;
};
Tracked track(const Input& input, const Task& task, const TrackerSettings& settings, bool smooth);

// What fitting finds: the settings and the calibration gains (empty without).
struct TrackerFit {
    TrackerSettings settings;
    std::vector<std::complex<double>> gains;
    double mix_power = 0;

    // Bit for bit, as text (hexadecimal floating point). read() takes a fit for
    // `components` components (with their gains when `calibrated`) and throws naming
    // `file` at anything else: saved state is data, and may be corrupt.
    std::string text() const;
    static TrackerFit read(StateText& in, std::size_t components, bool calibrated);
};

// What fitting searches: 0 (robust: < 0) for a value to search, anything else is taken
// as given (robust = 0: the noise is fixed at r).
struct TrackerSearch {
    double q_amplitude = 0, q_frequency = 0, r = 0, robust = -1;
};

// Fits on training records (one input channel each): r from the residual of a
// whole-record least-squares fit, each component's prior from its fitted power, then the
// values `search` leaves open, by coordinate descent over log grids, each candidate
// scored by its calibrated MSE over the training records (of the smoother, with
// `smooth`), then the gains (with `calibrate`, which the search needs: it scores against
// the truth). `cancelled` is polled between candidates.
TrackerFit fit_tracker(const Records& train, const TrackerSearch& search, bool smooth, bool calibrate,
                       const std::function<bool()>& cancelled = {});

}  // namespace sigx::classical
