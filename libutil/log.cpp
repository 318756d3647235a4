#include "libutil/log.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "libutil/fd.hpp"
#include "libutil/json.hpp"
#include "libutil/strings.hpp"

namespace berth::log {

namespace {

Config g_config;
UniqueFd g_file;  // opened on the first line written to cfg.path

const char* level_name(Level level) {
    switch (level) {
        case Level::Debug: return "debug";
        case Level::Info: return "info";
        case Level::Warning: return "warning";
        case Level::Error: return "error";
    }
    return "error";
}

// RFC 3339 in UTC; with nanoseconds as Go's RFC3339Nano prints them
// (trailing zeros of the fraction dropped).
std::string now_rfc3339(bool nanos) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char buf[64];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string out(buf, n);
    if (nanos && ts.tv_nsec != 0) {
        char frac[16];
        snprintf(frac, sizeof frac, ".%09ld", static_cast<long>(ts.tv_nsec));
        std::string f(frac);
        while (f.back() == '0') f.pop_back();
        out += f;
    }
    out.push_back('Z');
    return out;
}

void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return;  // nowhere left to report a failing log
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
}

int log_fd() {
    if (g_config.path.empty()) return STDERR_FILENO;
    if (!g_file) {
        g_file.reset(
            ::open(g_config.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
        if (!g_file) return STDERR_FILENO;
    }
    return g_file.get();
}

}  // namespace

void configure(Config cfg) {
    if (cfg.path != g_config.path) g_file.reset();
    g_config = std::move(cfg);
}

const Config& config() { return g_config; }

std::string format_line(Level level, std::string_view msg, bool json, std::string_view time) {
    if (json) {
        // logrus' JSONFormatter: keys in alphabetical order.
        auto v = json::Value::object();
        v.set("level", json::Value::string(level_name(level)));
        v.set("msg", json::Value::string(std::string(msg)));
        v.set("time", json::Value::string(std::string(time)));
        return json::write(v) + "\n";
    }
    return cat("time=", quote(time), " level=", level_name(level), " msg=", quote(msg), "\n");
}

void write(Level level, std::string_view msg) {
    if (level == Level::Debug && !g_config.debug) return;
    // On stderr, keep the noise down to what a user must see.
    if (g_config.path.empty() && level == Level::Info && !g_config.debug) return;
    write_all(log_fd(), format_line(level, msg, g_config.json, now_rfc3339(g_config.json)));
}

void fatal(std::string_view msg) {
    if (!g_config.path.empty()) write(Level::Error, msg);
    write_all(STDERR_FILENO, cat(g_config.program, ": ", msg, "\n"));
}

}  // namespace berth::log
