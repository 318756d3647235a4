#include "runtime/container/exec.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "libutil/signals.hpp"
#include "libutil/strings.hpp"
#include "runtime/container/state.hpp"
#include "runtime/linux/cgroups.hpp"
#include "runtime/linux/namespaces.hpp"
#include "runtime/linux/process.hpp"
#include "runtime/linux/seccomp.hpp"
#include "runtime/linux/terminal.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace berth::runtime {

namespace {

bool same_ns(pid_t pid, const char* name) {
    struct stat a, b;
    return ::stat(cat("/proc/", pid, "/ns/", name).c_str(), &a) == 0 &&
           ::stat(cat("/proc/self/ns/", name).c_str(), &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

struct ChildConfig {
    const oci::Process* proc;
    int pidfd;
    int ns_flags;
    bool in_userns;
    int console_fd;
    int err_fd;
    int extra_fds;
    const SeccompFilter* seccomp;
    std::vector<std::string> v1_tasks;  // the container's v1 `tasks` files
    int listener_sock = -1;             // where a notify listener fd goes
    int cgroup_fd = -1;                 // the parent's cgroup2 dir (closed at once)
};

[[noreturn]] void child_fail(int fd, const Error& e) {
    std::string m = e.what();
    (void)!::write(fd, m.data(), m.size());
    ::_exit(127);
}

Result<std::string> child_setup(const ChildConfig& c, std::vector<std::string>& env, bool& late_seccomp) {
    // Into the v1 cgroups by moving ourselves (the fast path, and only this
    // process is counted against pids.max), before leaving the host's user
    // namespace.
    for (auto& t : c.v1_tasks) TRY_CTX(write_file(t, "0"), "join cgroup");
    if (c.ns_flags && ::setns(c.pidfd, c.ns_flags) < 0) return ErrnoErr("enter the container's namespaces");
    // Host fds the process must not inherit or reach through
    // /proc/self/fd (CVE-2024-21626): every fd is close-on-exec, and those
    // that are directories or processes on the host are closed now.
    ::close(c.pidfd);
    if (c.cgroup_fd >= 0) ::close(c.cgroup_fd);
    if (c.in_userns) {
        if (::setresgid(0, 0, 0) < 0) return ErrnoErr("setgid 0 in the user namespace");
        if (::setresuid(0, 0, 0) < 0) return ErrnoErr("setuid 0 in the user namespace");
    }
    if (::setsid() < 0) return ErrnoErr("setsid");
    const oci::Process& p = *c.proc;
    if (p.terminal) TRY(setup_terminal(c.console_fd, p, false));
    env = process_env(p);
    TRY(apply_rlimits(p));
    TRY(apply_oom_score_adj(p));
    TRY(apply_scheduler(p));
    TRY(apply_io_priority(p));
    bool sys_admin = false;
    if (p.capabilities)
        for (auto& n : p.capabilities->effective) sys_admin |= n == "CAP_SYS_ADMIN";
    bool may_load_late = p.no_new_privileges || sys_admin;
    // A notify profile goes in before the exec, so that its listener fd can
    // be handed to the runtime (and on to the agent) while we still can.
    late_seccomp = may_load_late && !c.seccomp->notify();
    UniqueFd listener;
    // The cwd first (as root, as runc does): a filter loaded now may deny
    // the syscalls it takes.
    TRY(enter_cwd(p.cwd));
    if (!may_load_late) listener = TRY(c.seccomp->load());
    bool setgroups_ok = true;
    if (c.in_userns) {
        auto sg = read_file("/proc/self/setgroups");
        setgroups_ok = !sg || trim(*sg) != "deny";
    }
    TRY(apply_credentials(p, setgroups_ok));
    auto exe = TRY(resolve_executable(p));
    if (may_load_late && c.seccomp->notify()) listener = TRY(c.seccomp->load());
    if (listener) TRY(send_fd(c.listener_sock, listener.get(), "seccomp"));
    return exe;
}

[[noreturn]] void exec_child(const ChildConfig& c) {
    // Not dumpable until execve: see container_init (CVE-2019-5736).
    ::prctl(PR_SET_DUMPABLE, 0);
    reset_signals();  // as container_init
    std::vector<std::string> env;
    bool late = false;
    auto exe = child_setup(c, env, late);
    if (!exe) child_fail(c.err_fd, exe.error());
    std::vector<char*> argv, envp;
    for (auto& a : c.proc->args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    for (int fd = 3; fd < 3 + c.extra_fds; ++fd) ::fcntl(fd, F_SETFD, 0);
    ::syscall(SYS_close_range, 3 + c.extra_fds, ~0U, CLOSE_RANGE_CLOEXEC);
    if (auto r = apply_lsm_labels(*c.proc); !r) child_fail(c.err_fd, r.error());
    if (late)
        if (auto r = c.seccomp->load(); !r) child_fail(c.err_fd, r.error());
    ::execve(exe->c_str(), argv.data(), envp.data());
    child_fail(c.err_fd, Error{errno, "exec " + quote(*exe)});
}

}  // namespace

Result<std::vector<CgroupDir>> exec_cgroup_dirs(const Cgroup& cg, const std::vector<std::string>& subs) {
    std::vector<CgroupDir> dirs = cg.dirs();
    if (subs.empty()) return dirs;
    // controller ("" = every hierarchy) -> path below the container's cgroup
    std::map<std::string, std::string> want;
    for (auto& arg : subs) {
        std::string ctrls, path = arg;
        if (auto colon = arg.find(':'); colon != std::string::npos) {
            ctrls = arg.substr(0, colon);
            path = arg.substr(colon + 1);
        }
        std::string clean = clean_path("/" + path);
        if (path.empty() || clean == "/" || path.find("..") != std::string::npos)
            return Err("--cgroup ", quote(arg), ": expected [CONTROLLER[,CONTROLLER...]:]PATH with PATH below the container's cgroup");
        if (ctrls.empty()) {
            want[""] = clean;
            continue;
        }
        if (cg.layout() == CgroupLayout::V2)
            return Err("--cgroup ", quote(arg), ": controllers cannot be named on cgroup v2 (one unified hierarchy)");
        for (auto& c : split(ctrls, ',')) {
            bool known = false;
            for (auto& d : dirs) known |= d.has(c) || (d.v2 && c == "unified");
            if (!known) return Err("--cgroup ", quote(arg), ": no cgroup hierarchy for controller ", quote(c));
            want[c] = clean;
        }
    }
    for (auto& d : dirs) {
        const std::string* sub = nullptr;
        for (auto& [c, p] : want)
            if (!c.empty() && (d.has(c) || (d.v2 && c == "unified"))) sub = &p;
        if (!sub && want.count("")) sub = &want[""];
        if (!sub) continue;
        std::string path = d.path + *sub;
        struct stat sb;
        if (::stat(path.c_str(), &sb) < 0) return ErrnoErr("--cgroup: sub-cgroup ", quote(path));
        if (!S_ISDIR(sb.st_mode)) return Err("--cgroup: sub-cgroup ", quote(path), ": not a directory");
        d.path = path;
    }
    return dirs;
}

Result<Executed> exec_in_container(const GlobalOptions& g, const ExecOptions& o) {
    auto st = TRY(load_state(g.root, o.id));
    Status s = container_status(st);
    if (s == Status::Stopped) return Err("cannot exec in a stopped container");
    if (s == Status::Paused && !o.ignore_paused)
        return Err("cannot exec in a paused container (use --ignore-paused to override)");
    auto spec = TRY(oci::parse_spec(st.config));
    const oci::Process& p = o.process;
    TRY(validate_process(p, spec));
    if (p.terminal && o.console_socket.empty() && !o.console_proxy)
        return Err("cannot allocate tty if berth-runtime will detach without setting console socket");
    auto seccomp = TRY(saved_seccomp(spec, state_dir(g.root, o.id) + "/seccomp.bpf"));

    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, st.pid, 0)));
    if (!pidfd || process_start_time(st.pid) != st.start_time) return Err("cannot exec in a stopped container");

