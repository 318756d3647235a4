#include "libutil/signals.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <optional>

#include "libutil/strings.hpp"

namespace berth {

namespace {

// The kernel's real-time range. glibc's SIGRTMIN is a function returning 34
// or more (it reserves two for NPTL); runc uses the kernel numbers, so do we.
constexpr int kRtMin = 34;
constexpr int kRtMax = 64;

struct SignalName {
    const char* name;
    int number;
};

// Linux (x86, arm, riscv...) numbering; the first name listed for a number
// is the one signal_name() returns.
constexpr SignalName kSignals[] = {
    {"SIGHUP", 1},        {"SIGINT", 2},    {"SIGQUIT", 3},    {"SIGILL", 4},
    {"SIGTRAP", 5},       {"SIGABRT", 6},   {"SIGIOT", 6},     {"SIGBUS", 7},
    {"SIGFPE", 8},        {"SIGKILL", 9},   {"SIGUSR1", 10},   {"SIGSEGV", 11},
    {"SIGUSR2", 12},      {"SIGPIPE", 13},  {"SIGALRM", 14},   {"SIGTERM", 15},
    {"SIGSTKFLT", 16},    {"SIGCHLD", 17},  {"SIGCLD", 17},    {"SIGCONT", 18},
    {"SIGSTOP", 19},      {"SIGTSTP", 20},  {"SIGTTIN", 21},   {"SIGTTOU", 22},
    {"SIGURG", 23},       {"SIGXCPU", 24},  {"SIGXFSZ", 25},   {"SIGVTALRM", 26},
    {"SIGPROF", 27},      {"SIGWINCH", 28}, {"SIGIO", 29},     {"SIGPOLL", 29},
    {"SIGPWR", 30},       {"SIGSYS", 31},   {"SIGUNUSED", 31}, {"SIGRTMIN", kRtMin},
    {"SIGRTMAX", kRtMax},
};

// "SIGRTMIN+N" / "SIGRTMAX-N" with the result inside the real-time range.
std::optional<int> parse_realtime(std::string_view name) {
    bool from_min = name.starts_with("SIGRTMIN+");
    if (!from_min && !name.starts_with("SIGRTMAX-")) return std::nullopt;
    auto off = parse_u64(name.substr(9));
    if (!off || *off > static_cast<uint64_t>(kRtMax - kRtMin)) return std::nullopt;
    int n = static_cast<int>(*off);
    return from_min ? kRtMin + n : kRtMax - n;
}

}  // namespace

Result<int> parse_signal(std::string_view s) {
    if (auto n = parse_u64(s)) {
        if (*n >= 1 && *n <= static_cast<uint64_t>(kRtMax)) return static_cast<int>(*n);
        return Err("unknown signal ", quote(s));
    }
    std::string name = to_upper(s);
    if (!name.starts_with("SIG")) name.insert(0, "SIG");
    for (const auto& sig : kSignals)
        if (name == sig.name) return sig.number;
    if (auto n = parse_realtime(name)) return *n;
    return Err("unknown signal ", quote(s));
}

std::string signal_name(int sig) {
    for (const auto& s : kSignals)
        if (s.number == sig) return s.name;
    // Same split as bash's `kill -l`: the lower half counts up from RTMIN.
    if (sig > kRtMin && sig < kRtMax) {
        if (sig <= (kRtMin + kRtMax) / 2) return cat("SIGRTMIN+", sig - kRtMin);
        return cat("SIGRTMAX-", kRtMax - sig);
    }
    return cat("SIG", sig);
}

void reset_signals() {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Through the system call, not sigaction(): glibc refuses its two internal
    // signals (32 and 33) with EINVAL, yet a caller may have ignored them (a
    // CI runner did) and SIG_IGN survives execve. An all-zero kernel sigaction
    // is SIG_DFL with no flags, no restorer and an empty mask on every
    // architecture, so its layout does not matter.
    alignas(8) unsigned char dfl[64] = {};
    for (int sig = 1; sig < NSIG; ++sig)
        if (sig != SIGKILL && sig != SIGSTOP) ::syscall(SYS_rt_sigaction, sig, dfl, nullptr, (NSIG - 1) / 8);
}

}  // namespace berth
