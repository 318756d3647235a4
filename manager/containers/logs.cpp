#include "manager/containers/logs.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <thread>

#include "libutil/strings.hpp"

namespace berth::manager {

namespace {

std::string format_time(std::time_t secs, long nanos) {
    std::tm tm;
    ::gmtime_r(&secs, &tm);
    char buf[64];
    size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%09ldZ", nanos);
    return buf;
}

// A line of output: the joined text of its records and the first record's time.
struct Line {
    std::string time;
    bool is_stderr = false;
    std::string text;  // with its newline, unless the log ends inside the line
};

void emit(const Line& l, const LogOptions& o) {
    if (!o.since.empty() && l.time < o.since) return;
    if (!o.until.empty() && l.time > o.until) return;
    std::string out = o.timestamps ? l.time + " " + l.text : l.text;
    if (o.sink) return o.sink(l.is_stderr, out);
    FILE* f = l.is_stderr ? stderr : stdout;
    std::fwrite(out.data(), 1, out.size(), f);
    std::fflush(f);
}

// Feeds complete lines of `data` (records) into lines; keeps the unfinished rest.
class Reader {
public:
    explicit Reader(const LogOptions& o) : o_(o) {}
    template <class Sink>
    void feed(std::string_view data, Sink&& sink) {
        buf_.append(data);
        size_t start = 0, nl;
        while ((nl = buf_.find('\n', start)) != std::string::npos) {
            auto rec = parse_log_record(std::string_view(buf_).substr(start, nl - start));
            start = nl + 1;
            if (!rec) continue;
            Line& pending = rec->is_stderr ? err_ : out_;
            if (pending.text.empty()) {
                pending.time = rec->time;
                pending.is_stderr = rec->is_stderr;
            }
            pending.text += rec->text;
            if (!rec->partial) {
                pending.text.push_back('\n');
                sink(pending);
                pending = Line{};
            }
        }
        buf_.erase(0, start);
    }

private:
    const LogOptions& o_;
    std::string buf_;
    Line out_, err_;
};

}  // namespace

std::optional<LogRecord> parse_log_record(std::string_view line) {
    size_t a = line.find(' ');
    if (a == std::string_view::npos) return std::nullopt;
    size_t b = line.find(' ', a + 1);
    if (b == std::string_view::npos) return std::nullopt;
    LogRecord r;
    r.time = std::string(line.substr(0, a));
    auto stream = line.substr(a + 1, b - a - 1);
    if (stream != "stdout" && stream != "stderr") return std::nullopt;
    r.is_stderr = stream == "stderr";
    if (b + 2 > line.size()) return std::nullopt;
    char tag = line[b + 1];
    if (tag != 'F' && tag != 'P') return std::nullopt;
    r.partial = tag == 'P';
    r.text = b + 3 <= line.size() ? std::string(line.substr(b + 3)) : "";
    return r;
}

Result<std::string> parse_log_time(const std::string& value, const std::string& flag) {
    auto bad = [&] { return Err("invalid value \"", value, "\" for ", flag, ": want a duration (10m, 1h30m), a unix time or an RFC 3339 time"); };
    if (value.empty()) return bad();
    // An RFC 3339 time: normalised to UTC with nanoseconds.
    std::tm tm{};
    if (const char* rest = ::strptime(value.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) {
        long nanos = 0;
        if (*rest == '.') {
            ++rest;
            std::string digits;
            while (*rest >= '0' && *rest <= '9') digits.push_back(*rest++);
            digits = (digits + "000000000").substr(0, 9);
            nanos = std::stol(digits);
        }
        std::time_t t = ::timegm(&tm);
        if (*rest == '+' || *rest == '-') {
            int hh = 0, mm = 0;
            if (std::sscanf(rest + 1, "%d:%d", &hh, &mm) != 2) return bad();
            long off = (hh * 3600L + mm * 60L) * (*rest == '+' ? 1 : -1);
            t -= off;
        } else if (*rest != 'Z' && *rest != '\0') {
            return bad();
        }
        return format_time(t, nanos);
    }
    // A unix time, possibly with a fraction.
    if (value.find_first_not_of("0123456789.") == std::string::npos) {
        double secs = std::stod(value);
        auto whole = static_cast<std::time_t>(secs);
        return format_time(whole, static_cast<long>((secs - static_cast<double>(whole)) * 1e9));
    }
    // A duration before now: "1h30m", "10s", "500ms".
    double total = 0;
    size_t i = 0;
    while (i < value.size()) {
        size_t j = i;
        while (j < value.size() && (std::isdigit(static_cast<unsigned char>(value[j])) || value[j] == '.')) ++j;
        if (j == i) return bad();
        double n = std::stod(value.substr(i, j - i));
        size_t k = j;
        while (k < value.size() && std::isalpha(static_cast<unsigned char>(value[k]))) ++k;
        std::string unit = value.substr(j, k - j);
        if (unit == "h") total += n * 3600;
        else if (unit == "m") total += n * 60;
        else if (unit == "s") total += n;
        else if (unit == "ms") total += n / 1000;
        else return bad();
        i = k;
    }
    timespec now;
    ::clock_gettime(CLOCK_REALTIME, &now);
    double t = static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9 - total;
    auto whole = static_cast<std::time_t>(t);
    return format_time(whole, static_cast<long>((t - static_cast<double>(whole)) * 1e9));
}

Result<void> print_logs(const std::string& path, const LogOptions& o, const std::function<bool()>& still_running) {
    Reader reader(o);
    std::deque<Line> last;  // --tail: only the last N lines of what is there now
    auto collect = [&](const Line& l) {
        if (!o.tail) return emit(l, o);
        if (*o.tail <= 0) return;
        last.push_back(l);
        if (static_cast<int64_t>(last.size()) > *o.tail) last.pop_front();
    };
    if (auto old = read_file(path + ".1")) reader.feed(*old, collect);
    FILE* f = std::fopen(path.c_str(), "re");
    if (!f) {
        if (errno != ENOENT) return ErrnoErr("open ", path);
    }
    char buf[65536];
    auto drain = [&](auto&& sink) {
        if (!f) return;
        size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) reader.feed(std::string_view(buf, n), sink);
        std::clearerr(f);
    };
    drain(collect);
    for (const auto& l : last) emit(l, o);
    if (o.follow) {
        auto print = [&](const Line& l) { emit(l, o); };
        for (;;) {
            bool running = still_running();
            if (!f) f = std::fopen(path.c_str(), "re");
            drain(print);
            if (!running) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    if (f) std::fclose(f);
    return {};
}

}  // namespace berth::manager
