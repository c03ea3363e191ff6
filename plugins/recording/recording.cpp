// recording: real data. One record per file: a sound file (WAV, FLAC, Ogg: anything
// libsndfile reads) or a CSV table; the `train` files are fitted on, the `test` files make
// the test set "test". References (the clean components) come from a second sound file
// per input, found through the `train_truth` and `test_truth` templates, or from CSV
// columns named like the component labels; a record without them is extracted but not
// scored (so a model fitted on references is applied to a recording that has none).
//
// Everything a header tells (rates, channel counts, lengths, Nyquist, the truth files)
// is checked when the plugin is constructed, before any work; generate() reads the
// samples, and reports a truncated file or a bad CSV row naming the file and line.
//
// CSV: a header row of column names, then one row per sample. An optional column `time`
// (seconds, evenly spaced) gives the sample rate, else `sample_rate` does. Columns named
// like the component labels are the references (all of them or none); every other
// column is a mix channel, among which `channels` selects.
#include <sigx/audio.hpp>
#include <sigx/csv.hpp>
#include <sigx/register.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace {

namespace fs = std::filesystem;

constexpr std::size_t max_name_length = 64;  // the host's limit on record names and labels

bool safe_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

// A file's stem as a record name: characters outside A-Z a-z 0-9 . _ - become '_', a
// leading '.' too.
std::string sanitized_stem(const fs::path& file) {
    std::string s = file.stem().string();
    for (char& c : s)
        if (!safe_char(c)) c = '_';
    if (!s.empty() && s.front() == '.') s.front() = '_';
    if (s.empty()) s = "record";
    return s.substr(0, max_name_length);
}

// Record names for a list of files: their stems, made unique by appending -2, -3, ...
std::vector<std::string> record_names(const std::vector<fs::path>& files) {
    std::vector<std::string> names;
    std::set<std::string> used;
    for (const auto& f : files) {
        const std::string base = sanitized_stem(f);
        std::string name = base;
        for (std::size_t k = 2; used.count(name); ++k) {
            const std::string suffix = fmt::format("-{}", k);
            name = base.substr(0, max_name_length - suffix.size()) + suffix;
        }
        used.insert(name);
        names.push_back(name);
    }
    return names;
}

// What the constructor learns of one file.
struct Source {
    fs::path file;     // absolute
    std::string key;   // the parameter that lists it: "train" or "test"
    std::string name;  // its record's name
    bool csv = false;
    double rate = 0;                    // Hz
    std::size_t channels = 0;           // input channels it offers: a sound file's, a CSV's mix columns
    std::uint64_t frames = 0;           // a sound file's length; a CSV's data lines (an upper bound)
    std::optional<fs::path> truth;      // sound: the truth file
    std::optional<fs::path> frequency;  // sound: the truth's instantaneous frequencies
    // CSV
    std::size_t columns = 0;
    std::optional<std::size_t> time_column;
    std::vector<std::size_t> mix_columns;        // every mix column, in file order
    std::vector<std::size_t> reference_columns;  // in component order; empty: no references
};

