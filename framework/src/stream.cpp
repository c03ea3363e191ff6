#include <sigx/audio_stream.hpp>
#include <sigx/host/apply.hpp>
#include <sigx/host/errors.hpp>
#include <sigx/host/guard.hpp>
#include <sigx/host/stream.hpp>
#include <sigx/stream.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>

namespace sigx::host {

ModelStream::ModelStream(LoadedModel& m, double sample_rate, std::uint32_t channels, std::size_t max_block,
                         const std::string& source)
    : m_(m), channels_(channels), max_block_(max_block) {
    if (max_block < 1) throw ConfigError({source}, "a block needs at least one sample");
    s_ = guarded(m.who, "extension", [&] { return streaming(*m.model); });
    const std::string who = fmt::format("model '{}' ({})", m.saved.name, m.saved.plugin);
    if (!s_)
        throw ConfigError({m.saved.dir.string()},
                          fmt::format("{} cannot stream: it does not offer {}, which only a causal model (each output "
                                      "from the input up to it) can",
                                      who, streaming_id));
    if (sample_rate != m.saved.sample_rate)
        throw ConfigError({source}, fmt::format("its sample rate is {} Hz; {} was fitted at {} Hz (sigx does not "
                                                "resample silently)",
                                                sample_rate, who, m.saved.sample_rate));
    if (channels != m.saved.channels)
        throw ConfigError({source}, fmt::format("it has {} channel(s); {} reads {}", channels, who, m.saved.channels));
    try {  // a refusal here says why the model is not causal: the user's to act on
        latency_ = s_->configure(StreamConfig{sample_rate, channels, 0.0, m.task, max_block});
    } catch (const std::exception& e) {
        throw ConfigError({m.saved.dir.string()}, fmt::format("{} cannot stream: {}", who, e.what()));
    } catch (...) {
        throw PluginFailure(
            fmt::format("{} failed in configure: it threw something that is not a std::exception", m.who));
    }
    y_.assign(m.task.size(), Samples(std::max(max_block, latency_)));
    for (auto& c : y_) yp_.push_back(c.data());
    out_.resize(y_.size());
    reset();
}

void ModelStream::reset() {
    guarded(m_.who, "reset", [&] { s_->reset(); });
    skip_ = latency_;
}

std::size_t ModelStream::emit(std::size_t frames) {
    const std::size_t drop = std::min(skip_, frames);
    skip_ -= drop;
    for (std::size_t c = 0; c < y_.size(); ++c) out_[c] = yp_[c] + drop;
    return frames - drop;
}

std::size_t ModelStream::process(const double* const* in, std::size_t frames) {
    if (frames > max_block_)
        throw std::invalid_argument(
            fmt::format("a block of {} frames; the stream takes at most {}", frames, max_block_));
    const auto k = static_cast<std::uint32_t>(y_.size());
    guarded(m_.who, "process", [&] { s_->process(ConstBlock{in, channels_, frames}, Block{yp_.data(), k, frames}); });
    return emit(frames);
}

std::size_t ModelStream::flush() {
    if (latency_ == 0) return 0;
    const auto k = static_cast<std::uint32_t>(y_.size());
    guarded(m_.who, "flush", [&] { s_->flush(Block{yp_.data(), k, latency_}); });
    return emit(latency_);
}

StreamSummary stream_model(const StreamOptions& o, Registry registry, const std::atomic<bool>& stop, const Note& note) {
    if (o.block < 1) throw ConfigError({"--block"}, "a block needs at least one sample");
    LoadedModel m = load_saved_model(o.run, o.model, registry, note);
    if (!o.quiet)
        for (const auto& line : m.code) note(line);
    // Raw samples carry no header: a sound file read as raw would give its header as samples.
    if (o.rate > 0 && o.input != "-") {
        std::string ext = std::filesystem::path(o.input).extension().string();
        for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (ext == ".wav" || ext == ".flac" || ext == ".ogg" || ext == ".aiff" || ext == ".au")
            throw ConfigError({o.input},
                              "a sound file, read with its own header: leave out --rate (it is for raw "
                              "float32 input)");
    }
    std::unique_ptr<audio::FrameReader> in;
    try {
        in = o.rate > 0 ? audio::open_raw_reader(o.input, o.rate, o.channels, stop) : audio::open_sound_reader(o.input);
    } catch (const std::runtime_error& e) {
        throw file_error(o.input, e.what());
    }
    const std::string input_name = o.input == "-" ? "standard input" : o.input;
    const auto channels = static_cast<std::uint32_t>(in->channels());
    ModelStream stream(m, in->sample_rate(), channels, o.block, input_name);
    StreamSummary sum{m.saved.name, 0, stream.latency(), in->sample_rate(), 0, false, false};

    const std::string format = !o.format.empty()                                       ? o.format
                               : std::filesystem::path(o.output).extension() == ".wav" ? "wav"
                                                                                       : "raw";
    const std::size_t k = m.task.size();
    auto out =
        format == "wav" ? audio::open_wav_writer(o.output, in->sample_rate(), k) : audio::open_raw_writer(o.output, k);
    std::vector<Samples> x(channels, Samples(o.block));
    std::vector<double*> xp;
    for (auto& c : x) xp.push_back(c.data());
    const auto start = std::chrono::steady_clock::now();
    while (!(sum.stopped = stop.load())) {
        const std::size_t n = in->read(xp.data(), o.block);
        if (n == 0) {
            sum.stopped = stop.load();
            break;
        }
        sum.frames += n;
        if (!out->write(stream.output(), stream.process(xp.data(), n))) {
            sum.closed = true;
            break;
        }
    }
    if (!sum.closed) sum.closed = !out->write(stream.output(), stream.flush());
    out->close();
    sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return sum;
}

}  // namespace sigx::host
