// Reading a container's log (the shim's CRI format, shim/README.md) for
// `berth logs`: stdout records to stdout, stderr records to stderr, partial
// records joined, optionally with their timestamps, from a time on, the last
// N lines, and following the file until the container stops.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "libutil/error.hpp"

namespace berth::manager {

struct LogOptions {
    bool follow = false;
    bool timestamps = false;
    std::optional<int64_t> tail;    // last N lines; nullopt: all
    std::string since;              // RFC 3339 lower bound ("" = none), compared as text after normalising
    std::string until;              // upper bound
    // Where each line goes instead of stdout/stderr (berth serve's stream).
    std::function<void(bool is_stderr, std::string_view text)> sink;
};

// One CRI record: "TIME STREAM F|P TEXT".
struct LogRecord {
    std::string time;
    bool is_stderr = false;
    bool partial = false;
    std::string text;
};
std::optional<LogRecord> parse_log_record(std::string_view line);

// "10m", "1h30m", "2s", a unix time or an RFC 3339 time → RFC 3339 (UTC, with
// nanoseconds) to compare log times with. Error names the value.
Result<std::string> parse_log_time(const std::string& value, const std::string& flag);

// Writes the log at `path` (and PATH.1 before it, when rotated) to stdout and
// stderr. With `follow`, keeps reading until `still_running()` says false and
// the end of the file is reached.
Result<void> print_logs(const std::string& path, const LogOptions& o, const std::function<bool()>& still_running);

}  // namespace berth::manager