    // The namespaces the container has (all of them, whether made or joined).
    int flags = 0;
    if (spec.linux)
        for (auto& ns : spec.linux->namespaces) flags |= namespace_flag(ns.type);
    bool in_userns = (flags & CLONE_NEWUSER) && !same_ns(st.pid, "user");
    if (!in_userns) flags &= ~CLONE_NEWUSER;
    // pid and time namespaces only apply to children: we enter them, the
    // child is born inside.
    int for_children = flags & (CLONE_NEWPID | CLONE_NEWTIME);
    if (for_children && ::setns(pidfd.get(), for_children) < 0)
        return ErrnoErr("enter the container's pid namespace");
    int child_flags = flags & ~(CLONE_NEWPID | CLONE_NEWTIME);

    Console con;
    if (p.terminal) con = TRY(open_console(o.console_socket));
    UniqueFd& console = con.fd;
    UniqueFd& console_peer = con.peer;
    int ep[2];
    if (::pipe2(ep, O_CLOEXEC) < 0) return ErrnoErr("pipe");
    UniqueFd err_r(ep[0]), err_w(ep[1]);

    Cgroup cg = Cgroup::from_json(st.cgroup);
    auto dirs = TRY(exec_cgroup_dirs(cg, o.sub_cgroups));
    UniqueFd unified;
    for (auto& d : dirs)
        if (d.v2) unified.reset(::open(d.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));

