// Sound in and out a block at a time, in constant memory (`sigx stream`): from a file or
// standard input, to a file or standard output, as a sound file (libsndfile) or as raw
// 32-bit float samples, interleaved, in this machine's byte order.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace sigx::audio {

class FrameReader {
public:
    virtual ~FrameReader() = default;
    virtual double sample_rate() const = 0;
    virtual std::size_t channels() const = 0;
    // Up to `max` frames into planar buffers (one per channel); 0 at the end of the input
    // or once `stop` is set. Throws std::runtime_error naming the input.
    virtual std::size_t read(double* const* planar, std::size_t max) = 0;
};

// `source` is a path or "-" (standard input). A sound file is anything libsndfile reads
// (from standard input: WAV, AU and other formats it can read from a pipe).
std::unique_ptr<FrameReader> open_sound_reader(const std::string& source);
// Raw float32: the rate and channel count are not in the data, so they are given.
// Waiting for input, it checks `stop` (e.g. set by Ctrl-C) every 100 ms.
std::unique_ptr<FrameReader> open_raw_reader(const std::string& source, double sample_rate, std::size_t channels,
                                             const std::atomic<bool>& stop);

class FrameWriter {
public:
    virtual ~FrameWriter() = default;
    // Writes `frames` frames from planar buffers. Returns false when the reader has gone
    // (a closed pipe): nothing more can be written. Throws on any other failure.
    virtual bool write(const double* const* planar, std::size_t frames) = 0;
    // Finishes the output: a file is renamed into place only now, complete, so a reader
    // never sees half of one.
    virtual void close() = 0;
};

// `target` is a path or "-" (standard output). WAV is 32-bit float; to standard output
// its header gives no length (as streaming writers do), since it cannot be rewritten.
std::unique_ptr<FrameWriter> open_wav_writer(const std::string& target, double sample_rate, std::size_t channels);
std::unique_ptr<FrameWriter> open_raw_writer(const std::string& target, std::size_t channels);

}  // namespace sigx::audio