class Recording final : public sigx::Generator {
public:
    static sigx::Descriptor describe() {
        using sigx::ParamSpec;
        return {
            .name = "recording",
            .version = "1.0.0",
            .description =
                "recordings from files (WAV, FLAC, Ogg or CSV), with reference files or columns where there are any",
            .params = {
                ParamSpec::path_list("train", {"train.wav"})
                    .required()
                    .not_empty()
                    .help("recordings to fit on, one record each: sound files (WAV, FLAC, Ogg) or .csv; glob patterns "
                          "allowed"),
                ParamSpec::path_list("test", {"test.wav"})
                    .required()
                    .not_empty()
                    .help("recordings of the test set \"test\", one record each"),
                ParamSpec::real_list("frequencies", {50.0})
                    .required()
                    .not_empty()
                    .positive()
                    .help("component frequencies in Hz, each below Nyquist (the files' sample rate / 2)"),
                ParamSpec::string_list("labels", {})
                    .help("component labels, one per frequency (safe as file names: A-Z a-z 0-9 . _ -); empty: "
                          "\"<frequency>Hz\""),
                ParamSpec::real_list("gains", {})
                    .positive()
                    .help("nominal gain of each component in the mix, one per frequency; empty: 1 each"),
                ParamSpec::real_list("channels", {})
                    .at_least(1.0)
                    .help("1-based input channels to use (for a CSV: among its mix columns); empty: all, the same "
                          "number in every file"),
                ParamSpec::string("train_truth", "")
                    .help("references of a training sound file: a sound file with one channel per component, in "
                          "order, e.g. \"{dir}/truth/{stem}.wav\" ({dir}: the input's folder, {stem}: its name "
                          "without extension; relative: to the input's folder); empty: none. A CSV's references are "
                          "its columns named like the labels"),
                ParamSpec::string("test_truth", "")
                    .help("references of a test sound file, as train_truth; empty: none (extracted, not scored)"),
                ParamSpec::real("sample_rate", 0.0)
                    .at_least(0.0)
                    .help("Hz, for CSV files without a `time` column; 0: from the time column. Where a file "
                          "states its rate, the two must agree"),
                ParamSpec::real("tolerance", 0.0)
                    .at_least(0.0)
                    .help("Hz: how far each tone may stray from its frequency (a harmonic: its multiple of this); "
                          "0: the tones sit exactly at their frequencies"),
                ParamSpec::boolean("harmonics", false)
                    .help("components at whole multiples (2, 3, ...) of the lowest frequency are its harmonics: they "
                          "drift with it (mains hum: 100 and 150 Hz with 50 Hz)"),
                ParamSpec::string("truth_frequency", "")
                    .help("each scored sound file's instantaneous frequencies: a sound file with one channel per "
                          "component, in Hz, e.g. \"{dir}/truth/{stem}.frequency.wav\" (placeholders as in "
                          "train_truth; relative: to the input's folder); empty: none")}};
    }

    explicit Recording(const sigx::Params& p)
        : frequencies_(p.real_list("frequencies")),
          templates_{{"train", p.string("train_truth")}, {"test", p.string("test_truth")}},
          frequency_template_(p.string("truth_frequency")),
          sample_rate_(p.real("sample_rate")) {
        make_task(p.string_list("labels"), p.real_list("gains"), p.real("tolerance"), p.boolean("harmonics"));
        make_selection(p.real_list("channels"));
        for (const auto& [set, t] : templates_) check_template(set + "_truth", t);
        check_template("truth_frequency", frequency_template_);
        const auto add = [&](const std::string& key) {
            const sigx::PathList& files = p.path_list(key);
            const std::vector<std::string> names = record_names(files);
            auto& list = key == "train" ? train_ : test_;
            for (std::size_t i = 0; i < files.size(); ++i) list.push_back(inspect(files[i], key, names[i]));
        };
        add("train");
        add("test");
        if (const auto problem = sigx::task_problem(task_, rate_); !problem.empty())
            throw sigx::ParamError(p.real("tolerance") > 0 ? "tolerance" : "frequencies", problem);
        check_channels();
        for (const auto* list : {&train_, &test_})
            for (const Source& s : *list) {
                size_.samples += s.frames;
                if (list == &test_) size_.test_samples += s.frames;
            }
        size_.components = task_.size();
    }

    std::uint32_t channels() const override { return static_cast<std::uint32_t>(channels_); }

    void* extension(std::string_view id) override { return id == sigx::dataset_size_id ? &size_ : nullptr; }

