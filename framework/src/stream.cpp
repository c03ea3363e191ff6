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

namespace {

// Planar buffers of `channels` x `frames`, and the pointers a block view needs.
struct Buffers {
    Buffers(std::size_t channels, std::size_t frames) : data(channels, Samples(frames)) {
        for (auto& c : data) pointers.push_back(c.data());
    }
    std::vector<Samples> data;
    std::vector<double*> pointers;
};

}  // namespace

StreamSummary stream_model(const StreamOptions& o, Registry registry, const std::atomic<bool>& stop, const Note& note) {
    if (o.block < 1) throw ConfigError({"--block"}, "a block needs at least one sample");
    LoadedModel m = load_saved_model(o.run, o.model, registry, note);
    Streaming* s = guarded(m.who, "extension", [&] { return streaming(*m.model); });
    const std::string who = fmt::format("model '{}' ({})", m.saved.name, m.saved.plugin);
    if (!s)
        throw ConfigError({m.saved.dir.string()},
                          fmt::format("{} cannot stream: it does not offer {}, which only a causal model (each output "
                                      "from the input up to it) can",
                                      who, streaming_id));
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
    if (in->sample_rate() != m.saved.sample_rate)
        throw ConfigError({input_name}, fmt::format("its sample rate is {} Hz; {} was fitted at {} Hz (sigx does not "
                                                    "resample silently)",
                                                    in->sample_rate(), who, m.saved.sample_rate));
    if (in->channels() != m.saved.channels)
        throw ConfigError({input_name},
                          fmt::format("it has {} channel(s); {} reads {}", in->channels(), who, m.saved.channels));
    StreamSummary sum{m.saved.name, 0, 0, in->sample_rate(), 0, false, false};
    const auto channels = static_cast<std::uint32_t>(in->channels());
    try {  // a refusal here says why the model is not causal: the user's to act on
        sum.latency = s->configure(StreamConfig{in->sample_rate(), channels, 0.0, m.task, o.block});
    } catch (const std::exception& e) {
        throw ConfigError({m.saved.dir.string()}, fmt::format("{} cannot stream: {}", who, e.what()));
    } catch (...) {
        throw PluginFailure(
            fmt::format("{} failed in configure: it threw something that is not a std::exception", m.who));
    }
    guarded(m.who, "reset", [&] { s->reset(); });

    const std::string format = !o.format.empty()                                       ? o.format
                               : std::filesystem::path(o.output).extension() == ".wav" ? "wav"
                                                                                       : "raw";
    const std::size_t k = m.task.size();
    auto out =
        format == "wav" ? audio::open_wav_writer(o.output, in->sample_rate(), k) : audio::open_raw_writer(o.output, k);
    Buffers x(channels, o.block), y(k, std::max(o.block, sum.latency));
    const std::vector<const double*> xp(x.pointers.begin(), x.pointers.end());
    std::vector<const double*> from(k);
    std::size_t skip = sum.latency;  // outputs from before the input started
    // Writes the first `frames` of y, less what is still to skip; false when the reader went.
    auto emit = [&](std::size_t frames) {
        const std::size_t drop = std::min(skip, frames);
        skip -= drop;
        for (std::size_t c = 0; c < k; ++c) from[c] = y.pointers[c] + drop;
        return out->write(from.data(), frames - drop);
    };
    const auto start = std::chrono::steady_clock::now();
    while (!(sum.stopped = stop.load())) {
        const std::size_t n = in->read(x.pointers.data(), o.block);
        if (n == 0) {
            sum.stopped = stop.load();
            break;
        }
        guarded(m.who, "process", [&] {
            s->process(ConstBlock{xp.data(), channels, n}, Block{y.pointers.data(), static_cast<std::uint32_t>(k), n});
        });
        sum.frames += n;
        if (!emit(n)) {
            sum.closed = true;
            break;
        }
    }
    if (!sum.closed && sum.latency > 0) {
        guarded(m.who, "flush", [&] {
            s->flush(Block{y.pointers.data(), static_cast<std::uint32_t>(k), sum.latency});
        });
        sum.closed = !emit(sum.latency);
    }
    out->close();
    sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return sum;
}

}  // namespace sigx::host
