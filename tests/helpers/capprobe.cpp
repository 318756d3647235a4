// capprobe: prints what the process got, one line:
//   uid=R euid=E CapInh=X CapPrm=X CapEff=X CapBnd=X CapAmb=X NoNewPrivs=N
// capprobe fds: prints the open fds instead ("fds: 0 1 2"), each with its
// target when above 2 ("fds: 0 1 2 5=/some/path").
// capprobe ignore-all PROG ARGS...: runs PROG with every signal ignored that
// can be, glibc's internal 32 and 33 included (which a shell's trap cannot
// reach), as some CI runners start their jobs.
// capprobe hold-lock FILE: takes an flock on FILE, prints "locked", waits
// until /tmp/stop exists, prints "done". capprobe try-lock FILE: exits 0
// when an flock on FILE can be taken at once, 1 when it is held.
// (busybox has no flock applet here; the checkpoint tests need one.)
// Linked statically so that it runs in a busybox rootfs; the security tests
// install it setuid-root to check that no_new_privs and a dropped bounding
// set hold.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int list_fds() {
    DIR* d = ::opendir("/proc/self/fd");
    if (!d) {
        std::perror("capprobe: /proc/self/fd");
        return 1;
    }
    std::vector<int> fds;
    while (auto* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        int fd = std::atoi(e->d_name);
        if (fd != ::dirfd(d)) fds.push_back(fd);
    }
    std::printf("fds:");
    for (int fd : fds) {
        std::printf(" %d", fd);
        if (fd > 2) {
            char target[PATH_MAX] = {};
            std::string link = "/proc/self/fd/" + std::to_string(fd);
            ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
            std::printf("=%s", n > 0 ? target : "?");
        }
    }
    std::printf("\n");
    ::closedir(d);
    return 0;
}

// The kernel's sigaction with SIG_IGN (1) as the handler and nothing else.
int ignore_all_and_exec(char** argv) {
    alignas(8) unsigned long ign[8] = {1};
    for (int sig = 1; sig < NSIG; ++sig)
        if (sig != SIGKILL && sig != SIGSTOP) ::syscall(SYS_rt_sigaction, sig, ign, nullptr, (NSIG - 1) / 8);
    ::execvp(argv[0], argv);
    std::perror(argv[0]);
    return 127;
}

int hold_lock(const char* path) {
    int fd = ::open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || ::flock(fd, LOCK_EX) < 0) {
        std::perror(path);
        return 1;
    }
    std::printf("locked\n");
    std::fflush(stdout);
    while (::access("/tmp/stop", F_OK) != 0) ::usleep(50000);
    std::printf("done\n");
    return 0;
}

int try_lock(const char* path) {
    int fd = ::open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        std::perror(path);
        return 2;
    }
    return ::flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "fds") == 0) return list_fds();
    if (argc > 2 && std::strcmp(argv[1], "ignore-all") == 0) return ignore_all_and_exec(argv + 2);
    if (argc == 3 && std::strcmp(argv[1], "hold-lock") == 0) return hold_lock(argv[2]);
    if (argc == 3 && std::strcmp(argv[1], "try-lock") == 0) return try_lock(argv[2]);
    std::printf("uid=%u euid=%u", getuid(), geteuid());
    FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) {
        std::perror("capprobe: /proc/self/status");
        return 1;
    }
    char line[256];
    while (std::fgets(line, sizeof line, f)) {
        static const char* keys[] = {"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:"};
        for (const char* k : keys) {
            size_t n = std::strlen(k);
            if (std::strncmp(line, k, n) != 0) continue;
            const char* v = line + n;
            while (*v == ' ' || *v == '\t') ++v;
            std::printf(" %.*s=%.*s", static_cast<int>(n - 1), k, static_cast<int>(std::strcspn(v, "\n")), v);
        }
    }
    std::printf("\n");
    std::fclose(f);
    return 0;
}