    sigx::Dataset generate(sigx::Host& host) override {
        sigx::Dataset d;
        for (const Source& s : train_) d.train.push_back(record(s));
        sigx::RecordSet test{"test", "", {}};
        for (const Source& s : test_) test.records.push_back(record(s));
        test.description =
            "the given recordings, " + references(test.records, "without references: extracted, not scored");
        host.info(fmt::format("{} training recording{} ({}) and {} test recording{} ({}), at {} Hz", d.train.size(),
                              d.train.size() == 1 ? "" : "s", references(d.train, "without references"),
                              test.records.size(), test.records.size() == 1 ? "" : "s",
                              references(test.records, "without references"), rate_));
        d.tests.push_back(std::move(test));
        return d;
    }

private:
    void make_task(const sigx::StringList& labels, const sigx::RealList& gains, double tolerance, bool harmonics) {
        const std::size_t k = frequencies_.size();
        if (!labels.empty() && labels.size() != k)
            throw sigx::ParamError("labels", fmt::format("{} labels for {} frequencies: give one label per frequency, "
                                                         "or none",
                                                         labels.size(), k));
        if (!gains.empty() && gains.size() != k)
            throw sigx::ParamError(
                "gains",
                fmt::format("{} gains for {} frequencies: give one gain per frequency, or none", gains.size(), k));
        std::set<double> seen_f;
        std::set<std::string> seen_l;
        for (std::size_t i = 0; i < k; ++i) {
            const double f = frequencies_[i];
            if (!seen_f.insert(f).second)
                throw sigx::ParamError("frequencies", fmt::format("frequency {} Hz is listed twice", f));
            std::string label = labels.empty() ? fmt::format("{}Hz", f) : labels[i];
            if (!labels.empty()) {
                const bool bad = label.empty() || label.size() > max_name_length || label.front() == '.' ||
                                 !std::all_of(label.begin(), label.end(), safe_char);
                if (bad)
                    throw sigx::ParamError("labels",
                                           fmt::format("label '{}': use 1 to {} characters from A-Z a-z 0-9 . _ -, not "
                                                       "starting with '.'",
                                                       label, max_name_length));
                if (label == "time")
                    throw sigx::ParamError("labels", "label 'time' would name a CSV file's time column");
            }
            if (!seen_l.insert(label).second)
                throw sigx::ParamError("labels", fmt::format("label '{}' is used twice", label));
            task_.components.push_back({std::move(label), f, gains.empty() ? 1.0 : gains[i], tolerance, -1});
        }
        if (!harmonics || k == 0) return;
        const auto lowest =
            static_cast<std::size_t>(std::min_element(frequencies_.begin(), frequencies_.end()) - frequencies_.begin());
        for (std::size_t i = 0; i < k; ++i) {
            const double multiple = frequencies_[i] / frequencies_[lowest];
            if (i == lowest || std::abs(multiple - std::round(multiple)) > 1e-9 * multiple) continue;
            task_.components[i].fundamental = static_cast<std::int64_t>(lowest);
            task_.components[i].tolerance = tolerance * multiple;
        }
    }

    void make_selection(const sigx::RealList& channels) {
        std::set<std::size_t> seen;
        for (double c : channels) {
            if (c != std::floor(c) || c < 1 || c > 65536)
                throw sigx::ParamError("channels",
                                       fmt::format("channel {} is not a channel number: use whole numbers from 1", c));
            const auto index = static_cast<std::size_t>(c) - 1;
            if (!seen.insert(index).second)
                throw sigx::ParamError("channels", fmt::format("channel {} is selected twice", c));
            selection_.push_back(index);
        }
    }

    // {dir} and {stem} are the only placeholders.
    static void check_template(const std::string& key, const std::string& templ) {
        std::string_view t = templ;
        for (std::size_t at = t.find('{'); at != std::string_view::npos; at = t.find('{', at + 1)) {
            const std::size_t end = t.find('}', at);
            if (end == std::string_view::npos)
                throw sigx::ParamError(key, fmt::format("'{{' without '}}' in \"{}\"", templ));
            const std::string_view name = t.substr(at + 1, end - at - 1);
            if (name != "dir" && name != "stem")
                throw sigx::ParamError(
                    key, fmt::format("unknown placeholder {{{}}} in \"{}\": use {{dir}} and {{stem}}", name, templ));
        }
    }

    static fs::path truth_file(const fs::path& input, const std::string& templ) {
        std::string out;
        std::string_view t = templ;
        while (!t.empty()) {
            const std::size_t at = t.find('{');
            out.append(t.substr(0, at));
            if (at == std::string_view::npos) break;
            const std::size_t end = t.find('}', at);
            out += t.substr(at + 1, end - at - 1) == "dir" ? input.parent_path().string() : input.stem().string();
            t.remove_prefix(end + 1);
        }
        const fs::path file(out);
        return (file.is_absolute() ? file : input.parent_path() / file).lexically_normal();
    }

