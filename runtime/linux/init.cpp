#include "runtime/linux/init.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "libutil/json.hpp"
#include "libutil/signals.hpp"
#include "libutil/strings.hpp"
#include "runtime/container/hooks.hpp"
#include "runtime/linux/devices.hpp"
#include "runtime/linux/mounts.hpp"
#include "runtime/linux/process.hpp"
#include "runtime/linux/safe_path.hpp"
#include "runtime/linux/sync.hpp"
#include "runtime/linux/terminal.hpp"

namespace berth::runtime {

namespace {

constexpr long kKeyctlJoinSessionKeyring = 1;

std::string hook_state(const InitConfig& c, const char* status) {
    auto doc = json::Value::object();
    doc.set("ociVersion", json::Value::string(oci::kSpecVersion));
    doc.set("id", json::Value::string(c.id));
    doc.set("status", json::Value::string(status));
    doc.set("pid", json::Value::number(static_cast<int64_t>(::getpid())));
    doc.set("bundle", json::Value::string(c.bundle));
    if (!c.spec->annotations.empty()) {
        auto a = json::Value::object();
        for (auto& [k, v] : c.spec->annotations) a.set(k, json::Value::string(v));
        doc.set("annotations", std::move(a));
    }
    return json::write(doc);
}

// Namespaced sysctls only, each needing its namespace (runc's rules).
Result<void> check_sysctl(const std::string& key, const oci::Spec& spec) {
    auto has = [&](const char* t) { return spec.find_namespace(t) != nullptr; };
    if (key.starts_with("net.")) {
        if (has("network")) return {};
        return Err("linux.sysctl ", quote(key), ": needs a network namespace");
    }
    if (key.starts_with("kernel.msg") || key.starts_with("kernel.shm") || key == "kernel.sem" ||
        key.starts_with("fs.mqueue.")) {
        if (has("ipc")) return {};
        return Err("linux.sysctl ", quote(key), ": needs an ipc namespace");
    }
    if (key == "kernel.hostname" || key == "kernel.domainname") {
        if (has("uts")) return {};
        return Err("linux.sysctl ", quote(key), ": needs a uts namespace");
    }
    return Err("linux.sysctl ", quote(key), ": not a namespaced sysctl");
}

Result<void> apply_sysctls(const oci::Spec& spec) {
    if (!spec.linux) return {};
    for (auto& [k, v] : spec.linux->sysctl) {
        TRY(check_sysctl(k, spec));
        std::string rel = "sys/" + k;
        for (size_t i = 4; i < rel.size(); ++i)
            if (rel[i] == '.') rel[i] = '/';
        TRY_CTX(write_proc_file(rel, v), "linux.sysctl ", quote(k));
    }
    return {};
}

// A new network namespace has only lo, and down: bring it up (runc does).
// Stdio on the host's /dev/null is opened again on the container's (as runc
// does): a file on a mount outside the container's mount namespace is one
// CRIU cannot dump ("Can't lookup mount ... path=/dev/null").
Result<void> reopen_dev_null() {
    struct stat null_sb;
    if (::stat("/dev/null", &null_sb) < 0 || !S_ISCHR(null_sb.st_mode)) return {};
    for (int fd = 0; fd < 3; ++fd) {
        struct stat sb;
        if (::fstat(fd, &sb) < 0 || !S_ISCHR(sb.st_mode) || sb.st_rdev != null_sb.st_rdev) continue;
        if (sb.st_dev == null_sb.st_dev && sb.st_ino == null_sb.st_ino) continue;
        int flags = ::fcntl(fd, F_GETFL);
        UniqueFd n(::open("/dev/null", (flags >= 0 ? flags & O_ACCMODE : O_RDWR) | O_CLOEXEC));
        // A /dev/null the container cannot open (its /dev on a nodev mount,
        // a device cgroup without it) keeps the host's: the process runs as
        // it would have; only a checkpoint of it fails, with CRIU's message.
        // (runc fails the start here.)
        if (!n) continue;
        if (::dup2(n.get(), fd) < 0) return ErrnoErr("reopen fd ", fd, " on /dev/null");
    }
    return {};
}

struct Prepared {
    std::string exe;
    std::vector<std::string> env;
    bool late_seccomp = false;
};

bool keeps_sys_admin(const oci::Process& p) {
    if (!p.capabilities) return false;
    for (auto& n : p.capabilities->effective)
        if (n == "CAP_SYS_ADMIN") return true;
    return false;
}

Result<Prepared> setup(const InitConfig& c) {
    const oci::Spec& spec = *c.spec;
    const oci::Process& proc = *spec.process;
    TRY(sync_expect(c.sync_fd, SyncMsg::Go));

    // Namespaces the parent could not enter on our behalf.
    for (auto& j : c.ns->joins)
        if (j.flag == CLONE_NEWUSER) TRY(enter_namespace(j.fd.get(), j.flag, j.path));
    bool in_userns = c.ns->new_user() || c.ns->has_join(CLONE_NEWUSER);
    if (in_userns) {
        // The id maps are written: become the namespace's root.
        if (::setresgid(0, 0, 0) < 0) return ErrnoErr("setgid 0 in the user namespace");
        if (::setresuid(0, 0, 0) < 0) return ErrnoErr("setuid 0 in the user namespace");
    }
    for (auto& j : c.ns->joins)
        if (j.flag == CLONE_NEWNS) TRY(enter_namespace(j.fd.get(), j.flag, j.path));
    // The cgroup namespace is made here, after the parent placed us in our
    // cgroups, so that its root is the container's cgroup.
    if ((c.ns->new_flags & CLONE_NEWCGROUP) && ::unshare(CLONE_NEWCGROUP) < 0)
        return ErrnoErr("unshare the cgroup namespace");
    if (::setsid() < 0) return ErrnoErr("setsid");
    if (c.ns->new_flags & CLONE_NEWNET) TRY(loopback_up());
    if (!c.no_new_keyring) {
        // A fresh session keyring so containers do not share the host's.
        std::string name = "_ses." + c.id;
        if (::syscall(SYS_keyctl, kKeyctlJoinSessionKeyring, name.c_str()) < 0 && errno != ENOSYS)
            return ErrnoErr("join a new session keyring");
    }

    MountContext mc;
    mc.rootfs = c.rootfs;
    mc.new_userns = in_userns;
    mc.new_netns = (c.ns->new_flags & CLONE_NEWNET) || c.ns->has_join(CLONE_NEWNET);
    mc.new_cgroupns = c.ns->new_flags & CLONE_NEWCGROUP;
    mc.cgroup = c.cgroup;
    mc.idmapped = c.idmapped;
    mc.own_mountns = spec.find_namespace("mount") != nullptr;
    TRY(prepare_rootfs(spec, mc));
    TRY(mount_all(spec, mc));
    if (!spec_binds_dev(spec)) TRY(create_devices(spec, c.rootfs, in_userns));
    {
        UniqueFd root(::open(c.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!root) return ErrnoErr("open rootfs ", c.rootfs);
        TRY_CTX(mkdir_all_in_root(root.get(), proc.cwd), "process.cwd ", quote(proc.cwd));
    }

    if (!spec.hooks.prestart.empty() || !spec.hooks.create_runtime.empty()) {
        TRY(sync_send(c.sync_fd, SyncMsg::CreateRuntimeHooks));
        TRY(sync_expect(c.sync_fd, SyncMsg::HooksDone));
    }
    // createContainer hooks: in the container's namespaces, before pivot_root
    // (so their paths still resolve on the host, as the spec says).
    TRY(run_hooks(spec.hooks.create_container, hook_state(c, "creating"), "createContainer"));

    TRY(enter_rootfs(c.rootfs, c.no_pivot, mc.own_mountns));
    if (mc.own_mountns) TRY(reopen_dev_null());
    TRY(apply_sysctls(spec));
    if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) < 0)
        return ErrnoErr("set hostname ", quote(spec.hostname));
    if (!spec.domainname.empty() && ::setdomainname(spec.domainname.data(), spec.domainname.size()) < 0)
        return ErrnoErr("set domainname ", quote(spec.domainname));
    if (proc.terminal) TRY(setup_terminal(c.console_fd, proc));
    TRY(finalize_rootfs(spec, mc));

