// Numeric CSV tables as recordings: a header row of column names, then one row per
// sample. An optional column `time` (seconds, evenly spaced) gives the sample rate. Read
// by the recording generator and `sigx apply`; errors name the file and line.
#pragma once

#include <sigx/record.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace sigx::audio {

inline constexpr double csv_time_tolerance = 1e-6;  // relative: time steps, rates that must agree

bool is_csv(const std::filesystem::path& file);  // by its extension, any case

struct CsvHeader {
    std::vector<std::string> names;          // unique, non-empty
    std::optional<std::size_t> time_column;  // the column named `time`
    std::uint64_t rows = 0;                  // data rows (blank lines skipped)
    // From the first two rows' times; none without a time column or with one row.
    std::optional<double> rate;
};
// The header and the row count, without keeping the data. Throws std::runtime_error
// naming the file (and line) when the header is bad or time does not increase.
CsvHeader inspect_csv(const std::filesystem::path& file);

struct CsvTable {
    CsvHeader header;
    std::vector<Samples> columns;  // every column, in file order, time included
};
// Every row. A row with another number of fields, a field that is not a finite number,
// or unevenly spaced times is refused naming the file and line.
CsvTable read_csv(const std::filesystem::path& file);

bool same_rate(double a, double b);  // within csv_time_tolerance

}  // namespace sigx::audio
