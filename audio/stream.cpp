#include <sigx/audio_stream.hpp>

#include <fmt/format.h>
#include <sndfile.h>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace sigx::audio {

namespace {

namespace fs = std::filesystem;

std::string describe(const std::string& s, const char* stdio) { return s == "-" ? stdio : s; }

void check_finite(const float* or_null, const double* values, std::size_t n, const std::string& name,
                  std::uint64_t first) {
    for (std::size_t i = 0; i < n; ++i) {
        const double v = or_null ? static_cast<double>(or_null[i]) : values[i];
        if (!std::isfinite(v))
            throw std::runtime_error(fmt::format("{}: sample {} is not a finite number", name, first + i));
    }
}

class SoundReader final : public FrameReader {
public:
    explicit SoundReader(const std::string& source) : name_(describe(source, "standard input")) {
        SF_INFO sf{};
        file_ =
            source == "-" ? sf_open_fd(STDIN_FILENO, SFM_READ, &sf, SF_FALSE) : sf_open(source.c_str(), SFM_READ, &sf);
        if (!file_)
            throw std::runtime_error(fmt::format("{}: cannot be read as sound: {}", name_, sf_strerror(nullptr)));
        if (sf.channels < 1 || sf.samplerate < 1) {
            sf_close(file_);
            throw std::runtime_error(
                fmt::format("{}: the header gives {} channels at {} Hz", name_, sf.channels, sf.samplerate));
        }
        rate_ = sf.samplerate;
        channels_ = static_cast<std::size_t>(sf.channels);
    }
    ~SoundReader() override { sf_close(file_); }
    double sample_rate() const override { return rate_; }
    std::size_t channels() const override { return channels_; }
    std::size_t read(double* const* planar, std::size_t max) override {
        buffer_.resize(max * channels_);  // allocates once: the block size does not grow
        const sf_count_t got = sf_readf_double(file_, buffer_.data(), static_cast<sf_count_t>(max));
        if (got < 0 || sf_error(file_) != SF_ERR_NO_ERROR)
            throw std::runtime_error(fmt::format("{}: read error: {}", name_, sf_strerror(file_)));
        const auto n = static_cast<std::size_t>(got);
        check_finite(nullptr, buffer_.data(), n * channels_, name_, frames_ * channels_);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t c = 0; c < channels_; ++c) planar[c][i] = buffer_[i * channels_ + c];
        frames_ += n;
        return n;
    }

private:
    std::string name_;
    SNDFILE* file_ = nullptr;
    double rate_ = 0;
    std::size_t channels_ = 0;
    std::vector<double> buffer_;
    std::uint64_t frames_ = 0;
};

class RawReader final : public FrameReader {
public:
    RawReader(const std::string& source, double rate, std::size_t channels, const std::atomic<bool>& stop)
        : name_(describe(source, "standard input")), rate_(rate), channels_(channels), stop_(stop) {
        if (!(rate > 0) || channels < 1)
            throw std::runtime_error(fmt::format("{}: raw samples need a rate and a channel count", name_));
        fd_ = source == "-" ? STDIN_FILENO : ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) throw std::runtime_error(fmt::format("{}: cannot be opened: {}", name_, std::strerror(errno)));
    }
    ~RawReader() override {
        if (fd_ != STDIN_FILENO) ::close(fd_);
    }
    double sample_rate() const override { return rate_; }
    std::size_t channels() const override { return channels_; }
    std::size_t read(double* const* planar, std::size_t max) override {
        const std::size_t frame_bytes = channels_ * sizeof(float);
        bytes_.resize(max * frame_bytes);
        // Whole frames only (a partial one waits for the rest), as many as have come: a
        // live input is passed on as it arrives, a file a full block at a time.
        while (!eof_ && !stop_.load() && held_ < bytes_.size()) {
            if (!ready_now()) {
                if (held_ >= frame_bytes) break;
                pollfd p{fd_, POLLIN, 0};
                ::poll(&p, 1, 100);
                continue;
            }
            const ssize_t got = ::read(fd_, bytes_.data() + held_, bytes_.size() - held_);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) throw std::runtime_error(fmt::format("{}: read error: {}", name_, std::strerror(errno)));
            if (got == 0) eof_ = true;
            held_ += static_cast<std::size_t>(got);
        }
        if (eof_ && held_ > 0 && held_ < frame_bytes)
            throw std::runtime_error(
                fmt::format("{}: ends inside a frame ({} bytes left, frames of {} bytes: {} "
                            "channel(s) of float32)",
                            name_, held_, frame_bytes, channels_));
        const std::size_t n = held_ / frame_bytes;
        samples_.resize(max * channels_);
        std::memcpy(samples_.data(), bytes_.data(), n * frame_bytes);
        check_finite(samples_.data(), nullptr, n * channels_, name_, frames_ * channels_);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t c = 0; c < channels_; ++c) planar[c][i] = samples_[i * channels_ + c];
        held_ -= n * frame_bytes;
        std::memmove(bytes_.data(), bytes_.data() + n * frame_bytes, held_);
        frames_ += n;
        return n;
    }

