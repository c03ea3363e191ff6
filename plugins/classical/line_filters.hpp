// Line removal as the field does it with filters: IIR notch and comb filters, as
// scipy.signal designs them (iirnotch, iircomb), run causally or forward-backward (zero
// phase), and Widrow's adaptive noise canceller (LMS on a sine and a cosine reference at
// each tone). Each gives every component's part of what it removes, so that the
// components sum to the removed lines.
#pragma once

#include <sigx/record.hpp>

#include <array>
#include <complex>
#include <cstddef>
#include <vector>

namespace sigx::classical {

// One second-order section, a0 = 1: y = b0 x + b1 x' + b2 x'' - a1 y' - a2 y''.
struct Biquad {
    double b0 = 1, b1 = 0, b2 = 0, a1 = 0, a2 = 0;
};

// scipy.signal.iirnotch(frequency, q, fs=sample_rate): a notch at `frequency` whose -3 dB
// bandwidth is frequency / q (Orfanidis, Introduction to Signal Processing, 11.3).
Biquad iirnotch(double frequency, double q, double sample_rate);

// scipy.signal.iircomb(frequency, q, ftype="notch", fs=sample_rate): notches at every
// multiple of `frequency` (0 Hz included) up to the Nyquist frequency, each frequency / q
// wide at -3 dB: y[n] = b (x[n] - x[n - period]) + a y[n - period]. Throws unless the
// sample rate is a whole multiple of `frequency` (as scipy does).
struct Comb {
    std::size_t period = 1;
    double b = 1, a = 0;
};
Comb iircomb(double frequency, double q, double sample_rate);

// The notch filters of a task. Every component has a notch at its frequency, q from its
// tolerance (`q` > 0: that q for every one); with `comb`, each family (a component and
// its harmonics) is first removed by one comb at its fundamental, and the comb's output
// is split between the family's members by their notches. Component k's output is what
// its filter removes from what reaches it, so the outputs sum to all that was removed.
struct NotchDesign {
    std::vector<Biquad> notches;  // per component, in task order
    struct Family {
        Comb comb;
        std::vector<std::size_t> members;  // component indices; the first is the fundamental
    };
    std::vector<Family> combs;  // empty without `comb`
};
// Q from a tolerance: the -3 dB band spans the tolerance on either side (q = f / (2 tol)),
// or `exact_q` for a tone with no tolerance.
inline constexpr double exact_q = 30;
NotchDesign design_notches(const Task& task, double sample_rate, double q, bool comb);

// The causal filters over a stream, a sample at a time. Allocates in its constructor only.
class NotchFilter {
public:
    explicit NotchFilter(const NotchDesign& design);
    void reset();
    // Takes the next sample; writes each component's part of what is removed into y.
    void push(double x, double* y);

private:
    NotchDesign d_;
    std::vector<std::array<double, 2>> state_;  // per notch: transposed direct form II
    std::vector<std::vector<double>> x_, y_;    // per comb: its last `period` inputs and outputs
    std::size_t at_ = 0;                        // where the combs' rings are
    std::vector<double> split_;
};

// The whole record, each component's part: causal, or forward-backward (zero phase: the
// filters' magnitudes squared, no delay) with scipy.signal.filtfilt's treatment of the
// record's ends (odd extension, passes started at rest).
std::vector<Samples> notch_components(const Input& input, const NotchDesign& design, bool zero_phase);

// Widrow's adaptive noise canceller: per component, weights on a cosine and a sine at its
// nominal frequency, adapted by LMS with step mu (per component) on the canceller's error
// x - sum of estimates. With reference amplitude 1 it is a notch of -3 dB bandwidth
// mu fs / pi Hz, and on a lone clean tone its error decays as (1 - mu)^n.
class LmsCanceller {
public:
    LmsCanceller(const Task& task, double sample_rate, double start_time, std::vector<double> mu);
    void reset();
    // Takes the next sample; writes each component's analytic estimate W (Re W is the
    // component) into w.
    void push(double x, std::complex<double>* w);

private:
    std::vector<double> mu_;
    std::vector<std::complex<double>> start_, step_, z_, a_;  // reference e^{i w t}; weights a - i b
    std::size_t n_ = 0;
};
// mu from a tolerance: a -3 dB band spanning it on either side (mu = 2 pi tol / fs), or a
// 1 Hz band for a tone with no tolerance.
std::vector<double> lms_steps(const Task& task, double sample_rate);

}  // namespace sigx::classical
