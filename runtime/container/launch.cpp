#include "runtime/container/launch.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <filesystem>

#include "libutil/log.hpp"
#include "libutil/strings.hpp"
#include "runtime/container/hooks.hpp"
#include "runtime/container/validate.hpp"
#include "runtime/linux/init.hpp"
#include "runtime/linux/mounts.hpp"
#include "runtime/linux/namespaces.hpp"
#include "runtime/linux/seccomp.hpp"
#include "runtime/linux/sync.hpp"
#include "runtime/linux/terminal.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace berth::runtime {

namespace {

// Removes a half-made state dir unless committed.
struct StateDirGuard {
    std::string dir;
    bool committed = false;
    ~StateDirGuard() {
        if (committed || dir.empty()) return;
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
};

// Without its own mount namespace a container's mounts are the host's:
// undone when create fails.
struct HostMountsGuard {
    std::string rootfs;
    bool committed = false;
    ~HostMountsGuard() {
        if (!committed && !rootfs.empty()) unmount_under(rootfs);
    }
};

struct CgroupGuard {
    Cgroup* cg = nullptr;
    bool committed = false;
    ~CgroupGuard() {
        if (!committed && cg) (void)cg->destroy();
    }
};

// Kills and reaps the half-made init unless committed.
struct ChildGuard {
    pid_t pid = -1;
    bool committed = false;
    ~ChildGuard() {
        if (committed || pid <= 0) return;
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
    }
};

// The OCI state with a given status, as hooks and the seccomp agent get it.
json::Value state_doc(const ContainerState& st, const char* status) {
    auto doc = oci_state(st, Status::Created);
    doc.set("status", json::Value::string(status));
    return doc;
}

std::string hook_state(const ContainerState& st, const char* status) { return json::write(state_doc(st, status)); }

Result<std::string> absolute_bundle(const std::string& b) {
    if (!b.empty() && b[0] == '/') return clean_path(b);
    char cwd[PATH_MAX];
    if (!::getcwd(cwd, sizeof cwd)) return ErrnoErr("getcwd");
    return clean_path(std::string(cwd) + "/" + (b.empty() ? "." : b));
}

// Waits until the process behind `pidfd` has exited (it may not be our child).
void wait_exit(int pidfd, int timeout_ms) {
    struct pollfd p {pidfd, POLLIN, 0};
    while (::poll(&p, 1, timeout_ms) < 0 && errno == EINTR) {
    }
}

// Namespaces the runtime enters for the clone (the child inherits them) and
// leaves right after, so hooks and the rest of create run on the host's.
struct NamespaceSwitch {
    std::vector<std::pair<int, UniqueFd>> saved;  // flag, our original ns
    Result<void> enter(int fd, int flag, const std::string& what) {
        UniqueFd orig(::open(cat("/proc/self/ns/", namespace_proc_name(flag)).c_str(), O_RDONLY | O_CLOEXEC));
        if (!orig) return ErrnoErr("open our own ", namespace_proc_name(flag), " namespace");
        TRY(enter_namespace(fd, flag, what));
        saved.emplace_back(flag, std::move(orig));
        return {};
    }
    Result<void> unshare_time(const oci::Linux& l) {
        UniqueFd orig(::open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC));
        if (!orig) return ErrnoErr("open our own time namespace");
        if (::unshare(CLONE_NEWTIME) < 0) return ErrnoErr("unshare the time namespace");
        saved.emplace_back(CLONE_NEWTIME, std::move(orig));
        TRY_CTX(write_time_offsets(l), "linux.timeOffsets");
        return {};
    }
    ~NamespaceSwitch() {
        for (auto it = saved.rbegin(); it != saved.rend(); ++it) ::setns(it->second.get(), it->first);
    }
};

// Fds handed to the container: LISTEN_FDS (socket activation of the runtime
// itself, passed through as runc does) then --preserve-fds.
int listen_fds(std::vector<std::string>& env) {
    const char* fds = ::getenv("LISTEN_FDS");
    const char* pid = ::getenv("LISTEN_PID");
    if (!fds || !pid) return 0;
    auto n = parse_u64(fds);
    auto p = parse_u64(pid);
    if (!n || !p || *p != static_cast<uint64_t>(::getpid()) || *n == 0) return 0;
    env.push_back(cat("LISTEN_FDS=", *n));
    env.push_back("LISTEN_PID=1");
    return static_cast<int>(*n);
}

}  // namespace