private:
    bool ready_now() const {
        pollfd p{fd_, POLLIN, 0};
        return ::poll(&p, 1, 0) > 0;
    }
    std::string name_;
    double rate_;
    std::size_t channels_;
    const std::atomic<bool>& stop_;
    int fd_ = -1;
    bool eof_ = false;
    std::vector<char> bytes_;
    std::size_t held_ = 0;
    std::vector<float> samples_;
    std::uint64_t frames_ = 0;
};

// Bytes to standard output, or to a hidden temporary file renamed into place at close.
class ByteSink {
public:
    explicit ByteSink(const std::string& target) : target_(target) {
        if (target == "-") {
            out_ = stdout;
            return;
        }
        const fs::path file(target);
        std::error_code ec;
        if (fs::exists(file, ec) && !fs::is_regular_file(file, ec)) {  // a device or a named pipe: as it is
            out_ = std::fopen(target.c_str(), "wb");
            if (!out_) throw std::runtime_error(fmt::format("cannot write {}: {}", target, std::strerror(errno)));
            return;
        }
        std::string name = ".";  // appended piecewise: GCC 12 warns falsely on "." + s + ".tmp"
        name.append(file.filename().string()).append(".tmp").append(std::to_string(::getpid()));
        tmp_ = file.parent_path() / name;
        out_ = std::fopen(tmp_.c_str(), "wb");
        if (!out_) throw std::runtime_error(fmt::format("cannot write {}: {}", target, std::strerror(errno)));
    }
    ~ByteSink() {
        if (out_ && out_ != stdout) std::fclose(out_);
        if (!tmp_.empty() && out_) {  // never closed: leave nothing half-written
            std::error_code ec;
            fs::remove(tmp_, ec);
        }
    }
    bool seekable() const { return !tmp_.empty(); }
    // False when the reader has gone.
    bool write(const void* data, std::size_t bytes) {
        if (bytes == 0) return true;
        if (std::fwrite(data, 1, bytes, out_) == bytes) return true;
        if (errno == EPIPE) return false;
        throw std::runtime_error(
            fmt::format("cannot write {}: {}", describe(target_, "standard output"), std::strerror(errno)));
    }
    void rewrite(long at, const void* data, std::size_t bytes) {
        if (std::fseek(out_, at, SEEK_SET) != 0 || std::fwrite(data, 1, bytes, out_) != bytes)
            throw std::runtime_error(fmt::format("cannot write {}: {}", target_, std::strerror(errno)));
    }
    bool close() {
        if (out_ == stdout) return std::fflush(out_) == 0 || errno != EPIPE;
        const bool ok = std::fclose(out_) == 0;
        out_ = nullptr;
        if (tmp_.empty()) return ok;
        std::error_code ec;
        if (ok) fs::rename(tmp_, target_, ec);
        if (!ok || ec) {
            fs::remove(tmp_, ec);
            throw std::runtime_error(fmt::format("cannot write {}: {}", target_, ok ? ec.message() : "closing failed"));
        }
        return true;
    }

private:
    std::string target_;
    fs::path tmp_;
    std::FILE* out_ = nullptr;
};

