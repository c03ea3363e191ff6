// e^{-i omega t_n} along a record, by rotation (one complex multiply per sample),
// renormalised against the exact value every 256 samples so rounding cannot drift.
#pragma once

#include <complex>
#include <cstddef>

namespace sigx::classical {

constexpr double two_pi = 6.283185307179586476925286766559;

class Phasor {
public:
    Phasor(double frequency, double sample_rate, double start_time)
        : omega_(two_pi * frequency),
          fs_(sample_rate),
          t0_(start_time),
          step_(std::polar(1.0, -omega_ / sample_rate)),
          z_(exact(0)) {}

    std::complex<double> value() const { return z_; }
    void advance() {
        ++n_;
        z_ = (n_ % 256 == 0) ? exact(n_) : z_ * step_;
    }

private:
    std::complex<double> exact(std::size_t n) const {
        return std::polar(1.0, -omega_ * (t0_ + static_cast<double>(n) / fs_));
    }
    double omega_, fs_, t0_;
    std::complex<double> step_, z_;
    std::size_t n_ = 0;
};

}  // namespace sigx::classical