Result<Created> create_container(const GlobalOptions& g, const CreateOptions& o) {
    TRY(validate_id(o.id));
    std::string bundle = TRY(absolute_bundle(o.bundle));
    // Read once: parsed for the spec and kept as JSON in state.json.
    auto config_text = read_file(bundle + "/config.json");
    if (!config_text) return std::unexpected(config_text.error());
    auto config_doc = json::parse(*config_text);
    if (!config_doc) return Wrap(config_doc.error(), "config.json");
    auto spec = TRY(oci::parse_spec(*config_doc));
    std::string rootfs = TRY(validate_spec(spec, bundle));
    const oci::Process& proc = *spec.process;
    if (proc.terminal && o.console_socket.empty() && !o.console_proxy)
        return Err("cannot allocate tty if berth-runtime will detach without setting console socket");
    auto ns = TRY(plan_namespaces(spec));
    auto seccomp = TRY(cached_seccomp(spec, kSeccompCacheDir));
    std::vector<std::pair<size_t, UniqueFd>> idmapped;
    for (size_t i = 0; i < spec.mounts.size(); ++i)
        if (is_idmapped(spec.mounts[i])) idmapped.emplace_back(i, TRY(make_idmapped_tree(spec.mounts[i])));

    // The state dir is the lock on the id: mkdir fails for a duplicate.
    TRY_CTX(mkdir_all(g.root, 0711), "create state root ", g.root);
    std::string dir = state_dir(g.root, o.id);
    if (::mkdir(dir.c_str(), 0711) < 0) {
        if (errno == EEXIST) return Err("container with id ", quote(o.id), " already exists");
        return ErrnoErr("create state dir ", dir);
    }
    StateDirGuard dir_guard{dir};
    // 0622: the init writes it after dropping to the container's user.
    if (::mkfifo((dir + "/exec.fifo").c_str(), 0622) < 0) return ErrnoErr("create exec fifo");
    ::chmod((dir + "/exec.fifo").c_str(), 0622);
    UniqueFd dir_fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir_fd) return ErrnoErr("open ", dir);
    TRY(seccomp.save(dir + "/seccomp.bpf"));

    HostMountsGuard host_mounts{spec.find_namespace("mount") ? std::string() : rootfs};
    auto cgroup = TRY(Cgroup::create(spec, o.id, g.systemd_cgroup));
    CgroupGuard cg_guard{&cgroup};

    Console con;
    if (proc.terminal) con = TRY(open_console(o.console_socket));
    UniqueFd& console = con.fd;
    UniqueFd& console_peer = con.peer;

    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) return ErrnoErr("socketpair");
    UniqueFd parent_sock(sp[0]), child_sock(sp[1]);

    InitConfig ic;
    ic.spec = &spec;
    ic.id = o.id;
    ic.bundle = bundle;
    ic.rootfs = rootfs;
    ic.sync_fd = child_sock.get();
    ic.console_fd = console.get();
    ic.state_dir_fd = dir_fd.get();
    ic.no_pivot = o.no_pivot;
    ic.no_new_keyring = o.no_new_keyring;
    ic.extra_fds = listen_fds(ic.extra_env) + o.preserve_fds;
    ic.ns = &ns;
    ic.cgroup = &cgroup;
    ic.seccomp = &seccomp;
    ic.idmapped = &idmapped;

    // clone3 makes the new namespaces; those joined by path are entered
    // around the clone (user and mount ones by the init itself).
    uint64_t flags = static_cast<uint64_t>(ns.new_flags & ~(CLONE_NEWCGROUP | CLONE_NEWTIME));
    pid_t pid;
    int pidfd = -1;
    bool into_cgroup = cgroup.unified_fd() >= 0;
    {
        NamespaceSwitch nss;
        for (auto& j : ns.joins)
            if (j.flag != CLONE_NEWUSER && j.flag != CLONE_NEWNS) TRY(nss.enter(j.fd.get(), j.flag, j.path));
        if (ns.new_flags & CLONE_NEWTIME) TRY(nss.unshare_time(*spec.linux));

        struct clone_args ca {};
        ca.flags = flags | CLONE_PIDFD | (into_cgroup ? CLONE_INTO_CGROUP : 0);
        ca.pidfd = reinterpret_cast<uint64_t>(&pidfd);
        ca.exit_signal = SIGCHLD;
        ca.cgroup = into_cgroup ? static_cast<uint64_t>(cgroup.unified_fd()) : 0;
        TRY(cgroup.enter_self());
        pid = static_cast<pid_t>(::syscall(SYS_clone3, &ca, sizeof ca));
        if (pid < 0 && into_cgroup && (errno == EINVAL || errno == ENOSYS || errno == EBUSY)) {
            // Older kernels (or a busy domain cgroup): clone, then move.
            into_cgroup = false;
            ca.flags &= ~static_cast<uint64_t>(CLONE_INTO_CGROUP);
            ca.cgroup = 0;
            pid = static_cast<pid_t>(::syscall(SYS_clone3, &ca, sizeof ca));
        }
        if (pid == 0) {
            parent_sock.reset();
            container_init(ic);
        }
        int clone_errno = errno;
        auto left = cgroup.leave_self();
        if (pid < 0) return CodeErr(clone_errno, "clone the container init");
        if (!left) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
            return std::unexpected(left.error());
        }
    }
    UniqueFd pidfd_owner(pidfd);
    ChildGuard child{pid};
    child_sock.reset();
    console.reset();

    if (!into_cgroup) TRY(cgroup.place(pid, spec, o.id));
    TRY(cgroup.apply_limits(spec));
    if (ns.new_user()) TRY(write_id_maps(pid, *spec.linux));
    TRY(sync_send(parent_sock.get(), SyncMsg::Go));

    ContainerState st;
    st.id = o.id;
    st.bundle = bundle;
    st.rootfs = rootfs;
    st.pid = pid;
    st.dir = dir;
    st.created = now_rfc3339();
    st.own_pid_ns = ns.new_flags & CLONE_NEWPID;
    st.cgroup = cgroup.to_json();
    st.config = std::move(*config_doc);

    for (;;) {
        auto msg = sync_recv(parent_sock.get());
        if (!msg) {
            // The init died without a word: report how.
            int status = 0;
            if (::waitpid(pid, &status, 0) == pid) {
                child.pid = -1;
                if (WIFSIGNALED(status))
                    return Err("container init killed by signal ", WTERMSIG(status), " during setup");
            }
            return std::unexpected(msg.error());
        }
        if (msg->type == SyncMsg::Error) return CodeErr(msg->code, msg->text);
        if (msg->type == SyncMsg::Ready) break;
        if (msg->type == SyncMsg::CreateRuntimeHooks) {
            // prestart keeps its runtime-spec 1.0 meaning (the container is
            // created, not started), as crun reports it; createRuntime runs
            // while it is being created.
            TRY(run_hooks(spec.hooks.prestart, hook_state(st, "created"), "prestart"));
            TRY(run_hooks(spec.hooks.create_runtime, hook_state(st, "creating"), "createRuntime"));
            TRY(sync_send(parent_sock.get(), SyncMsg::HooksDone));
            continue;
        }
        if (msg->type == SyncMsg::SeccompListener) {
            auto listener = TRY(recv_fd(parent_sock.get()));
            TRY(send_seccomp_listener(seccomp, listener.get(), pid, state_doc(st, "creating")));
            continue;
        }
        return Err("sync: unexpected message from the container init");
    }

    UniqueFd master;
    if (console_peer) master = TRY(recv_fd(console_peer.get()));
    st.start_time = process_start_time(pid);
    TRY(save_state(st));
    if (!o.pid_file.empty()) TRY_CTX(write_file_atomic(o.pid_file, std::to_string(pid), 0644), "--pid-file");
    child.committed = cg_guard.committed = dir_guard.committed = host_mounts.committed = true;
    return Created{std::move(st), std::move(pidfd_owner), std::move(master)};
}