// Interleaved float32, after an optional WAV header.
class FloatWriter final : public FrameWriter {
public:
    FloatWriter(const std::string& target, std::size_t channels, double wav_rate)
        : sink_(target), channels_(channels), wav_(wav_rate > 0) {
        if (wav_) header(static_cast<std::uint32_t>(std::lround(wav_rate)), 0xFFFFFFFFu);
    }
    bool write(const double* const* planar, std::size_t frames) override {
        samples_.resize(frames * channels_);
        for (std::size_t i = 0; i < frames; ++i)
            for (std::size_t c = 0; c < channels_; ++c) samples_[i * channels_ + c] = static_cast<float>(planar[c][i]);
        data_bytes_ += samples_.size() * sizeof(float);
        return sink_.write(samples_.data(), samples_.size() * sizeof(float));
    }
    void close() override {
        // A file's WAV header gets its real sizes (up to 4 GiB; past that it stays a
        // streamed one, which readers take to the end of the file).
        if (wav_ && sink_.seekable() && data_bytes_ <= 0xFFFFFFFFull - 36) {
            const auto riff = static_cast<std::uint32_t>(36 + data_bytes_),
                       data = static_cast<std::uint32_t>(data_bytes_);
            sink_.rewrite(4, &riff, 4);
            sink_.rewrite(40, &data, 4);
        }
        sink_.close();
    }

private:
    // The 44-byte header of IEEE float PCM (little-endian fields: this machine's order).
    void header(std::uint32_t rate, std::uint32_t data_bytes) {
        const auto ch = static_cast<std::uint16_t>(channels_);
        const std::uint32_t riff = data_bytes == 0xFFFFFFFFu ? data_bytes : 36 + data_bytes, fmt_size = 16,
                            byte_rate = rate * ch * 4;
        const std::uint16_t format = 3, align = static_cast<std::uint16_t>(ch * 4), bits = 32;
        char h[44];
        std::memcpy(h, "RIFF", 4), std::memcpy(h + 4, &riff, 4), std::memcpy(h + 8, "WAVEfmt ", 8);
        std::memcpy(h + 16, &fmt_size, 4), std::memcpy(h + 20, &format, 2), std::memcpy(h + 22, &ch, 2);
        std::memcpy(h + 24, &rate, 4), std::memcpy(h + 28, &byte_rate, 4), std::memcpy(h + 32, &align, 2);
        std::memcpy(h + 34, &bits, 2), std::memcpy(h + 36, "data", 4), std::memcpy(h + 40, &data_bytes, 4);
        sink_.write(h, sizeof h);
    }
    ByteSink sink_;
    std::size_t channels_;
    bool wav_;
    std::vector<float> samples_;
    std::uint64_t data_bytes_ = 0;
};

}  // namespace

std::unique_ptr<FrameReader> open_sound_reader(const std::string& source) {
    return std::make_unique<SoundReader>(source);
}
std::unique_ptr<FrameReader> open_raw_reader(const std::string& source, double sample_rate, std::size_t channels,
                                             const std::atomic<bool>& stop) {
    return std::make_unique<RawReader>(source, sample_rate, channels, stop);
}
std::unique_ptr<FrameWriter> open_wav_writer(const std::string& target, double sample_rate, std::size_t channels) {
    return std::make_unique<FloatWriter>(target, channels, sample_rate);
}
std::unique_ptr<FrameWriter> open_raw_writer(const std::string& target, std::size_t channels) {
    return std::make_unique<FloatWriter>(target, channels, 0.0);
}

}  // namespace sigx::audio
