#include "runtime/container/checkpoint.hpp"

#include <criu.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <utility>

#include "libutil/log.hpp"
#include "libutil/strings.hpp"
#include "runtime/container/launch.hpp"
#include "runtime/container/validate.hpp"
#include "runtime/linux/terminal.hpp"

namespace berth::runtime {

namespace {

constexpr const char* kDumpLog = "dump.log";
constexpr const char* kRestoreLog = "restore.log";
constexpr const char* kDescriptors = "descriptors.json";

// libcriu's options, freed on every return.
struct CriuOpts {
    criu_opts* o = nullptr;
    CriuOpts() = default;
    CriuOpts(CriuOpts&& other) noexcept : o(std::exchange(other.o, nullptr)) {}
    CriuOpts(const CriuOpts&) = delete;
    CriuOpts& operator=(const CriuOpts&) = delete;
    ~CriuOpts() {
        if (o) criu_local_free_opts(o);
    }
};

// The CRIU binary: --criu as a path, or a name found in PATH. Checked here
// because libcriu's child only reports "Can't exec criu swrk" on stderr.
Result<std::string> find_criu(const GlobalOptions& g) {
    const std::string& c = g.criu;
    if (c.find('/') != std::string::npos) {
        if (::access(c.c_str(), X_OK) < 0) return ErrnoErr("criu binary ", c, " (--criu)");
        return c;
    }
    const char* path = ::getenv("PATH");
    for (auto& dir : split(path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ':')) {
        std::string p = (dir.empty() ? std::string(".") : dir) + "/" + c;
        struct stat sb;
        if (::stat(p.c_str(), &sb) == 0 && S_ISREG(sb.st_mode) && ::access(p.c_str(), X_OK) == 0) return p;
    }
    return Err("criu binary ", quote(c),
               " not found in PATH: checkpoint/restore needs CRIU 4 (tools/install-deps builds it) or --criu PATH");
}

Result<CriuOpts> new_opts(const std::string& criu) {
    CriuOpts c;
    if (criu_local_init_opts(&c.o) < 0) return Err("libcriu: cannot allocate options");
    if (criu_local_set_service_binary(c.o, criu.c_str()) < 0) return Err("libcriu: cannot set the criu binary");
    return c;
}

enum criu_cg_mode cg_mode(CgroupsMode m) {
    switch (m) {
        case CgroupsMode::Soft:
            return CRIU_CG_MODE_SOFT;
        case CgroupsMode::Full:
            return CRIU_CG_MODE_FULL;
        case CgroupsMode::Strict:
            return CRIU_CG_MODE_STRICT;
        case CgroupsMode::Ignore:
            return CRIU_CG_MODE_IGNORE;
        case CgroupsMode::Default:
            break;
    }
    return CRIU_CG_MODE_SOFT;  // runc's default
}

// Notifications (runc's NotifyScripts): nothing to do on any, but CRIU only
// hands over the new pty master ("orphan-pts-master") through them.
int on_notify(char*, criu_notify_arg_t) {
    return 0;
}

// The options checkpoint and restore share.
void common_opts(criu_opts* c, const CriuOptions& o, int images, int work, const char* log) {
    criu_local_set_images_dir_fd(c, images);
    criu_local_set_work_dir_fd(c, work);
    criu_local_set_log_level(c, 4);
    criu_local_set_log_file(c, log);
    criu_local_set_manage_cgroups(c, true);
    criu_local_set_manage_cgroups_mode(c, cg_mode(o.cgroups_mode));
    criu_local_set_shell_job(c, o.shell_job);
    criu_local_set_ext_unix_sk(c, o.ext_unix_sk);
    criu_local_set_tcp_established(c, o.tcp_established);
    criu_local_set_file_locks(c, o.file_locks);
    criu_local_set_empty_ns(c, o.empty_ns);
    criu_local_set_auto_dedup(c, o.auto_dedup);
    // The container's pty master is outside the dump (with whoever holds
    // the console socket's end): CRIU dumps the slave and, at restore,
    // makes a new pair and hands the master back to us.
    criu_local_set_orphan_pts_master(c, true);
    criu_local_set_notify_cb(c, on_notify);
}

// Points fd 2 at /dev/null while it lives (for the dump only: at restore
// the restored process inherits our stderr).
struct QuietStderr {
    int saved = ::dup(2);
    QuietStderr() {
        int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null >= 0 && saved >= 0) ::dup2(null, 2);
        if (null >= 0) ::close(null);
    }
    ~QuietStderr() {
        if (saved < 0) return;
        ::dup2(saved, 2);
        ::close(saved);
    }
};

// A CRIU failure as one line: what failed, CRIU's own last errors from its
// log, and where the log is.
Error criu_error(int rc, const std::string& what, const std::string& log_path) {
    std::string detail;
    if (auto text = read_file(log_path)) detail = criu_log_error(*text);
    if (detail.empty()) {
        if (rc == -ECOMM || rc == -ECONNREFUSED || rc == -EBADMSG)
            detail = "criu swrk did not answer (libcriu error " + std::to_string(-rc) + ")";
        else
            detail = "libcriu error " + std::to_string(-rc);
    }
    return Error{0, what + ": " + detail + " (log: " + log_path + ")"};
}

// Opens (making it 0700 if missing) a directory CRIU writes to.
Result<UniqueFd> open_dir(const std::string& path, bool create, bool* created, const char* flag) {
    if (create) {
        // Its parents too, as runc (MkdirAll); only the dir itself counts as
        // created (a failed dump removes it).
        if (auto slash = path.find_last_of('/'); slash != std::string::npos && slash > 0)
            if (auto r = mkdir_all(path.substr(0, slash), 0700); !r) return Wrap(r.error(), cat(flag, " ", path));
        if (::mkdir(path.c_str(), 0700) == 0) {
            if (created) *created = true;
        } else if (errno != EEXIST) {
            return ErrnoErr(flag, " ", path);
        }
    }
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return ErrnoErr(flag, " ", path);
    return fd;
}

std::set<std::string> dir_entries(const std::string& path) {
    std::set<std::string> out;
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator(path, ec))
        out.insert(e.path().filename());
    return out;
}

