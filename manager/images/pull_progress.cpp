#include "manager/images/pull_progress.hpp"

#include <cstdio>

#include "libutil/error.hpp"

namespace berth::manager {

namespace {

std::string human(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
    return buf;
}

}  // namespace

namespace {
int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}
}  // namespace

void PullProgress::bytes(size_t i, uint64_t n) {
    Line& l = lines_[i];
    if (l.done.fetch_add(n, std::memory_order_relaxed) == 0) l.started_ns.store(now_ns(), std::memory_order_relaxed);
}

size_t PullProgress::add(const std::string& kind, const std::string& digest, uint64_t size) {
    std::lock_guard lk(mu_);
    Line& l = lines_.emplace_back();
    l.kind = kind;
    l.digest = digest;
    l.size = size;
    if (observer_) observer_(Event{digest, kind, size, "", false});
    return lines_.size() - 1;
}

std::string PullProgress::render(const Line& l) const {
    std::string s = cat("Copying ", l.kind, " ", l.digest.substr(0, 19));
    const char* st = l.state.load();
    if (st) return s + " " + st;
    uint64_t done = l.done.load(std::memory_order_relaxed);
    int64_t started = l.started_ns.load(std::memory_order_relaxed);
    double secs = started ? static_cast<double>(now_ns() - started) / 1e9 : 0;
    s += cat(" ", human(static_cast<double>(done)), " / ", human(static_cast<double>(l.size)));
    if (secs > 0.2) s += cat(" (", human(static_cast<double>(done) / secs), "/s)");
    return s;
}

void PullProgress::finish(size_t i, const char* how) {
    Line& l = lines_[i];
    l.state.store(how);
    if (observer_) {
        std::lock_guard lk(mu_);
        observer_(Event{l.digest, l.kind, l.size, how, true});
    }
    if (mode_ != Mode::Plain) return;
    std::lock_guard lk(mu_);
    std::fprintf(stderr, "%s\n", render(l).c_str());
}

void PullProgress::message(const std::string& s) {
    if (observer_) {
        std::lock_guard lk(mu_);
        observer_(Event{"", "", 0, s, false});
    }
    if (mode_ == Mode::Quiet) return;
    stop();  // on a terminal, below the blob lines, drawn for the last time
    std::lock_guard lk(mu_);
    std::fprintf(stderr, "%s\n", s.c_str());
}

void PullProgress::redraw(bool final) {
    // Called with mu_ held: move up over the lines drawn before, draw all again.
    std::string out;
    if (drawn_ > 0) out += cat("\x1b[", drawn_, "A");
    for (const auto& l : lines_)
        out += "\r\x1b[2K" + render(l) + "\n";
    drawn_ = lines_.size();
    std::fputs(out.c_str(), stderr);
    if (final) drawn_ = 0;
    std::fflush(stderr);
}

void PullProgress::start() {
    if (mode_ != Mode::Terminal) return;
    thread_ = std::thread([this] {
        std::unique_lock lk(mu_);
        while (!stopping_) {
            redraw(false);
            cv_.wait_for(lk, std::chrono::milliseconds(150));
        }
    });
}

void PullProgress::stop() {
    if (!thread_.joinable()) return;
    {
        std::lock_guard lk(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    std::lock_guard lk(mu_);
    redraw(true);
}

}  // namespace berth::manager
