// Least-squares fit of a sine and a cosine at each known frequency, jointly, over the
// whole record or over a causal sliding window, and the calibration that maps the fit's
// analytic estimate onto the clean target (a complex gain per component, fitted on
// training records). Shared by the lsq model and the diagnose evaluator.
#pragma once

#include "phasor.hpp"

#include <sigx/files.hpp>
#include <sigx/host.hpp>
#include <sigx/record.hpp>

#include <complex>
#include <filesystem>
#include <functional>
#include <istream>
#include <vector>

namespace sigx::classical {

// How the fit is made: over the whole record (window = 0) or over the last `window`
// samples (causal), with Tikhonov regularisation `ridge` (added to the Gram matrix, in
// squared mix units): negligible for long windows, it keeps the fits of the first few
// samples of a causal window from amplifying noise without bound.
struct LsqOptions {
    std::size_t window = 0;
    double ridge = 0.01;
};

// The joint fit of K components works on (2 K)^2 systems: memory grows with the square of
// K, time faster still. More components are refused with a clear error
// instead of running out of memory (10,000 would need 3.2 GB for one matrix).
inline constexpr std::size_t lsq_max_components = 500;

// The causal sliding fit, one sample at a time: what lsq_analytic computes for a window,
// as a stream (the lsq model streams through it). Memory: the window's products, grown
// over its first samples, then fixed.
class SlidingLsq {
public:
    SlidingLsq(const Task& task, double sample_rate, double start_time, const LsqOptions& options);
    // Back to before the first sample.
    void reset();
    // Takes the next sample of the mix and writes each component's W for it into w[0..K).
    void push(double x, std::complex<double>* w);
    // The same, calibrated: y_k = Re(g_k W_k) for the given gains (the same on every call
    // until reset()). Once the window is full this is a fixed linear map of the window's
    // correlations, folded into one (K x 2K) matrix: about twice as fast.
    void push(double x, const std::vector<std::complex<double>>& gains, double* y);

private:
    void slide(double x);  // the running sums and the Gram matrix, for the next sample
    void fit();            // coef from the running sums
    void grow_gram();
    std::size_t window_, kc_, dim_;
    double ridge_;
    std::vector<double> omegas_;              // rad per sample
    std::vector<Phasor> now0_, now_, start_;  // e^{-i w t} at the newest sample and at the window's first
    std::vector<double> gram_, inv_;          // (2K)^2: in window-relative time, depends on the window's length only
    std::size_t length_ = 0, t_ = 0;          // the window's length so far, samples taken
    std::vector<std::complex<double>> x_, last_;  // running sums; e^{i w_k (M - 1)} at the window's last sample
    std::vector<std::vector<std::complex<double>>> ring_;  // products that will leave the window
    std::vector<double> b_, coef_;
    std::vector<double> folded_;  // (K x 2K): y = folded_ b once the window is full; empty until then
};

// Per component, per sample: W such that the estimate of the component's contribution to
// the mix is Re(W). In a causal window, W at sample t uses only samples (t - N, t].
// Throws std::runtime_error beyond lsq_max_components.
std::vector<std::vector<std::complex<double>>> lsq_analytic(const Input& record, const Task& task,
                                                            const LsqOptions& options);

// Per component, per sample: an estimator's analytic estimate W (its real part the
// component's contribution to the mix).
using Analytic = std::vector<std::vector<std::complex<double>>>;
using AnalyticFn = std::function<Analytic(const Record&)>;

// Throws unless there are records and every one has a truth.
void check_truth(const Records& records);
// Complex gains g_k minimising sum (reference_k - Re(g_k W_k))^2 over the records, W from
// `analytic`: the calibration of any estimator of that form (lsq, lms, tracker).
std::vector<std::complex<double>> fit_gains(const std::vector<const Record*>& records, const AnalyticFn& analytic);

// Complex gains g_k = 1 / c_k, c_k the mean complex gain with which reference k appears in
// the mix (the mix regressed on the references and their quadratures, every sample once):
// the calibration of an estimator that is unbiased for the mix's tones (kalman once locked
// on). Every record needs a truth and one channel.
std::vector<std::complex<double>> fit_source_gains(const std::vector<const Record*>& records);

// Complex gains g_k minimising sum (reference_k - Re(g_k W_k))^2 over the records. A
// whole-record fit is a single complex amplitude per record, which two calibration
// parameters match exactly: with one record the calibration would fit that record's
// noise (at phase_scale = 1, garbage of MSE >> 0.5). So whole-record calibration cuts
// each record into `segments` pieces and fits each on its own: independent draws
// against which the gains are estimated, not interpolated.
// Every record needs a truth.
std::vector<std::complex<double>> fit_calibration(const Records& records, const LsqOptions& options,
                                                  std::size_t segments = 10);

// Saving and showing a calibration (lsq, kalman): the gains as text, a count and then
// one line each in hexadecimal floating point, so that they read back bit for bit;
// read_gains throws naming the file when they cannot be read, are not finite or are not
// `components` (unless `components` is 0).
std::string gains_text(const std::vector<std::complex<double>>& gains);
std::vector<std::complex<double>> read_gains(StateText& in, std::size_t components);
// One log line per component: its gain (relative to the nominal) and phase.
void report_gains(Host& host, const Task& task, const std::vector<std::complex<double>>& gains);

// The component estimates Re(g_k W_k); without calibration g_k = 1 / the component's gain.
Prediction lsq_predict(const Input& record, const Task& task, const LsqOptions& options,
                       const std::vector<std::complex<double>>* gains);

}  // namespace sigx::classical