    // The child hands a seccomp notify listener back over this pair.
    UniqueFd listener_r, listener_w;
    if (seccomp.notify()) {
        int sp[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) return ErrnoErr("socketpair");
        listener_r.reset(sp[0]);
        listener_w.reset(sp[1]);
    }

    ChildConfig cc{&p, pidfd.get(), child_flags, in_userns, console.get(), err_w.get(), o.preserve_fds, &seccomp, {},
                   listener_w.get(), unified.get()};
    for (auto& d : dirs)
        if (!d.v2) cc.v1_tasks.push_back(d.path + "/tasks");
    struct clone_args ca {};
    int child_pidfd = -1;
    ca.flags = CLONE_PIDFD | (unified ? CLONE_INTO_CGROUP : 0);
    ca.pidfd = reinterpret_cast<uint64_t>(&child_pidfd);
    ca.exit_signal = SIGCHLD;
    ca.cgroup = unified ? static_cast<uint64_t>(unified.get()) : 0;
    pid_t pid = static_cast<pid_t>(::syscall(SYS_clone3, &ca, sizeof ca));
    if (pid == 0) exec_child(cc);
    if (pid < 0) return ErrnoErr("clone the exec process");
    Executed out;
    out.pid = pid;
    out.pidfd.reset(child_pidfd);
    err_w.reset();
    console.reset();
    listener_w.reset();
    if (listener_r) {
        // EOF without an fd: the child failed first (its error follows).
        if (auto l = recv_fd(listener_r.get())) {
            auto sent = send_seccomp_listener(seccomp, l->get(), pid, oci_state(st, s));
            if (!sent) {
                ::kill(pid, SIGKILL);
                ::waitpid(pid, nullptr, 0);
                return std::unexpected(sent.error());
            }
        }
    }
    // EOF: the exec happened (the pipe is close-on-exec); text: the error.
    std::string msg;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(err_r.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0) msg.append(buf, static_cast<size_t>(n));
    if (!msg.empty()) {
        ::waitpid(pid, nullptr, 0);
        return Err(msg);
    }
    if (console_peer) out.console_master = TRY(recv_fd(console_peer.get()));
    if (!o.pid_file.empty()) TRY_CTX(write_file_atomic(o.pid_file, std::to_string(pid), 0644), "--pid-file");
    return out;
}

}  // namespace berth::runtime
