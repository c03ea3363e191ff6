#include <sigx/csv.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string_view>

namespace sigx::audio {

namespace {

namespace fs = std::filesystem;

std::string_view trim(std::string_view s) {
    const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

// The number in a CSV field; throws (without the location, which the caller adds).
double parse_number(std::string_view field) {
    field = trim(field);
    std::string_view digits = field;
    if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);  // from_chars refuses a '+'
    double x = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), x);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty())
        throw std::runtime_error(fmt::format("'{}' is not a number", field));
    if (!std::isfinite(x)) throw std::runtime_error(fmt::format("'{}' is not a finite number", field));
    return x;
}

// One data row into `row` (as many fields as header columns).
void parse_row(std::string_view line, std::vector<double>& row, const fs::path& file, std::size_t line_no) {
    std::size_t field = 0;
    try {
        while (true) {
            const std::size_t comma = line.find(',');
            if (field == row.size())
                throw std::runtime_error(
                    fmt::format("more than {} fields, as many as the header's columns", row.size()));
            row[field++] = parse_number(line.substr(0, comma));
            if (comma == std::string_view::npos) break;
            line.remove_prefix(comma + 1);
        }
        if (field != row.size())
            throw std::runtime_error(fmt::format("{} fields, the header has {} columns", field, row.size()));
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(fmt::format("{}: line {}: {}", file.string(), line_no, e.what()));
    }
}

// A rate from a time step: snapped to a whole number of Hz where it is one within the
// tolerance (1 / 0.001 is 999.9999999999999).
double rate_from_step(double step) {
    const double rate = 1.0 / step;
    const double whole = std::round(rate);
    return std::abs(rate - whole) <= csv_time_tolerance * rate ? whole : rate;
}

std::ifstream open(const fs::path& file) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error(fmt::format("{}: cannot be opened: {}", file.string(), std::strerror(errno)));
    return in;
}

CsvHeader parse_header(std::istream& in, const fs::path& file) {
    std::string line;
    if (!std::getline(in, line))
        throw std::runtime_error(
            fmt::format("{}: is empty; a CSV starts with a header row of column names", file.string()));
    if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // a UTF-8 byte order mark
    CsvHeader h;
    std::string_view rest = line;
    while (true) {
        const std::size_t comma = rest.find(',');
        std::string_view n = trim(rest.substr(0, comma));
        if (n.size() >= 2 && n.front() == '"' && n.back() == '"') n = n.substr(1, n.size() - 2);
        h.names.emplace_back(n);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    std::map<std::string, std::size_t> index;
    for (std::size_t c = 0; c < h.names.size(); ++c) {
        if (h.names[c].empty())
            throw std::runtime_error(
                fmt::format("{}: line 1: column {} has no name; a CSV starts with a header row of column names",
                            file.string(), c + 1));
        if (!index.emplace(h.names[c], c).second)
            throw std::runtime_error(fmt::format("{}: line 1: column '{}' appears twice", file.string(), h.names[c]));
    }
    if (auto t = index.find("time"); t != index.end()) h.time_column = t->second;
    return h;
}

// The rate from the first two times.
void set_rate(CsvHeader& h, const std::vector<double>& times, const fs::path& file) {
    if (times.size() < 2) return;
    const double step = times[1] - times[0];
    if (!(step > 0))
        throw std::runtime_error(
            fmt::format("{}: `time` does not increase from the first row to the second ({} s, "
                        "then {} s)",
                        file.string(), times[0], times[1]));
    h.rate = rate_from_step(step);
}

}  // namespace

bool is_csv(const fs::path& file) {
    std::string ext = file.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext == ".csv";
}

bool same_rate(double a, double b) { return std::abs(a - b) <= csv_time_tolerance * std::max(a, b); }

CsvHeader inspect_csv(const fs::path& file) {
    std::ifstream in = open(file);
    CsvHeader h = parse_header(in, file);
    // Data lines: the first two parsed (for the time step), the rest counted.
    std::vector<double> row(h.names.size()), times;
    std::size_t line_no = 1;
    for (std::string line; std::getline(in, line);) {
        ++line_no;
        if (trim(line).empty()) continue;
        ++h.rows;
        if (times.size() < 2 && h.time_column) {
            parse_row(line, row, file, line_no);
            times.push_back(row[*h.time_column]);
        }
    }
    set_rate(h, times, file);
    return h;
}

CsvTable read_csv(const fs::path& file) {
    std::ifstream in = open(file);
    CsvTable t{parse_header(in, file), {}};
    const std::size_t n = t.header.names.size();
    t.columns.resize(n);
    std::vector<double> row(n);
    std::size_t line_no = 1;
    double step = 0;
    for (std::string line; std::getline(in, line);) {
        ++line_no;
        if (trim(line).empty()) continue;
        parse_row(line, row, file, line_no);
        if (t.header.time_column) {
            const Samples& time = t.columns[*t.header.time_column];
            const double now = row[*t.header.time_column];
            if (time.size() == 1) step = now - time.front();
            if (time.size() >= 1 && !(std::abs((now - time.back()) - step) <= csv_time_tolerance * step))
                throw std::runtime_error(
                    fmt::format("{}: line {}: time {} s is {} s after the previous row, the "
                                "first step is {} s: rows must be evenly spaced (within {} "
                                "relative)",
                                file.string(), line_no, now, now - time.back(), step, csv_time_tolerance));
        }
        for (std::size_t c = 0; c < n; ++c) t.columns[c].push_back(row[c]);
    }
    if (in.bad()) throw std::runtime_error(fmt::format("{}: read error", file.string()));
    t.header.rows = t.columns.front().size();
    if (t.header.time_column) set_rate(t.header, t.columns[*t.header.time_column], file);
    return t;
}

}  // namespace sigx::audio
