#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/cli/commands.hpp"
#include "runtime/container/launch.hpp"

namespace berth::runtime {

extern const std::vector<FlagSpec> kCreateFlags;
Result<CreateOptions> create_options(const Args& a, const char* verb);

namespace {

// Copies what is readable on `from` to `to`; false at EOF or error.
bool pump(int from, int to) {
    char buf[8192];
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n <= 0) return n < 0 && (errno == EINTR || errno == EAGAIN);
    for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        off += w;
    }
    return true;
}

void copy_winsize(int from, int to) {
    struct winsize ws;
    if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

// Forwards signals to the init until it exits, and with a terminal copies
// stdin to the pty and the pty to stdout; returns the exit code (128+N for
// a signal, as a shell reports it).
int wait_forwarding(pid_t pid, int pidfd, int sigfd, int master) {
    bool in_open = master >= 0, out_open = master >= 0;
    if (master >= 0) copy_winsize(0, master);
    for (;;) {
        struct pollfd p[4] = {{pidfd, POLLIN, 0}, {sigfd, POLLIN, 0}, {in_open ? 0 : -1, POLLIN, 0},
                              {out_open ? master : -1, POLLIN, 0}};
        if (::poll(p, 4, -1) < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        if (p[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (::read(sigfd, &si, sizeof si) == sizeof si) {
                int s = static_cast<int>(si.ssi_signo);
                if (s == SIGWINCH && master >= 0) copy_winsize(0, master);
                else if (s != SIGCHLD && s != SIGURG && s != SIGWINCH) ::kill(pid, s);
            }
        }
        if (in_open && (p[2].revents & (POLLIN | POLLHUP | POLLERR))) {
            in_open = pump(0, master);
            // End of our stdin: end of input on the terminal (^D).
            if (!in_open) (void)!::write(master, "\x04", 1);
        }
        if (out_open && (p[3].revents & (POLLIN | POLLHUP | POLLERR))) out_open = pump(master, 1);
        if (p[0].revents & POLLIN) {
            // Drain what the process wrote before it exited.
            while (out_open && ::poll(&p[3], 1, 0) > 0 && (p[3].revents & POLLIN)) out_open = pump(master, 1);
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

int foreground(pid_t pid, int pidfd, int sigfd, int master) {
    // Raw mode while our terminal is the container's.
    struct termios saved;
    bool raw = master >= 0 && ::isatty(0) && ::tcgetattr(0, &saved) == 0;
    if (raw) {
        struct termios t = saved;
        ::cfmakeraw(&t);
        ::tcsetattr(0, TCSANOW, &t);
    }
    int code = wait_forwarding(pid, pidfd, sigfd, master);
    if (raw) ::tcsetattr(0, TCSANOW, &saved);
    return code;
}

int block_signals_fd() {
    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, nullptr);
    return ::signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);
}

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
    int sigfd = detach ? -1 : block_signals_fd();

    o->console_proxy = !detach && o->console_socket.empty();
    auto c = create_container(g, *o);
    if (!c) return fail(c.error());
    if (auto r = start_container(g, o->id); !r) {
        (void)delete_container(c->state, true);
        return fail(r.error());
    }
    if (detach) return 0;
    int code = foreground(c->state.pid, c->pidfd.get(), sigfd, c->console_master.get());
    if (!keep) {
        if (auto r = delete_container(c->state, true); !r) return fail(r.error());
    }
    return code;
}

}  // namespace berth::runtime
