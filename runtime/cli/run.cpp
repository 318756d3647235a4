#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/cli/commands.hpp"
#include "runtime/container/launch.hpp"

namespace berth::runtime {

extern const std::vector<FlagSpec> kCreateFlags;
Result<CreateOptions> create_options(const Args& a, const char* verb);

namespace {

// Forwards signals to the init until it exits; returns its exit code (128+N
// for a signal, as a shell reports it).
int wait_forwarding(pid_t pid, int pidfd, int sigfd) {
    for (;;) {
        struct pollfd p[2] = {{pidfd, POLLIN, 0}, {sigfd, POLLIN, 0}};
        if (::poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        if (p[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (::read(sigfd, &si, sizeof si) == sizeof si) {
                int s = static_cast<int>(si.ssi_signo);
                if (s != SIGCHLD && s != SIGURG && s != SIGWINCH) ::kill(pid, s);
            }
        }
        if (p[0].revents & POLLIN) {
            int status = 0;
            while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
            return 1;
        }
    }
}

}  // namespace

int cmd_run(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, kCreateFlags);
    if (!a) return fail(a.error());
    auto o = create_options(*a, "run");
    if (!o) return fail(o.error());
    bool detach = a->has("detach");
    bool keep = a->has("keep");
    if (detach && keep) return fail({0, "--detach and --keep cannot be used together"});

    // Block signals before the container exists so none is lost; the init
    // unblocks them for itself.
    sigset_t all, old;
    sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, &old);
    int sigfd = detach ? -1 : ::signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);

    auto c = create_container(g, *o);
    if (!c) return fail(c.error());
    if (auto r = start_container(g, o->id); !r) {
        (void)delete_container(c->state, true);
        return fail(r.error());
    }
    if (detach) return 0;
    int code = wait_forwarding(c->state.pid, c->pidfd.get(), sigfd);
    if (!keep) {
        if (auto r = delete_container(c->state, true); !r) return fail(r.error());
    }
    return code;
}

}  // namespace berth::runtime
