// berth-init: the init of `berth run --init`, pid 1 of a container whose
// command is not written to be one. It runs the command as its child,
// forwards the signals it gets to it, reaps every process that is reparented
// to it, and exits with the command's status. See berth-init(8).
//
// Only libc: the binary is bind-mounted into containers of any distribution
// and runs for the container's whole life, so it is static and small.
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>

namespace {

const char kUsage[] =
    "usage: berth-init [--] COMMAND [ARG...]\n"
    "Runs COMMAND as the child of an init: signals are forwarded to it, orphans are\n"
    "reaped, and the exit status is COMMAND's (128+N when a signal N killed it).\n";

// The init's own failures (bad usage, fork): the command never ran. 126 and
// 127 are the command's (found but not executable, not found), as in shells
// and docker.
constexpr int kInitFailed = 125;
constexpr int kNotExecutable = 126;
constexpr int kNotFound = 127;

[[noreturn]] void die(int status, const char* what, int err) {
    if (err != 0) {
        fprintf(stderr, "berth-init: %s: %s\n", what, strerror(err));
    } else {
        fprintf(stderr, "berth-init: %s\n", what);
    }
    _exit(status);
}

// Signals about the init itself, never forwarded: faults keep their default
// action (a bug in the init should kill it, not loop), and SIGTTIN/SIGTTOU are
// ignored because the command's process group, not ours, owns the terminal.
bool is_own_signal(int sig) {
    switch (sig) {
        case SIGFPE:
        case SIGILL:
        case SIGSEGV:
        case SIGBUS:
        case SIGABRT:
        case SIGTRAP:
        case SIGSYS:
        case SIGTTIN:
        case SIGTTOU:
            return true;
        default:
            return false;
    }
}

// What the command gets back in the child before exec: the signal mask and
// the actions of the signals the init changes, as the init was started with.
constexpr int kChangedActions[] = {SIGTTIN, SIGTTOU, SIGCHLD};
struct SavedSignals {
    sigset_t mask;
    struct sigaction actions[std::size(kChangedActions)];
};

// Every other signal is blocked and collected by sigwaitinfo. Blocked
// signals reach a pid 1 even when it has no handler: the kernel drops
// unhandled signals to a namespace's init only when they are not blocked.
void take_signals(sigset_t* waited, SavedSignals* saved) {
    sigfillset(waited);
    for (int sig = 1; sig < NSIG; sig++) {
        if (is_own_signal(sig)) sigdelset(waited, sig);
    }
    if (sigprocmask(SIG_SETMASK, waited, &saved->mask) != 0) die(kInitFailed, "sigprocmask", errno);
    // SIGCHLD at its default: a parent that left it ignored would make the
    // kernel reap our children before we could read the command's status.
    for (size_t i = 0; i < std::size(kChangedActions); i++) {
        struct sigaction act {};
        act.sa_handler = kChangedActions[i] == SIGCHLD ? SIG_DFL : SIG_IGN;
        sigemptyset(&act.sa_mask);
        if (sigaction(kChangedActions[i], &act, &saved->actions[i]) != 0) die(kInitFailed, "sigaction", errno);
    }
}

// In the child: its own process group, which becomes the terminal's
// foreground group when the init's group had it, so an interactive shell
// gets job control and ^C reaches the command and not the init. (SIGTTOU is
// still blocked here, which tcsetpgrp from a background group needs.) A
// terminal that the init does not hold in the foreground is left alone.
void become_foreground() {
    pid_t parent_group = getpgrp();
    if (setpgid(0, 0) != 0) die(kInitFailed, "setpgid", errno);
    if (isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == parent_group) {
        if (tcsetpgrp(STDIN_FILENO, getpgrp()) != 0 && errno != ENOTTY && errno != ENXIO) {
            die(kInitFailed, "tcsetpgrp", errno);
        }
    }
}

[[noreturn]] void exec_command(char** argv, const SavedSignals& saved) {
    become_foreground();
    for (size_t i = 0; i < std::size(kChangedActions); i++) {
        if (sigaction(kChangedActions[i], &saved.actions[i], nullptr) != 0) die(kInitFailed, "sigaction", errno);
    }
    if (sigprocmask(SIG_SETMASK, &saved.mask, nullptr) != 0) die(kInitFailed, "sigprocmask", errno);
    execvp(argv[0], argv);
    int err = errno;
    // ENOENT from a PATH search: say where it looked.
    if ((err == ENOENT || err == ENOTDIR) && strchr(argv[0], '/') == nullptr) {
        // (Without PATH, execvp searches glibc's default, /bin:/usr/bin.)
        const char* path = getenv("PATH");
        fprintf(stderr, "berth-init: exec %s: not found in PATH (%s)\n", argv[0], path ? path : "unset: /bin:/usr/bin");
        _exit(kNotFound);
    }
    fprintf(stderr, "berth-init: exec %s: %s\n", argv[0], strerror(err));
    _exit(err == ENOENT || err == ENOTDIR ? kNotFound : kNotExecutable);
}

int exit_code(int status) {
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

// Reaps every child that has exited. Returns true once `child` is among
// them, with its exit code in *code.
bool reap(pid_t child, int* code) {
    bool child_done = false;
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid < 0 && errno == EINTR) continue;
        if (pid <= 0) return child_done;
        if (pid == child) {
            *code = exit_code(status);
            child_done = true;
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    int first = 1;
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(kUsage, stdout);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--") == 0) {
        first = 2;
    } else if (argc > 1 && argv[1][0] == '-') {
        fprintf(stderr, "berth-init: unknown option %s\n%s", argv[1], kUsage);
        return kInitFailed;
    }
    if (first >= argc) {
        fprintf(stderr, "berth-init: no command given\n%s", kUsage);
        return kInitFailed;
    }

    // Outside a pid namespace of its own, orphans go to the nearest
    // subreaper: make that us, so they are still reaped here.
    if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) die(kInitFailed, "PR_SET_CHILD_SUBREAPER", errno);

    sigset_t waited;
    SavedSignals saved;
    take_signals(&waited, &saved);

    pid_t child = fork();
    if (child < 0) die(kInitFailed, "fork", errno);
    if (child == 0) exec_command(argv + first, saved);

    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&waited, &info);
        if (sig < 0) {
            if (errno == EINTR) continue;
            die(kInitFailed, "sigwaitinfo", errno);
        }
        if (sig == SIGCHLD) {
            int code;
            // The other processes of the container die with their pid 1
            // (the kernel kills them when it exits), as with tini and catatonit.
            if (reap(child, &code)) return code;
            continue;
        }
        // The child may have exited already: ESRCH is fine, its SIGCHLD is
        // on its way.
        kill(child, sig);
    }
}
