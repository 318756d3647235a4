// What a pull shows while it runs, on stderr: on a terminal one line per
// blob, redrawn in place with bytes and rate; otherwise one plain line per
// blob when it is done ("Copying blob sha256:0123456789ab done"); nothing
// with --quiet.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace berth::manager {

class PullProgress {
public:
    enum class Mode { Quiet, Plain, Terminal };
    explicit PullProgress(Mode mode) : mode_(mode) {}
    ~PullProgress() { stop(); }

    // Adds a blob line; returns its index for the calls below.
    size_t add(const std::string& kind, const std::string& digest, uint64_t size);
    void bytes(size_t i, uint64_t n);
    void finish(size_t i, const char* how);  // "done", "skipped: already exists", "failed"
    void message(const std::string& s);      // a plain line ("Writing manifest ...")
    void start();                            // the terminal redraw thread
    void stop();

    // Each step as it happens, one at a time (berth serve turns them into
    // docker's JSON progress lines): a blob added (`text` empty), a blob
    // finished (`text` = how), or a message (`digest` empty).
    struct Event {
        std::string digest;
        std::string kind;  // "blob", "config", ...
        uint64_t size = 0;
        std::string text;
        bool finished = false;
    };
    void set_observer(std::function<void(const Event&)> f) { observer_ = std::move(f); }

private:
    struct Line {
        std::string kind, digest;
        uint64_t size = 0;
        std::atomic<uint64_t> done{0};
        std::atomic<const char*> state{nullptr};
        // When the first bytes came (a blob may wait for a free download slot).
        std::atomic<int64_t> started_ns{0};
    };
    void redraw(bool final);
    std::string render(const Line& l) const;
    Mode mode_;
    std::mutex mu_;
    std::deque<Line> lines_;  // stable addresses
    size_t drawn_ = 0;
    std::thread thread_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::function<void(const Event&)> observer_;
};

}  // namespace berth::manager
