#include "shim/runtime_cmd.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "libutil/fd.hpp"
#include "libutil/json.hpp"
#include "libutil/signals.hpp"
#include "libutil/strings.hpp"

namespace berth::shim {

std::vector<std::string> runtime_argv(const Options& o, const std::string& log,
                                      std::vector<std::string> verb_args) {
    std::vector<std::string> a{o.runtime};
    if (!o.runtime_root.empty()) {
        a.push_back("--root");
        a.push_back(o.runtime_root);
    }
    a.insert(a.end(), o.runtime_args.begin(), o.runtime_args.end());
    if (!log.empty()) {
        a.insert(a.end(), {"--log", log, "--log-format", "json"});
    }
    a.insert(a.end(), verb_args.begin(), verb_args.end());
    return a;
}

namespace {

// In the child between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_child(char* const* argv, Stdio io, int err_pipe) {
    int null = ::open("/dev/null", O_RDWR);
    int fds[3] = {io.in, io.out, io.err};
    // dup to high numbers first so that 0/1/2 can be reassigned in any order.
    for (int& fd : fds) fd = ::fcntl(fd < 0 ? null : fd, F_DUPFD_CLOEXEC, 3);
    for (int i = 0; i < 3; ++i) ::dup2(fds[i], i);  // dup2 clears CLOEXEC
    sigset_t none;
    sigemptyset(&none);
    for (int s = 1; s < NSIG; ++s) ::signal(s, SIG_DFL);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execvp(argv[0], argv);
    int e = errno;
    [[maybe_unused]] auto n = ::write(err_pipe, &e, sizeof e);
    ::_exit(127);
}

}  // namespace

Result<pid_t> spawn(const std::vector<std::string>& argv, Stdio io) {
    std::vector<char*> av;
    for (const auto& s : argv) av.push_back(const_cast<char*>(s.c_str()));
    av.push_back(nullptr);
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return ErrnoErr("pipe");
    UniqueFd rd(p[0]), wr(p[1]);
    pid_t pid = ::fork();
    if (pid < 0) return ErrnoErr("fork");
    if (pid == 0) exec_child(av.data(), io, wr.get());
    wr.reset();
    int e = 0;
    ssize_t n;
    do n = ::read(rd.get(), &e, sizeof e);
    while (n < 0 && errno == EINTR);
    if (n == sizeof e) {
        ::waitpid(pid, nullptr, 0);
        return CodeErr(e, "exec ", argv[0]);
    }
    return pid;
}

Result<int> wait_for(pid_t pid) {
    int st;
    while (::waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) return ErrnoErr("wait for ", pid);
    }
    return st;
}

std::string describe_status(int st) {
    if (WIFSIGNALED(st)) return "killed by " + signal_name(WTERMSIG(st));
    return cat("exited with status ", WEXITSTATUS(st));
}

std::string last_log_error(const std::string& log) {
    auto text = read_file(log);
    if (!text) return "";
    std::string msg;
    for (const auto& line : split(*text, '\n')) {
        auto v = json::parse(line);
        if (!v || !v->is_object()) continue;
        const json::Value* level = v->find("level");
        const json::Value* m = v->find("msg");
        if (level && level->is_string() && m && m->is_string() &&
            (level->as_string() == "error" || level->as_string() == "fatal"))
            msg = m->as_string();
    }
    return msg;
}

Result<void> run_captured(const std::vector<std::string>& argv, const std::string& log) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return ErrnoErr("pipe");
    UniqueFd rd(p[0]), wr(p[1]);
    if (!log.empty()) ::truncate(log.c_str(), 0);
    pid_t pid = TRY(spawn(argv, Stdio{-1, wr.get(), wr.get()}));
    wr.reset();
    char buf[4096];
    size_t len = 0;
    for (;;) {
        ssize_t n = ::read(rd.get(), buf + len, sizeof buf - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += n;
        if (len == sizeof buf) len = 0;  // keep reading to EOF; the tail matters less
    }
    int st = TRY(wait_for(pid));
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return {};
    std::string msg = last_log_error(log);
    if (msg.empty()) msg = std::string(trim(std::string_view(buf, len)));
    if (msg.empty()) msg = describe_status(st);
    return Err(msg);
}

}  // namespace berth::shim