    Source inspect(const fs::path& given, const std::string& key, const std::string& name) {
        if (given.empty()) throw sigx::ParamError(key, "an empty path");
        Source s;
        s.file = fs::absolute(given).lexically_normal();
        s.key = key;
        s.name = name;
        s.csv = sigx::audio::is_csv(s.file);
        if (s.csv)
            inspect_csv(s);
        else
            inspect_sound(s);
        if (s.frames == 0) throw sigx::ParamError(key, fmt::format("{}: has no samples", s.file.string()));
        // One rate per dataset, below which every frequency must lie.
        for (double f : frequencies_)
            if (f >= s.rate / 2)
                throw sigx::ParamError("frequencies",
                                       fmt::format("frequency {} Hz is at or above Nyquist for {} ({} Hz = its sample "
                                                   "rate / 2)",
                                                   f, s.file.string(), s.rate / 2));
        if (first_.empty()) {
            first_ = s.file;
            rate_ = s.rate;
        } else if (!sigx::audio::same_rate(s.rate, rate_)) {
            throw sigx::ParamError(key, fmt::format("{} has a sample rate of {} Hz, {} one of {} Hz: all files, "
                                                    "training and test, must have one rate",
                                                    s.file.string(), s.rate, first_.string(), rate_));
        }
        if (sample_rate_ > 0 && !sigx::audio::same_rate(s.rate, sample_rate_))
            throw sigx::ParamError("sample_rate", fmt::format("{} has a sample rate of {} Hz, sample_rate is {} Hz",
                                                              s.file.string(), s.rate, sample_rate_));
        return s;
    }

    void inspect_sound(Source& s) const {
        sigx::audio::Info info;
        try {
            info = sigx::audio::info(s.file);
        } catch (const std::exception& e) {
            throw sigx::ParamError(s.key, e.what());
        }
        s.rate = info.sample_rate;
        s.channels = info.channels;
        s.frames = info.frames;
        const std::string& templ = templates_.at(s.key);
        if (templ.empty()) return;
        const std::string key = s.key + "_truth";
        const fs::path truth = truth_file(s.file, templ);
        std::error_code ec;
        if (!fs::is_regular_file(truth, ec))
            throw sigx::ParamError(key, fmt::format("{}: its truth file {} does not exist ({} = \"{}\"; \"\" reads "
                                                    "the recordings without references)",
                                                    s.file.string(), truth.string(), key, templ));
        sigx::audio::Info t;
        try {
            t = sigx::audio::info(truth);
        } catch (const std::exception& e) {
            throw sigx::ParamError(key, fmt::format("truth of {}: {}", s.file.string(), e.what()));
        }
        if (t.frames != info.frames)
            throw sigx::ParamError(key, fmt::format("{} has {} frames, its input {} has {}: a truth file is as "
                                                    "long as its input",
                                                    truth.string(), t.frames, s.file.string(), info.frames));
        if (t.sample_rate != info.sample_rate)
            throw sigx::ParamError(key, fmt::format("{} has a sample rate of {} Hz, its input {} one of {} Hz",
                                                    truth.string(), t.sample_rate, s.file.string(), info.sample_rate));
        if (t.channels != task_.size())
            throw sigx::ParamError(
                key, fmt::format("{} has {} channel{}, expected {}: one reference per "
                                 "component ({}), in order",
                                 truth.string(), t.channels, t.channels == 1 ? "" : "s", task_.size(), labels_text()));
        s.truth = truth;
        if (frequency_template_.empty()) return;
        const fs::path freq = truth_file(s.file, frequency_template_);
        if (!fs::is_regular_file(freq, ec))
            throw sigx::ParamError("truth_frequency",
                                   fmt::format("{}: its frequency file {} does not exist (truth_frequency = \"{}\")",
                                               s.file.string(), freq.string(), frequency_template_));
        try {
            t = sigx::audio::info(freq);
        } catch (const std::exception& e) {
            throw sigx::ParamError("truth_frequency", fmt::format("frequencies of {}: {}", s.file.string(), e.what()));
        }
        if (t.frames != info.frames || t.sample_rate != info.sample_rate || t.channels != task_.size())
            throw sigx::ParamError(
                "truth_frequency",
                fmt::format("{} has {} channel(s) of {} frames at {} Hz; expected {} (one per component) of {} at {} "
                            "Hz, as its input {}",
                            freq.string(), t.channels, t.frames, t.sample_rate, task_.size(), info.frames,
                            info.sample_rate, s.file.string()));
        s.frequency = freq;
    }

