// Windowed multitaper regression with Thomson's harmonic F-test, as EEGLAB's CleanLine and
// MNE-Python's notch_filter(method="spectrum_fit") remove line noise: in overlapping
// windows, each tone's complex amplitude is regressed on the discrete prolate spheroidal
// (Slepian) tapers' spectra at the frequency, within the tone's tolerance, that maximises
// Thomson's F statistic; a line is kept only where that F is significant; the windows'
// fitted sinusoids are cross-faded (Hann weights, which sum to one at half overlap).
// Non-causal.
#pragma once

#include <sigx/record.hpp>

#include <complex>
#include <cstddef>
#include <vector>

namespace sigx::classical {

// The first `count` discrete prolate spheroidal sequences of `length` samples and
// time-half-bandwidth product `nw` (bandwidth nw / length cycles per sample), as
// scipy.signal.windows.dpss: each of unit energy, the even ones with a positive sum, the
// odd ones starting positive. From the tridiagonal matrix that commutes with the
// concentration operator: its largest eigenvalues by bisection, their vectors by inverse
// iteration. Throws unless 1 <= count <= min(2 nw, length) and length >= 2.
std::vector<std::vector<double>> dpss(std::size_t length, double nw, std::size_t count);

struct MultitaperSettings {
    double window = 1;      // s
    double nw = 2;          // time-half-bandwidth product: 2 nw - 1 tapers, a bandwidth of nw / window Hz
    double p_value = 0.05;  // a line is removed where the F test's p is below this
};

// The F statistic of a line at frequency `f` (cycles per sample) in `x` and its complex
// amplitude mu (the line is 2 Re(mu e^{2 pi i f n})), from tapers `v`:
//   Y_k = sum_n x_n v_k(n) e^{-2 pi i f n},  U_k = sum_n v_k(n),
//   mu = sum U_k Y_k / sum U_k^2,  F = (K - 1) |mu|^2 sum U_k^2 / sum |Y_k - mu U_k|^2,
// F-distributed with 2 and 2K - 2 degrees of freedom where there is no line.
struct Line {
    double frequency = 0, f = 0;
    std::complex<double> mu;
};
Line harmonic_f_test(const double* x, const std::vector<std::vector<double>>& v, double frequency);
// P(F > f) for 2 and 2K - 2 degrees of freedom: (1 + f / (K - 1))^-(K - 1).
double f_test_p(double f, std::size_t tapers);

// Per component: the fitted lines over the record (Re is the component, as lsq's W), and
// the frequency found (Hz; the nominal where no line was found).
struct MultitaperFit {
    std::vector<std::vector<double>> lines, frequency;
};
MultitaperFit multitaper_lines(const Input& input, const Task& task, const MultitaperSettings& settings);

}  // namespace sigx::classical