// What a failed checkpoint wrote to the image dir goes (CRIU's log stays).
struct ImageDirGuard {
    std::string dir;
    bool created = false;
    std::set<std::string> before;
    std::string keep;  // the log, when it is written here
    bool committed = false;
    ~ImageDirGuard() {
        if (committed || dir.empty()) return;
        std::error_code ec;
        for (auto& name : dir_entries(dir))
            if (!before.count(name) && name != keep) std::filesystem::remove_all(dir + "/" + name, ec);
        if (created) ::rmdir(dir.c_str());  // only if empty
    }
};

// The hierarchies bound into the container under a cgroup mount when it has
// no cgroup namespace of its own (runtime/linux/mounts.cpp): hierarchy name
// ("" for a single cgroup2 bind at the mount itself) -> host dir.
std::vector<std::pair<std::string, std::string>> cgroup_binds(const oci::Spec& spec, const Cgroup& cg) {
    std::vector<std::pair<std::string, std::string>> out;
    bool own_ns = false;
    for (auto& n : spec.linux ? spec.linux->namespaces : std::vector<oci::Namespace>{})
        if (n.type == "cgroup" && n.path.empty()) own_ns = true;
    if (own_ns || cg.dirs().empty()) return out;
    if (cg.layout() == CgroupLayout::V2) {
        out.emplace_back("", cg.dirs()[0].path);
        return out;
    }
    for (auto& d : cg.dirs())
        out.emplace_back(d.hierarchy, d.path);
    return out;
}

std::string external_ns_key(const std::string& type) {
    return type == "network" ? "extRootNetNS" : "extRootPidNS";
}
std::string criu_ns_name(const std::string& type) {
    return type == "network" ? "net" : type;
}

}  // namespace