    // The header, and the rate from the time column's first two rows.
    void inspect_csv(Source& s) const {
        sigx::audio::CsvHeader h;
        try {
            h = sigx::audio::inspect_csv(s.file);
        } catch (const std::runtime_error& e) {
            throw sigx::ParamError(s.key, e.what());
        }
        const auto& names = h.names;
        std::map<std::string, std::size_t> index;
        for (std::size_t c = 0; c < names.size(); ++c) index.emplace(names[c], c);
        s.columns = names.size();
        s.time_column = h.time_column;
        std::vector<std::string> missing;
        for (const auto& c : task_.components) {
            if (auto it = index.find(c.label); it != index.end())
                s.reference_columns.push_back(it->second);
            else
                missing.push_back(c.label);
        }
        if (!s.reference_columns.empty() && !missing.empty())
            throw sigx::ParamError(s.key, fmt::format("{}: has reference columns for some components but no column "
                                                      "'{}': give a column for every label ({}) or none",
                                                      s.file.string(), fmt::join(missing, "', '"), labels_text()));
        for (std::size_t c = 0; c < names.size(); ++c)
            if (c != s.time_column &&
                std::find(s.reference_columns.begin(), s.reference_columns.end(), c) == s.reference_columns.end())
                s.mix_columns.push_back(c);
        if (s.mix_columns.empty())
            throw sigx::ParamError(s.key, fmt::format("{}: has no mix column (columns: {}): every column that is not "
                                                      "`time` or a reference is an input channel",
                                                      s.file.string(), fmt::join(names, ", ")));
        s.channels = s.mix_columns.size();
        s.frames = h.rows;
        if (s.frames == 0) return;  // refused by the caller
        if (h.rate) {
            s.rate = *h.rate;
        } else {
            if (sample_rate_ <= 0)
                throw sigx::ParamError("sample_rate",
                                       fmt::format("{} {}: give its rate as sample_rate", s.file.string(),
                                                   s.time_column ? "has one row, so its `time` column "
                                                                   "gives no rate"
                                                                 : "has no `time` column"));
            s.rate = sample_rate_;
        }
    }

    void check_channels() {
        const Source* first = nullptr;
        for (const auto* list : {&train_, &test_})
            for (const Source& s : *list) {
                const char* what = s.csv ? "mix column" : "channel";
                for (std::size_t c : selection_)
                    if (c >= s.channels)
                        throw sigx::ParamError("channels",
                                               fmt::format("{} has {} {}{}: there is no channel {}", s.file.string(),
                                                           s.channels, what, s.channels == 1 ? "" : "s", c + 1));
                if (!selection_.empty()) continue;
                if (!first) {
                    first = &s;
                } else if (s.channels != first->channels) {
                    throw sigx::ParamError(
                        "channels", fmt::format("{} has {} input channel{}, {} has {}: every record must have as many; "
                                                "select the same ones in each with `channels`",
                                                s.file.string(), s.channels, s.channels == 1 ? "" : "s",
                                                first->file.string(), first->channels));
                }
            }
        channels_ = selection_.empty() ? (first ? first->channels : 0) : selection_.size();
    }

    // "with references", "2 of 3 with references" or `none`.
    static std::string references(const sigx::Records& records, const char* none) {
        const auto with = static_cast<std::size_t>(
            std::count_if(records.begin(), records.end(), [](const sigx::Record& r) { return r.truth.has_value(); }));
        if (with == 0) return none;
        if (with == records.size()) return records.size() == 1 ? "with references" : "all with references";
        return fmt::format("{} of {} with references", with, records.size());
    }