Result<void> start_container(const GlobalOptions& g, const std::string& id) {
    auto st = TRY(load_state(g.root, id));
    Status s = container_status(st);
    if (s == Status::Stopped) return Err("cannot start a container that has stopped");
    if (s != Status::Created) return Err("cannot start an already running container");
    std::string fifo = st.dir + "/exec.fifo";
    // The init is blocked opening the write side; opening the read side
    // releases it. O_NONBLOCK: never hang if the init is gone.
    UniqueFd fd(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd) return ErrnoErr("open exec fifo");
    ::fcntl(fd.get(), F_SETFL, 0);
    char c;
    ssize_t n;
    {
        // If the init died between the status check and now, read gives EOF
        // only once a writer has come and gone; poll with the pidfd instead.
        int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, st.pid, 0));
        struct pollfd p[2] = {{fd.get(), POLLIN, 0}, {pidfd, POLLIN, 0}};
        for (;;) {
            int r = ::poll(p, pidfd >= 0 ? 2 : 1, -1);
            if (r < 0 && errno == EINTR) continue;
            break;
        }
        if (!(p[0].revents & POLLIN) && pidfd >= 0 && (p[1].revents & POLLIN)) {
            ::close(pidfd);
            return Err("cannot start a container that has stopped");
        }
        if (pidfd >= 0) ::close(pidfd);
        n = ::read(fd.get(), &c, 1);
        // Then EOF: the init's write end closes when it execs the process.
        char rest[16];
        for (ssize_t r = n; n == 1;) {
            r = ::read(fd.get(), rest, sizeof rest);
            if (r == 0 || (r < 0 && errno != EINTR)) break;
        }
    }
    ::unlink(fifo.c_str());
    if (n != 1) return Err("cannot start a container that has stopped");
    auto spec = oci::parse_spec(st.config);
    if (spec && !spec->hooks.poststart.empty()) {
        run_hooks_warn(spec->hooks.poststart, hook_state(st, "running"), "poststart");
    }
    return {};
}

