#include <sigx/audio.hpp>

#include <fmt/format.h>
#include <sndfile.h>

#include <unistd.h>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>

namespace sigx::audio {

namespace {

struct Closer {
    void operator()(SNDFILE* f) const { sf_close(f); }
};
using File = std::unique_ptr<SNDFILE, Closer>;

File open_read(const std::filesystem::path& file, SF_INFO& sf) {
    sf = SF_INFO{};
    File f(sf_open(file.c_str(), SFM_READ, &sf));
    if (!f)
        throw std::runtime_error(fmt::format("{}: cannot be read as sound: {}", file.string(), sf_strerror(nullptr)));
    if (sf.channels < 1 || sf.samplerate < 1)
        throw std::runtime_error(
            fmt::format("{}: the header gives {} channels at {} Hz", file.string(), sf.channels, sf.samplerate));
    // A cut-off Ogg stream has no last page, so no length: libsndfile says SF_COUNT_MAX.
    if (sf.frames < 0 || sf.frames == SF_COUNT_MAX)
        throw std::runtime_error(
            fmt::format("{}: truncated or unfinished: its length cannot be found (the end of the stream is missing)",
                        file.string()));
    return f;
}

// libsndfile takes the length of an uncompressed file from its size: a WAV cut short
// (a copy interrupted, a disk full) opens and reads without an error, just shorter
// (libsndfile 1.2: SF_INFO::frames already counts only the frames present). So for the
// RIFF family (WAV, WAVEX, RF64, BW64) the data chunk's size is read from the header
// here: the frames it promises, or nothing where the header does not say, e.g. a writer
// that streamed and left a placeholder (0, or 0x7ffff000 as espeak-ng --stdout writes:
// any size from 0x7fff0000 on is taken as one, so a cut-off WAV of more than 2 GiB
// passes unnoticed). FLAC and Ogg carry their length in the stream: a truncated one
// fails while reading, which read() reports. Other uncompressed formats (AIFF, AU, W64,
// CAF) are not checked.
std::optional<std::uint64_t> promised_frames(const std::filesystem::path& file, const SF_INFO& sf) {
    const int major = sf.format & SF_FORMAT_TYPEMASK;
    if (major != SF_FORMAT_WAV && major != SF_FORMAT_WAVEX && major != SF_FORMAT_RF64) return std::nullopt;
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    std::error_code ec;
    const std::uint64_t size = std::filesystem::file_size(file, ec);
    if (ec) return std::nullopt;
    std::array<unsigned char, 12> head{};
    if (!in.read(reinterpret_cast<char*>(head.data()), head.size())) return std::nullopt;
    const auto tag = [](const unsigned char* p, const char* id) { return std::memcmp(p, id, 4) == 0; };
    const bool big_endian = tag(head.data(), "RIFX");
    const bool rf64 = tag(head.data(), "RF64") || tag(head.data(), "BW64");
    if (!(tag(head.data(), "RIFF") || big_endian || rf64) || !tag(head.data() + 8, "WAVE")) return std::nullopt;
    const auto number = [&](const unsigned char* p, int bytes) {
        std::uint64_t v = 0;
        for (int i = 0; i < bytes; ++i) {
            const int at = big_endian ? i : bytes - 1 - i;
            v = (v << 8) | p[at];
        }
        return v;
    };
    std::uint64_t ds64_data = 0, block_align = 0, pos = 12;
    for (int chunks = 0; chunks < 10000 && pos + 8 <= size; ++chunks) {
        std::array<unsigned char, 28> c{};
        in.seekg(static_cast<std::streamoff>(pos));
        if (!in.read(reinterpret_cast<char*>(c.data()), 8)) return std::nullopt;
        const std::uint64_t length = number(c.data() + 4, 4);
        if (tag(c.data(), "ds64") || tag(c.data(), "fmt ")) {
            const int want = tag(c.data(), "ds64") ? 16 : 14;
            if (!in.read(reinterpret_cast<char*>(c.data() + 8), want)) return std::nullopt;
            if (tag(c.data(), "ds64"))
                ds64_data = number(c.data() + 16, 8);  // after the 8-byte RIFF size
            else
                block_align = number(c.data() + 20, 2);  // format, channels, rate, bytes/s, block align
        } else if (tag(c.data(), "data")) {
            std::uint64_t bytes = length;
            if (rf64 && length == 0xffffffffu) {
                bytes = ds64_data;
                if (bytes == 0 || bytes == ~std::uint64_t{0}) return std::nullopt;  // streamed
            } else if (bytes == 0 || bytes >= 0x7fff0000u) {
                return std::nullopt;  // streamed: the writer never came back to fill it in
            }
            if (block_align == 0) return std::nullopt;
            return bytes / block_align;
        }
        pos += 8 + length + (length & 1);
    }
    return std::nullopt;
}

}  // namespace

Info info(const std::filesystem::path& file) {
    SF_INFO sf;
    open_read(file, sf);
    const auto present = static_cast<std::uint64_t>(sf.frames);
    return {static_cast<double>(sf.samplerate), static_cast<std::size_t>(sf.channels),
            std::max(present, promised_frames(file, sf).value_or(present))};
}

Audio read(const std::filesystem::path& file) {
    SF_INFO sf;
    File f = open_read(file, sf);
    const auto channels = static_cast<std::size_t>(sf.channels);
    const auto frames = static_cast<std::size_t>(sf.frames);
    const std::uint64_t promised = std::max<std::uint64_t>(frames, promised_frames(file, sf).value_or(0));
    // The channels grow as frames arrive: a few bytes of header may claim any length.
    Audio a{static_cast<double>(sf.samplerate), std::vector<Samples>(channels)};
    for (auto& ch : a.channels) ch.reserve(std::min<std::size_t>(frames, std::size_t{1} << 20));
    std::vector<double> block(4096 * channels);
    std::size_t done = 0;
    while (done < frames) {
        const auto want = static_cast<sf_count_t>(std::min<std::size_t>(4096, frames - done));
        const sf_count_t got = sf_readf_double(f.get(), block.data(), want);
        if (got <= 0) break;
        for (std::size_t i = 0; i < static_cast<std::size_t>(got); ++i)
            for (std::size_t c = 0; c < channels; ++c) a.channels[c].push_back(block[i * channels + c]);
        done += static_cast<std::size_t>(got);
    }
    if (done < promised)
        throw std::runtime_error(fmt::format("{}: truncated: the header promises {} frames, the file holds {}{}",
                                             file.string(), promised, done,
                                             sf_error(f.get()) ? fmt::format(" ({})", sf_strerror(f.get())) : ""));
    for (const auto& ch : a.channels)
        for (std::size_t n = 0; n < ch.size(); ++n)
            if (!std::isfinite(ch[n]))
                throw std::runtime_error(fmt::format("{}: sample {} is not a finite number", file.string(), n));
    return a;
}

void write_wav(const std::filesystem::path& file, double sample_rate, const std::vector<const Samples*>& channels) {
    if (channels.empty()) throw std::runtime_error(fmt::format("{}: no channel to write", file.string()));
    const std::size_t n = channels.front()->size(), k = channels.size();
    for (const Samples* c : channels)
        if (c->size() != n) throw std::runtime_error(fmt::format("{}: channels of different lengths", file.string()));
    SF_INFO sf{};
    sf.samplerate = static_cast<int>(std::lround(sample_rate));
    sf.channels = static_cast<int>(k);
    sf.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    if (n * k >= (std::size_t{1} << 32) / 4 - 64) sf.format = SF_FORMAT_RF64 | SF_FORMAT_FLOAT;  // past 4 GB
    std::string name = ".";  // appended piecewise: GCC 12 warns falsely on "." + s + ".tmp"
    name.append(file.filename().string()).append(".tmp").append(std::to_string(::getpid()));
    const std::filesystem::path tmp = file.parent_path() / name;
    auto fail = [&](const std::string& why) {
        std::error_code ec;
        std::filesystem::remove(tmp, ec);
        throw std::runtime_error(fmt::format("cannot write {}: {}", file.string(), why));
    };
    {
        File f(sf_open(tmp.c_str(), SFM_WRITE, &sf));
        if (!f) fail(sf_strerror(nullptr));
        std::vector<float> block(4096 * k);
        for (std::size_t done = 0; done < n;) {
            const std::size_t m = std::min<std::size_t>(4096, n - done);
            for (std::size_t i = 0; i < m; ++i)
                for (std::size_t c = 0; c < k; ++c) block[i * k + c] = static_cast<float>((*channels[c])[done + i]);
            if (sf_writef_float(f.get(), block.data(), static_cast<sf_count_t>(m)) != static_cast<sf_count_t>(m))
                fail(sf_strerror(f.get()));
            done += m;
        }
        if (sf_close(f.release()) != 0) fail("closing failed");
    }
    std::error_code ec;
    std::filesystem::rename(tmp, file, ec);
    if (ec) fail(ec.message());
}

}  // namespace sigx::audio
