// The causal tracker: each tone's contribution to the mix is a_k cos(w_k t) + b_k sin(w_k t);
// a Kalman filter tracks the in-phase and quadrature amplitudes (a_k, b_k) of every tone
// from the mix, sample by sample, as a random walk (process noise `q` per sample) seen
// through white observation noise `r`. One joint filter over all tones (2K states, full
// covariance), or one 2-state filter per tone sharing the innovation (`joint = false`).
// `rls` is recursive least squares with forgetting factor `forgetting` instead.
// Calibrated on training records like lsq: a complex gain per component maps its estimate
// onto the clean target. Where the task states a component's amplitude (the reference is
// a tone of that amplitude), the estimate is the posterior mean on that circle: the
// filter's Gaussian posterior restricted to it is a von Mises law in the phase, whose mean
// shrinks towards 0 while the phase is uncertain (locking on) and sits on the circle once
// it is not, so the amplitude noise the filter lets through is gone. Shared by the kalman
// model and the LSTMs' hybrid input.
#pragma once

#include "lsq.hpp"
#include "phasor.hpp"

#include <array>
#include <complex>
#include <filesystem>
#include <istream>
#include <string>
#include <vector>

namespace sigx::classical {

struct KalmanSettings {
    bool rls = false;
    bool joint = true;
    double q = 0;                 // kalman: process noise variance per sample, per state
    double r = 1;                 // kalman: observation noise variance
    double forgetting = 1;        // rls
    double p0 = 1;                // initial state variance (kalman); rls: P0 = p0 I too
    bool known_amplitude = true;  // the estimate on the circle of the amplitude the task states, where it does
    // That estimate exact while the phase is uncertain (on_circle); false: from the
    // isotropic law there (on_circle_isotropic, a tenth of the cost; the same once locked
    // on): the hybrid LSTMs, whose network corrects the lock-on and which run the tracker
    // afresh at every restart of every epoch.
    bool exact_circle = true;
};

// The filter over one stream. Allocates in its constructor only.
class KalmanTracker {
public:
    KalmanTracker(const Task& task, double sample_rate, double start_time, const KalmanSettings& settings);
    // Back to before the first sample.
    void reset();
    // Forgets the amplitudes (state and covariance back to the prior) but keeps the time:
    // the filter locks on again from the next sample, as at a record's start.
    void restart();
    // Lets the next sample go by unread: the time advances, the amplitudes do not.
    void skip();
    // Takes the next sample; writes each tone's analytic estimate W_k (Re W_k = a cos + b sin).
    void push(double x, std::complex<double>* w);
    // The covariance of tone k's amplitudes (a, b) after the last push: P_aa, P_ab, P_bb.
    std::array<double, 3> covariance(std::size_t k) const;
    // e^{-i w_k t} at the last sample pushed.
    std::complex<double> phasor(std::size_t k) const { return last_[k]; }

private:
    void update(std::size_t from, std::size_t count, double innovation_variance, double e);
    KalmanSettings s_;
    std::size_t kc_, n_;
    std::vector<Phasor> phasors0_, phasors_;
    std::vector<std::complex<double>> last_;  // each phasor's value at the last sample pushed
    std::vector<double> h_, ph_, state_, p_;
};

// The mean of a tone of amplitude `radius` given an estimate v of it whose error is
// Gaussian with covariance `cov` (of Re, Im: the variances and their covariance
// {rr, ri, ii}): the mean over the circle of that Gaussian restricted to it.
std::complex<double> on_circle(std::complex<double> v, const std::array<double, 3>& cov, double radius);
// The same for an isotropic covariance (`variance` per coordinate): a von Mises law in the
// phase of concentration kappa = radius |v| / variance, whose mean is
// radius I1(kappa) / I0(kappa) v / |v|.
std::complex<double> on_circle_isotropic(std::complex<double> v, double variance, double radius);

// What fitting finds: the settings (noise levels, q) and the gains (empty without calibration).
struct KalmanFit {
    KalmanSettings settings;
    std::vector<std::complex<double>> gains;
    double mix_power = 0;

    // Calibrated (or, without gains, divided by each component's nominal gain) estimates,
    // per component, per sample: CalibratedTracker's over the record, restarted at each
    // sample index in `restarts` (ascending). With `from`, it starts at that sample, exactly
    // as if restarted there, and the samples before it are skipped (their estimates 0).
    std::vector<std::vector<double>> estimates(const Input& input, const Task& task,
                                               const std::vector<std::size_t>& restarts = {},
                                               std::size_t from = 0) const;
    // Bit for bit, as text (hexadecimal floating point); read takes the whole text and
    // throws naming its file at anything else (saved state is data, and may be corrupt).
    std::string text() const;
    static KalmanFit read(StateText& in, std::size_t components);
};

// A fit's tracker over one stream with its output mapping: the calibrated gains (or 1 /
// each component's nominal gain) and, with known_amplitude, the estimate on the circle of
// each component's stated amplitude. What the kalman model streams and the hybrids read.
class CalibratedTracker {
public:
    CalibratedTracker(const KalmanFit& fit, const Task& task, double sample_rate, double start_time);
    void reset() { tracker_.reset(); }
    void restart() { tracker_.restart(); }
    void skip() { tracker_.skip(); }
    // Takes the next sample; writes each component's estimate.
    void push(double x, double* y);

private:
    KalmanTracker tracker_;
    std::vector<std::complex<double>> gains_, w_;
    std::vector<double> radii_;  // per component: the stated amplitude, or 0 (none, or not used)
    bool exact_;
};

// Fits on training records (one input channel each): r (unless given, > 0) from the
// residual of a whole-record least-squares fit, the prior variance from the fitted tones'
// power, then (kalman, q not given) q as the best of a grid by the calibrated MSE after the
// first second, and the gains (with `calibrate`, which needs each record's truth).
KalmanFit fit_kalman(const Records& train, KalmanSettings settings, double q_given, double r_given, bool calibrate);

}  // namespace sigx::classical
