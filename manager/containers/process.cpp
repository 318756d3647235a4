#include "manager/containers/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "libutil/fd.hpp"
#include "libutil/strings.hpp"

extern char** environ;

namespace berth::manager {

Result<ProgramOutput> run_program(const std::vector<std::string>& argv, const std::string& stdin_path) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) < 0) return ErrnoErr("pipe");
    UniqueFd out_r(out[0]), out_w(out[1]);
    if (::pipe2(err, O_CLOEXEC) < 0) return ErrnoErr("pipe");
    UniqueFd err_r(err[0]), err_w(err[1]);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (!stdin_path.empty()) posix_spawn_file_actions_addopen(&fa, 0, stdin_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
    posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid;
    int rc = ::posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) return CodeErr(rc, "run ", argv[0]);
    out_w.reset();
    err_w.reset();
    ProgramOutput po;
    pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
    std::string* sinks[2] = {&po.out, &po.err};
    int open_count = 2;
    char buf[8192];
    while (open_count > 0) {
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !fds[i].revents) continue;
            ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                sinks[i]->append(buf, static_cast<size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                fds[i].fd = -1;
                --open_count;
            }
        }
    }
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return ErrnoErr("wait for ", argv[0]);
    po.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return po;
}

std::string last_line(const std::string& text) {
    auto lines = split(text, '\n');
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
        std::string l(trim(*it));
        if (l.empty()) continue;
        for (const char* prefix : {"berth-runtime: ", "berth-shim: ", "runc: ", "crun: ", "Error: "})
            if (l.starts_with(prefix)) l = l.substr(std::string_view(prefix).size());
        return l;
    }
    return "";
}

std::string self_exe() {
    char buf[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return "berth";
    return std::string(buf, static_cast<size_t>(n));
}

std::string find_berth_program(const std::string& name) {
    std::string exe = self_exe();
    std::string dir = exe.substr(0, exe.rfind('/'));
    std::vector<std::string> candidates = {dir + "/" + name, dir + "/../sbin/" + name, dir + "/../libexec/berth/" + name};
#ifdef BERTH_LIBEXECDIR
    candidates.push_back(std::string(BERTH_LIBEXECDIR) + "/" + name);
#endif
    for (const auto& c : candidates)
        if (::access(c.c_str(), X_OK) == 0) return clean_path(c);
    const char* path = std::getenv("PATH");
    for (const auto& d : split(path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ':')) {
        if (d.empty()) continue;
        std::string c = d + "/" + name;
        if (::access(c.c_str(), X_OK) == 0) return c;
    }
    return "";
}

bool process_alive(pid_t pid, const std::string& comm) {
    if (pid <= 0) return false;
    auto c = read_file(cat("/proc/", pid, "/comm"));
    if (!c) return false;
    // A zombie still has its comm: read its state too.
    auto st = read_file(cat("/proc/", pid, "/stat"));
    if (st) {
        auto close = st->rfind(')');
        if (close != std::string::npos && close + 2 < st->size() && (*st)[close + 2] == 'Z') return false;
    }
    return std::string(trim(*c)) == comm.substr(0, 15);
}

}  // namespace berth::manager