    std::string labels_text() const {
        std::vector<std::string> l;
        for (const auto& c : task_.components) l.push_back(c.label);
        return fmt::format("{}", fmt::join(l, ", "));
    }

    sigx::Record record(const Source& s) const {
        sigx::Record r;
        r.input.name = s.name;
        r.input.sample_rate = rate_;
        r.input.start_time = 0.0;
        r.input.metadata = {{"file", s.file.string()}};
        r.task = task_;
        if (s.csv)
            read_csv(s, r);
        else
            read_sound(s, r);
        return r;
    }

    // The columns to use of `all`, in selection order (all of them without one).
    std::vector<std::size_t> selected(std::size_t all) const {
        if (!selection_.empty()) return selection_;
        std::vector<std::size_t> every(all);
        for (std::size_t c = 0; c < all; ++c) every[c] = c;
        return every;
    }

    void read_sound(const Source& s, sigx::Record& r) const {
        sigx::audio::Audio a = sigx::audio::read(s.file);
        if (a.sample_rate != s.rate || a.channels.size() != s.channels)
            throw std::runtime_error(
                fmt::format("{}: changed since the pipeline was checked ({} channels at {} Hz, "
                            "then {} at {} Hz)",
                            s.file.string(), s.channels, s.rate, a.channels.size(), a.sample_rate));
        for (std::size_t c : selected(a.channels.size())) r.input.channels.push_back(std::move(a.channels[c]));
        if (!s.truth) return;
        sigx::audio::Audio t = sigx::audio::read(*s.truth);
        if (t.channels.size() != task_.size() || t.channels.front().size() != r.input.size())
            throw std::runtime_error(fmt::format(
                "{}: changed since the pipeline was checked: {} channels of {} "
                "frames, its input {} has {} frames",
                s.truth->string(), t.channels.size(), t.channels.front().size(), s.file.string(), r.input.size()));
        r.truth.emplace();
        r.truth->start_time = 0.0;
        r.truth->references = std::move(t.channels);
        r.truth->metadata = {{"file", s.truth->string()}};
        if (!s.frequency) return;
        sigx::audio::Audio f = sigx::audio::read(*s.frequency);
        if (f.channels.size() != task_.size() || f.channels.front().size() != r.input.size())
            throw std::runtime_error(fmt::format("{}: changed since the pipeline was checked", s.frequency->string()));
        for (const auto& ch : f.channels)
            for (std::size_t n = 0; n < ch.size(); ++n)
                if (!(ch[n] > 0) || !std::isfinite(ch[n]))
                    throw std::runtime_error(fmt::format("{}: channel {} has no frequency (a value {}) at frame {}",
                                                         s.frequency->string(), &ch - f.channels.data() + 1, ch[n], n));
        r.truth->frequencies = std::move(f.channels);
    }

    void read_csv(const Source& s, sigx::Record& r) const {
        sigx::audio::CsvTable t = sigx::audio::read_csv(s.file);
        if (t.columns.front().empty()) throw std::runtime_error(fmt::format("{}: has no data rows", s.file.string()));
        for (std::size_t c : selected(s.mix_columns.size()))
            r.input.channels.push_back(std::move(t.columns[s.mix_columns[c]]));
        if (s.reference_columns.empty()) return;
        r.truth.emplace();
        r.truth->start_time = 0.0;
        for (std::size_t c : s.reference_columns) r.truth->references.push_back(std::move(t.columns[c]));
        r.truth->metadata = {{"file", s.file.string()}};
    }

    sigx::RealList frequencies_;
    std::map<std::string, std::string> templates_;  // by set ("train", "test"): the truth file template
    std::string frequency_template_;                // the truth's frequencies
    double sample_rate_;
    sigx::Task task_;
    std::vector<std::size_t> selection_;  // 0-based; empty: every channel
    std::vector<Source> train_, test_;
    fs::path first_;  // the first file: the dataset's rate
    double rate_ = 0;
    std::size_t channels_ = 0;
    sigx::DatasetSize size_;
};

}  // namespace

SIGX_PLUGIN(Recording)