int criu_version(const GlobalOptions& g) {
    auto bin = find_criu(g);
    if (!bin) return 0;
    auto c = new_opts(*bin);
    if (!c) return 0;
    int v = criu_local_get_version(c->o);
    return v > 0 ? v : 0;
}

Result<void> checkpoint_container(const GlobalOptions& g, const ContainerState& st, const CriuOptions& o) {
    Status s = container_status(st);
    if (s != Status::Running && s != Status::Paused) return Err("container ", quote(st.id), " is not running");
    if (o.lazy_pages) return Err("--lazy-pages: not supported by this build (libcriu has no lazy-pages option)");
    auto spec = TRY(oci::parse_spec(st.config));
    std::string criu = TRY(find_criu(g));
    auto c = TRY(new_opts(criu));
    if (o.pre_dump || !o.parent_path.empty()) {
        // Pre-dumps track what changed through the kernel's soft-dirty bits.
        struct criu_feature_check f {};
        f.mem_track = true;
        if (criu_local_feature_check(c.o, &f, sizeof f) < 0 || !f.mem_track)
            return Err(o.pre_dump ? "--pre-dump" : "--parent-path",
                       ": CRIU cannot track memory changes on this kernel (no CONFIG_MEM_SOFT_DIRTY: `criu check "
                       "--feature mem_dirty_track` fails)");
    }

    ImageDirGuard images_guard;
    images_guard.dir = o.image_path;
    images_guard.before = dir_entries(o.image_path);
    auto images = TRY(open_dir(o.image_path, true, &images_guard.created, "--image-path"));
    std::string work_path = o.work_path.empty() ? o.image_path : o.work_path;
    UniqueFd work =
        o.work_path.empty() ? UniqueFd(::dup(images.get())) : TRY(open_dir(o.work_path, true, nullptr, "--work-path"));
    std::string log_path = work_path + "/" + kDumpLog;
    if (o.work_path.empty()) images_guard.keep = kDumpLog;
    ::unlink(log_path.c_str());

    common_opts(c.o, o, images.get(), work.get(), kDumpLog);
    criu_local_set_pid(c.o, st.pid);
    criu_local_set_root(c.o, st.rootfs.c_str());
    criu_local_set_leave_running(c.o, o.leave_running);
    criu_local_set_tcp_skip_in_flight(c.o, o.tcp_skip_in_flight);
    criu_local_set_link_remap(c.o, o.link_remap);
    if (!o.page_server_address.empty())
        criu_local_set_page_server_address_port(c.o, o.page_server_address.c_str(), o.page_server_port);
    if (!o.parent_path.empty()) {
        criu_local_set_parent_images(c.o, o.parent_path.c_str());
        criu_local_set_track_mem(c.o, true);
    }
    if (o.pre_dump) criu_local_set_track_mem(c.o, true);
    Cgroup cg = Cgroup::from_json(st.cgroup);
    // CRIU freezes through the freezer when there is one (else by ptrace):
    // the v1 freezer, which holds the tasks on a hybrid host, else the
    // cgroup2 dir (cgroup.freeze), as runc gives it.
    const CgroupDir* freezer = nullptr;
    for (auto& d : cg.dirs())
        if (d.has("freezer") || (d.v2 && !freezer)) freezer = &d;
    if (freezer) criu_local_set_freeze_cgroup(c.o, freezer->path.c_str());
    // Namespaces joined by path stay outside the dump: restore joins them again.
    for (auto& n : spec.linux ? spec.linux->namespaces : std::vector<oci::Namespace>{}) {
        if (n.path.empty() || (n.type != "network" && n.type != "pid")) continue;
        struct stat sb;
        if (::stat(n.path.c_str(), &sb) < 0) return ErrnoErr("linux.namespaces: ", n.type, " path ", n.path);
        std::string ext = criu_ns_name(n.type) + "[" + std::to_string(sb.st_ino) + "]:" + external_ns_key(n.type);
        criu_local_add_external(c.o, ext.c_str());
    }
    if (!o.pre_dump) {
        std::vector<std::string> masked;
        if (spec.linux)
            for (auto& p : spec.linux->masked_paths) {
                struct stat sb;
                std::string in = "/proc/" + std::to_string(st.pid) + "/root/" + p;
                if (::stat(in.c_str(), &sb) == 0 && !S_ISDIR(sb.st_mode)) masked.push_back(p);
            }
        for (auto& m : external_mounts(spec, st.bundle, cgroup_binds(spec, cg), masked, false))
            criu_local_add_ext_mount(c.o, m.key.c_str(), m.value.c_str());
        // The init's stdio, so that restore can hand the same kind of fds back.
        std::vector<std::string> fds;
        for (int fd = 0; fd < 3; ++fd) {
            char buf[PATH_MAX];
            std::string link = "/proc/" + std::to_string(st.pid) + "/fd/" + std::to_string(fd);
            ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
            fds.push_back(n > 0 ? std::string(buf, static_cast<size_t>(n)) : "/dev/null");
        }
        TRY_CTX(write_file_atomic(o.image_path + "/" + kDescriptors, descriptors_json(fds), 0600), "--image-path");
    }
    int rc;
    {
        // libcriu reports a crashed `criu swrk` with perror lines of its own;
        // the error below says it in one line (CRIU's log has the rest).
        QuietStderr quiet;
        rc = o.pre_dump ? criu_local_pre_dump(c.o) : criu_local_dump(c.o);
    }
    if (rc < 0) return std::unexpected(criu_error(rc, o.pre_dump ? "criu pre-dump" : "criu dump", log_path));
    images_guard.committed = true;
    // runc's behaviour: a container dumped without --leave-running is gone
    // (CRIU killed it) and deleted, so that its id is free for the restore.
    if (!o.leave_running && !o.pre_dump) TRY(delete_container(st, true));
    return {};
}