    Prepared out;
    out.env = process_env(proc);
    TRY(apply_rlimits(proc));
    TRY(apply_oom_score_adj(proc));
    TRY(apply_scheduler(proc));
    TRY(apply_io_priority(proc));
    TRY(apply_personality(spec));
    bool setgroups_ok = true;
    if (in_userns) {
        auto sg = read_file("/proc/self/setgroups");
        setgroups_ok = !sg || trim(*sg) != "deny";
    }
    // The filter goes in just before execve, so none of our own syscalls
    // meet it. Loading needs no_new_privs or CAP_SYS_ADMIN: a process that
    // will have neither gets it before the capabilities drop (runc's order).
    // A notify profile goes in before `create` returns, so that its
    // listener fd reaches the agent (through the parent) now.
    bool may_load_late = proc.no_new_privileges || keeps_sys_admin(proc);
    out.late_seccomp = may_load_late && !c.seccomp->notify();
    UniqueFd listener;
    // The cwd first (as root, as runc does): a filter loaded now may deny
    // the syscalls it takes.
    TRY(enter_cwd(proc.cwd));
    if (!may_load_late) listener = TRY(c.seccomp->load());
    TRY(apply_credentials(proc, setgroups_ok));
    out.exe = TRY(resolve_executable(proc));
    if (may_load_late && c.seccomp->notify()) listener = TRY(c.seccomp->load());
    if (listener) {
        TRY(sync_send(c.sync_fd, SyncMsg::SeccompListener));
        TRY(send_fd(c.sync_fd, listener.get(), "seccomp"));
    }
    return out;
}

[[noreturn]] void die(const std::string& msg) {
    std::string line = "berth-runtime init: " + msg + "\n";
    (void)!::write(2, line.data(), line.size());
    ::_exit(127);
}

// After `start`: the remaining steps that must follow it.
[[noreturn]] void exec_process(const InitConfig& c, const Prepared& prep) {
    const std::string& exe = prep.exe;
    const oci::Spec& spec = *c.spec;
    // Blocks until `start` opens the fifo for reading.
    int fifo = ::openat(c.state_dir_fd, "exec.fifo", O_WRONLY | O_CLOEXEC);
    if (fifo < 0) die(cat("open exec fifo: ", std::strerror(errno)));
    if (::write(fifo, "0", 1) != 1) die(cat("write exec fifo: ", std::strerror(errno)));
    // The write end stays open (close-on-exec): `start` reads to EOF, so it
    // returns once the process is exec'd, after the startContainer hooks.
    ::close(c.state_dir_fd);

    if (auto r = run_hooks(spec.hooks.start_container, hook_state(c, "created"), "startContainer"); !r)
        die(r.error().what());

    std::vector<std::string> env = prep.env;
    env.insert(env.end(), c.extra_env.begin(), c.extra_env.end());
    std::vector<char*> envp, argv;
    for (auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    for (auto& a : spec.process->args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    // Only stdio and the preserved fds reach the process.
    for (int fd = 3; fd < 3 + c.extra_fds; ++fd) ::fcntl(fd, F_SETFD, 0);
    ::syscall(SYS_close_range, 3 + c.extra_fds, ~0U, CLOSE_RANGE_CLOEXEC);
    if (auto r = apply_lsm_labels(*spec.process); !r) die(r.error().what());
    if (prep.late_seccomp)
        if (auto r = c.seccomp->load(); !r) die(r.error().what());
    ::execve(exe.c_str(), argv.data(), envp.data());
    die(cat("exec ", quote(exe), ": ", std::strerror(errno)));
}

}  // namespace

[[noreturn]] void container_init(const InitConfig& c) {
    // The runtime installs no signal handlers (run forwards through a
    // signalfd) but ignores SIGPIPE (see main) and blocks what run forwards.
    reset_signals();
    // Die with the parent until we are set up (the parent cleans up).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // Until execve this process is berth-runtime: not dumpable, so nothing in
    // the container can open /proc/1/exe and overwrite the host's binary
    // through it (CVE-2019-5736). execve makes the process dumpable again.
    ::prctl(PR_SET_DUMPABLE, 0);

    auto prep = setup(c);
    if (!prep) {
        (void)sync_send(c.sync_fd, SyncMsg::Error, prep.error().code, prep.error().message);
        ::_exit(1);
    }
    // From here the container outlives `create` (cleared before Ready, so
    // the parent's exit cannot race with it).
    ::prctl(PR_SET_PDEATHSIG, 0);
    if (!sync_send(c.sync_fd, SyncMsg::Ready)) ::_exit(1);
    ::close(c.sync_fd);
    if (c.console_fd >= 0) ::close(c.console_fd);
    exec_process(c, *prep);
}

}  // namespace berth::runtime
