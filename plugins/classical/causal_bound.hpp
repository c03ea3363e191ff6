// The causal bound: the error of the best causal estimator under the generator's own
// model of a record, when the one thing unknown is where the record starts. A Bayesian
// filter over that offset: a grid posterior on the frequencies' common period, updated
// sample by sample with the likelihood of each sample under the stated amplitude and
// phase-noise distributions (Gaussian in its mean and variance), and the posterior mean
// of every component as the estimate. No causal model that does not know the start can
// do better on average; one that assumes the assignment's time axis (t = 0 at sample 0)
// can, on the one test set that has it.
#pragma once

#include <sigx/record.hpp>

#include <optional>

namespace sigx::classical {

// A record's mix as the generator made it: sum over tones of mix_weight * A sin(w t + phi),
// A ~ U(amplitude_lo, amplitude_hi), phi ~ phase_scale * U(0, 2 pi), drawn afresh at every
// sample, plus white Gaussian noise of standard deviation white_noise.
struct ToneNoiseModel {
    double amplitude_lo = 1, amplitude_hi = 1, phase_scale = 0, mix_weight = 1, white_noise = 0;
};

// The model a generator states in a record's truth metadata ("model.amplitude_lo",
// "model.amplitude_hi", "model.phase_scale", "model.mix_weight", "model.white_noise"),
// or none when it states none.
std::optional<ToneNoiseModel> noise_model_of(const Metadata& truth);
void describe_noise_model(const ToneNoiseModel& model, Metadata& truth);

// The frequencies' common period in samples at `rate` (each frequency a whole number of
// cycles in it, to 1e-9 relative), or none when there is none of at most `max_samples`.
std::optional<std::size_t> common_period(const Task& task, double rate, std::size_t max_samples = 200000);

// The Bayes estimate of every component at every sample, from the input up to it. With
// a common period, over the record's offset in it (the tones' joint phase); without one,
// each tone over its own phase on a grid of 720, the other tones counted as noise: an
// upper estimate of the bound rather than the bound.
Prediction causal_bayes(const Input& input, const Task& task, const ToneNoiseModel& model,
                        std::optional<std::size_t> period);

}  // namespace sigx::classical