namespace {

// Puts this process into the container's cgroups (libcriu's `criu swrk`
// child, and so the restored tree, is born there, as runc puts CRIU into
// them) and back where it was when done.
struct CgroupVisit {
    std::vector<std::string> back;  // cgroup.procs of where we were
    Result<void> enter(const Cgroup& cg) {
        auto self = TRY(read_file("/proc/self/cgroup"));
        for (auto& d : cg.dirs()) {
            std::string mount = "/sys/fs/cgroup" + (d.hierarchy.empty() ? std::string() : "/" + d.hierarchy);
            for (auto& line : split(self, '\n')) {
                auto f = split(line, ':');
                if (f.size() < 3) continue;
                bool match = d.v2 ? f[1].empty() : f[1] == d.mount_opts;
                if (match) back.push_back(mount + line.substr(f[0].size() + f[1].size() + 2) + "/cgroup.procs");
            }
            TRY_CTX(write_file(d.path + "/cgroup.procs", "0"), "join cgroup ", d.path);
        }
        return {};
    }
    ~CgroupVisit() {
        for (auto& p : back)
            (void)write_file(p, "0");
    }
};

// The rootfs bound at STATE/criu-root: CRIU's root must be a mount point
// whose parent is not overmounted (runc does the same).
struct RootBind {
    std::string path;
    bool mounted = false;
    ~RootBind() {
        if (mounted) ::umount2(path.c_str(), MNT_DETACH);
        if (!path.empty()) ::rmdir(path.c_str());
    }
};

// Kills and reaps a restored init on a later failure.
struct RestoredGuard {
    pid_t pid = -1;
    bool committed = false;
    ~RestoredGuard() {
        if (committed || pid <= 0) return;
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
    }
};

struct DirGuard {
    std::string dir;
    bool committed = false;
    ~DirGuard() {
        if (committed || dir.empty()) return;
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
};

struct CgGuard {
    Cgroup* cg = nullptr;
    bool committed = false;
    ~CgGuard() {
        if (!committed && cg) (void)cg->destroy();
    }
};

Result<std::string> absolute(const std::string& p) {
    if (!p.empty() && p[0] == '/') return clean_path(p);
    char cwd[PATH_MAX];
    if (!::getcwd(cwd, sizeof cwd)) return ErrnoErr("getcwd");
    return clean_path(std::string(cwd) + "/" + (p.empty() ? "." : p));
}

}  // namespace

Result<Restored> restore_container(const GlobalOptions& g, const RestoreOptions& o) {
    const CriuOptions& co = o.criu;
    TRY(validate_id(o.id));
    if (co.lazy_pages) return Err("--lazy-pages: not supported by this build (libcriu has no lazy-pages option)");
    if (g.systemd_cgroup) return Err("restore with --systemd-cgroup: not supported yet");
    std::string bundle = TRY(absolute(o.bundle));
    auto config_text = read_file(bundle + "/config.json");
    if (!config_text) return std::unexpected(config_text.error());
    auto config_doc = json::parse(*config_text);
    if (!config_doc) return Wrap(config_doc.error(), "config.json");
    auto spec = TRY(oci::parse_spec(*config_doc));
    std::string rootfs = TRY(validate_spec(spec, bundle));
    if (spec.process->terminal && o.console_socket.empty())
        return Err("cannot allocate tty if berth-runtime will detach without setting console socket");

    // The images: a dir with CRIU's inventory and our descriptors.json.
    std::string image_path = TRY(absolute(co.image_path));
    auto images = TRY(open_dir(image_path, false, nullptr, "--image-path"));
    if (::faccessat(images.get(), "inventory.img", F_OK, 0) < 0)
        return ErrnoErr("--image-path ", image_path, ": no CRIU image (inventory.img)");
    std::string desc_file = image_path + "/" + kDescriptors;
    auto desc_text = read_file(desc_file);
    if (!desc_text) return std::unexpected(desc_text.error());
    auto descriptors = TRY(parse_descriptors(*desc_text, desc_file));
    std::string criu = TRY(find_criu(g));
    std::string work_path = co.work_path.empty() ? image_path : TRY(absolute(co.work_path));
    UniqueFd work =
        co.work_path.empty() ? UniqueFd(::dup(images.get())) : TRY(open_dir(work_path, true, nullptr, "--work-path"));
    std::string log_path = work_path + "/" + kRestoreLog;
    ::unlink(log_path.c_str());

    // Namespaces joined by path: net and pid were external at dump, the
    // others CRIU joins itself.
    auto c = TRY(new_opts(criu));
    std::vector<UniqueFd> ns_fds;
    for (auto& n : spec.linux ? spec.linux->namespaces : std::vector<oci::Namespace>{}) {
        if (n.path.empty()) continue;
        if (n.type == "network" || n.type == "pid") {
            // Not close-on-exec: `criu swrk` inherits it.
            UniqueFd fd(::open(n.path.c_str(), O_RDONLY));
            if (!fd) return ErrnoErr("linux.namespaces: ", n.type, " path ", n.path);
            criu_local_add_inherit_fd(c.o, fd.get(), external_ns_key(n.type).c_str());
            ns_fds.push_back(std::move(fd));
        } else if (n.type == "cgroup") {
            return Err("linux.namespaces: a cgroup namespace joined by path cannot be restored (CRIU cannot join one)");
        } else {
            criu_local_join_ns_add(c.o, criu_ns_name(n.type).c_str(), n.path.c_str(), nullptr);
        }
    }

    TRY_CTX(mkdir_all(g.root, 0711), "create state root ", g.root);
    std::string dir = state_dir(g.root, o.id);
    if (::mkdir(dir.c_str(), 0711) < 0) {
        if (errno == EEXIST) return Err("container with id ", quote(o.id), " already exists");
        return ErrnoErr("create state dir ", dir);
    }
    DirGuard dir_guard{dir};
    auto cgroup = TRY(Cgroup::create(spec, o.id, false));
    CgGuard cg_guard{&cgroup};
    UniqueFd console;
    if (spec.process->terminal) console = TRY(connect_console_socket(o.console_socket));

    RootBind root{dir + "/criu-root"};
    if (::mkdir(root.path.c_str(), 0755) < 0) {
        root.path.clear();
        return ErrnoErr("mkdir ", dir, "/criu-root");
    }
    if (::mount(rootfs.c_str(), root.path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
        return ErrnoErr("bind ", rootfs, " at ", root.path);
    root.mounted = true;

    common_opts(c.o, co, images.get(), work.get(), kRestoreLog);
    criu_local_set_root(c.o, root.path.c_str());
    criu_local_set_evasive_devices(c.o, true);
    std::vector<std::string> masked;
    if (spec.linux && !spec.linux->masked_paths.empty()) masked.push_back("/dev/null");
    for (auto& m : external_mounts(spec, bundle, cgroup_binds(spec, cgroup), masked, true))
        criu_local_add_ext_mount(c.o, m.key.c_str(), m.value.c_str());
    // The stdio pipes of the dumped init are ours now (fds 0-2, inherited by
    // `criu swrk`): CRIU puts them where the old ones were.
    for (size_t i = 0; i < descriptors.size() && i < 3; ++i)
        if (descriptors[i].find("pipe:") != std::string::npos)
            criu_local_add_inherit_fd(c.o, static_cast<int>(i), descriptors[i].c_str());

    pid_t pid;
    {
        // libcriu wants SIGCHLD blocked while it waits for `criu swrk`.
        sigset_t chld, old;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        ::sigprocmask(SIG_BLOCK, &chld, &old);
        CgroupVisit visit;
        auto entered = visit.enter(cgroup);
        if (!entered) {
            ::sigprocmask(SIG_SETMASK, &old, nullptr);
            return std::unexpected(entered.error());
        }
        for (auto& d : cgroup.dirs()) {
            std::string mount = "/sys/fs/cgroup" + (d.hierarchy.empty() ? std::string() : "/" + d.hierarchy);
            std::string rel = d.path.substr(std::min(d.path.size(), mount.size()));
            if (rel.empty()) rel = "/";
            criu_local_add_cg_root(c.o, d.v2 ? nullptr : d.mount_opts.c_str(), rel.c_str());
        }
        pid = criu_local_restore_child(c.o);
        // Back where it was before anything else happens to the mask.
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
    }
    if (pid <= 0) return std::unexpected(criu_error(pid, "criu restore", log_path));
    RestoredGuard child{pid};
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd) return ErrnoErr("pidfd_open of the restored init");

    if (spec.process->terminal) {
        int master = criu_get_orphan_pts_master_fd();
        if (master < 0) return Err("criu restore: no pty master for the container's terminal");
        UniqueFd m(master);
        TRY_CTX(send_fd(console.get(), m.get(), "/dev/ptmx"), "--console-socket ", o.console_socket);
    }
    TRY(cgroup.apply_limits(spec));

    ContainerState st;
    st.id = o.id;
    st.bundle = bundle;
    st.rootfs = rootfs;
    st.pid = pid;
    st.dir = dir;
    st.created = now_rfc3339();
    st.own_pid_ns = false;
    for (auto& n : spec.linux ? spec.linux->namespaces : std::vector<oci::Namespace>{})
        if (n.type == "pid" && n.path.empty()) st.own_pid_ns = true;
    st.cgroup = cgroup.to_json();
    st.config = std::move(*config_doc);
    st.start_time = process_start_time(pid);
    TRY(save_state(st));
    if (!o.pid_file.empty()) TRY_CTX(write_file_atomic(o.pid_file, std::to_string(pid), 0644), "--pid-file");
    child.committed = cg_guard.committed = dir_guard.committed = true;
    return Restored{std::move(st), std::move(pidfd)};
}

}  // namespace berth::runtime
