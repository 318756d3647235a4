#include "runtime/container/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libutil/fd.hpp"
#include "libutil/log.hpp"
#include "libutil/strings.hpp"

namespace berth::runtime {

namespace {

int64_t now_ms() {
    struct timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Drains `fd` into `out` (bounded) without blocking.
void drain(int fd, std::string& out) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0)
        if (out.size() < 65536) out.append(buf, static_cast<size_t>(n));
}

Result<void> run_hook(const oci::Hook& h, const std::string& state_json) {
    int in[2], outp[2];
    if (::pipe2(in, O_CLOEXEC) < 0) return ErrnoErr("pipe");
    UniqueFd in_r(in[0]), in_w(in[1]);
    if (::pipe2(outp, O_CLOEXEC | O_NONBLOCK) < 0) return ErrnoErr("pipe");
    UniqueFd out_r(outp[0]), out_w(outp[1]);

    std::vector<const char*> argv, envp;
    for (auto& a : h.args) argv.push_back(a.c_str());
    if (argv.empty()) argv.push_back(h.path.c_str());
    argv.push_back(nullptr);
    for (auto& e : h.env) envp.push_back(e.c_str());
    envp.push_back(nullptr);

    int pidfd = -1;
    pid_t pid = static_cast<pid_t>(::syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, nullptr, &pidfd, nullptr, nullptr));
    if (pid < 0) return ErrnoErr("fork hook");
    if (pid == 0) {
        ::dup2(in_r.get(), 0);
        ::dup2(out_w.get(), 1);
        ::dup2(out_w.get(), 2);
        int fl = ::fcntl(1, F_GETFL);
        ::fcntl(1, F_SETFL, fl & ~O_NONBLOCK);
        sigset_t all;
        sigemptyset(&all);
        ::sigprocmask(SIG_SETMASK, &all, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        ::execve(h.path.c_str(), const_cast<char* const*>(argv.data()), const_cast<char* const*>(envp.data()));
        ::_exit(127);
    }
    UniqueFd pfd(pidfd);
    in_r.reset();
    out_w.reset();
    // The state is small (well under a pipe buffer); a hook that does not read
    // stdin must not block us, so write without waiting.
    ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);
    (void)!::write(in_w.get(), state_json.data(), state_json.size());
    in_w.reset();

    std::string output;
    int64_t deadline = h.timeout ? now_ms() + int64_t{*h.timeout} * 1000 : -1;
    bool timed_out = false;
    for (;;) {
        struct pollfd fds[2] = {{pfd.get(), POLLIN, 0}, {out_r.get(), POLLIN, 0}};
        int wait = deadline < 0 ? -1 : static_cast<int>(std::max<int64_t>(0, deadline - now_ms()));
        int r = ::poll(fds, out_r ? 2 : 1, wait);
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) {
            timed_out = true;
            ::syscall(SYS_pidfd_send_signal, pfd.get(), SIGKILL, nullptr, 0);
            break;
        }
        if (out_r && (fds[1].revents & (POLLIN | POLLHUP))) {
            drain(out_r.get(), output);
            if ((fds[1].revents & POLLHUP) && !(fds[1].revents & POLLIN)) out_r.reset();
        }
        if (fds[0].revents & POLLIN) break;
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (out_r) drain(out_r.get(), output);
    std::string detail = std::string(trim(output));
    if (!detail.empty()) detail = ", output: " + quote(detail);
    if (timed_out) return Err("timeout after ", *h.timeout, "s", detail);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && output.empty())
        return Err("cannot execute ", h.path);
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) return Err("exit status ", WEXITSTATUS(status), detail);
    if (WIFSIGNALED(status)) return Err("killed by signal ", WTERMSIG(status), detail);
    return {};
}

}  // namespace

Result<void> run_hooks(const std::vector<oci::Hook>& hooks, const std::string& state_json, const char* kind) {
    for (size_t i = 0; i < hooks.size(); ++i)
        TRY_CTX(run_hook(hooks[i], state_json), kind, " hook #", i, " (", hooks[i].path, ")");
    return {};
}

void run_hooks_warn(const std::vector<oci::Hook>& hooks, const std::string& state_json, const char* kind) {
    for (size_t i = 0; i < hooks.size(); ++i)
        if (auto r = run_hook(hooks[i], state_json); !r)
            log::warn(cat(kind, " hook #", i, " (", hooks[i].path, "): ", r.error().what()));
}

}  // namespace berth::runtime