Result<void> kill_container(const ContainerState& st, int sig, bool all) {
    Status s = container_status(st);
    if (s == Status::Stopped && !all) return Err("container not running");
    if (all) return Cgroup::from_json(st.cgroup).signal_all(sig);
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, st.pid, 0));
    if (pidfd < 0) return Err("container not running");
    UniqueFd guard(pidfd);
    // The pid could have been reused between the status check and pidfd_open.
    if (process_start_time(st.pid) != st.start_time) return Err("container not running");
    if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) < 0) return ErrnoErr("kill container");
    return {};
}

Result<void> delete_container(const ContainerState& st, bool force) {
    Status s = container_status(st);
    if ((s == Status::Running || s == Status::Paused) && !force)
        return Err("cannot delete container ", st.id, " that is not stopped: ", status_name(s));
    Cgroup cg = Cgroup::from_json(st.cgroup);
    if (s != Status::Stopped) {
        int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, st.pid, 0));
        UniqueFd guard(pidfd);
        if (s == Status::Paused) {
            // A frozen process cannot die: thaw first.
            for (auto& d : cg.dirs())
                if (d.has("freezer")) (void)write_file(d.path + "/freezer.state", "THAWED");
                else if (d.v2 && cg.layout() == CgroupLayout::V2) (void)write_file(d.path + "/cgroup.freeze", "0");
        }
        if (pidfd >= 0 && process_start_time(st.pid) == st.start_time) {
            ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
            wait_exit(pidfd, 10000);
        }
    }
    // Without its own pid namespace, the init's death leaves its children.
    if (!st.own_pid_ns) (void)cg.signal_all(SIGKILL);
    // Keep the state while the cgroup stays, so that a later delete --force
    // can finish the job.
    TRY_CTX(cg.destroy(), "delete ", st.id);
    auto spec = oci::parse_spec(st.config);
    if (spec && !spec->find_namespace("mount") && !st.rootfs.empty()) unmount_under(st.rootfs);
    if (spec && !spec->hooks.poststop.empty()) {
        run_hooks_warn(spec->hooks.poststop, hook_state(st, "stopped"), "poststop");
    }
    // Another delete of the same container (a shim's --delete beside its
    // engine's delete --force) may be removing the dir at the same time: what
    // it removed first is not an error.
    std::error_code ec;
    for (int tries = 0; tries < 3; ++tries) {
        std::filesystem::remove_all(st.dir, ec);
        if (!ec || ec != std::errc::no_such_file_or_directory) break;
    }
    if (ec && ec != std::errc::no_such_file_or_directory) return Err("remove ", st.dir, ": ", ec.message());
    return {};
}

}  // namespace berth::runtime
