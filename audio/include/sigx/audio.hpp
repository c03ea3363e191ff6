// Sound files through libsndfile: what the recording generator reads (WAV, FLAC, OGG and
// anything else libsndfile knows) and what the host writes (every model's extracted
// components, as float WAV). A static library of its own (audio/), neither host nor SDK,
// so that the host and a plugin can both link it.
#pragma once

#include <sigx/record.hpp>

#include <cstdint>
#include <filesystem>
#include <vector>

namespace sigx::audio {

struct Info {
    double sample_rate = 0;
    std::size_t channels = 0;
    std::uint64_t frames = 0;
};

struct Audio {
    double sample_rate = 0;
    std::vector<Samples> channels;  // planar
};

// The header alone. Throws std::runtime_error naming the file and libsndfile's reason.
// `frames` is what the header promises (for a WAV cut short, more than the file holds).
Info info(const std::filesystem::path& file);

// The whole file, every channel. A file shorter than its header says is refused as
// truncated (a message containing "truncated"): WAV/RF64 by the data chunk's size, FLAC
// and Ogg by their stream. libsndfile itself reads a cut WAV as a shorter one.
Audio read(const std::filesystem::path& file);

// 32-bit float WAV, one channel per entry (all of one length), written to a temporary
// file and renamed, so a reader never sees half a file. Throws naming the file.
void write_wav(const std::filesystem::path& file, double sample_rate, const std::vector<const Samples*>& channels);

}  // namespace sigx::audio
