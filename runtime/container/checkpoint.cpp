#include "runtime/container/checkpoint.hpp"

#include <criu.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <utility>

#include "libutil/log.hpp"
#include "libutil/strings.hpp"
#include "runtime/container/criu_request.hpp"
#include "runtime/container/criu_swrk.hpp"
#include "runtime/container/launch.hpp"
#include "runtime/container/validate.hpp"
#include "runtime/linux/namespaces.hpp"
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

// A restore's network namespace the container made itself: CRIU leaves it
// empty (empty_ns, as runc), even lo down. We bring lo up when CRIU has made
// the namespaces, before the tasks run ("setup-namespaces"), as the runtime
// does at create. (runc leaves it down: a restored container cannot reach
// its own 127.0.0.1.)
Result<void> on_setup_namespaces(bool own_netns, int pid) {
    if (!own_netns) return {};
    if (pid <= 0) return Err("criu restore: no root task pid with setup-namespaces");
    return loopback_up_in(pid);
}

// libcriu's callback is a plain function: what it needs, for the one call
// at a time this process makes.
bool g_restore_own_netns = false;
std::string g_notify_error;

// Notifications (runc's NotifyScripts): CRIU only hands over the new pty
// master ("orphan-pts-master") through them; "setup-namespaces" is ours.
int on_notify(char* action, criu_notify_arg_t na) {
    if (action && std::strcmp(action, "setup-namespaces") == 0) {
        auto r = on_setup_namespaces(g_restore_own_netns, criu_notify_pid(na));
        if (!r) {
            g_notify_error = r.error().what();
            return -1;
        }
    }
    return 0;
}

// libcriu's options for a request: what pack_criu_request puts in the RPC
// message, through libcriu's setters.
Result<CriuOpts> libcriu_opts(const std::string& criu, CriuCall call, const CriuRequest& r) {
    auto c = TRY(new_opts(criu));
    criu_opts* o = c.o;
    criu_local_set_images_dir_fd(o, r.images_dir_fd);
    criu_local_set_work_dir_fd(o, r.work_dir_fd);
    criu_local_set_log_level(o, r.log_level);
    criu_local_set_log_file(o, r.log_file.c_str());
    criu_local_set_manage_cgroups(o, true);
    criu_local_set_manage_cgroups_mode(o, cg_mode(r.cgroups_mode));
    criu_local_set_shell_job(o, r.shell_job);
    criu_local_set_ext_unix_sk(o, r.ext_unix_sk);
    criu_local_set_tcp_established(o, r.tcp_established);
    criu_local_set_file_locks(o, r.file_locks);
    criu_local_set_empty_ns(o, r.empty_ns);
    criu_local_set_auto_dedup(o, r.auto_dedup);
    // The container's pty master is outside the dump (with whoever holds
    // the console socket's end): CRIU dumps the slave and, at restore,
    // makes a new pair and hands the master back to us.
    criu_local_set_orphan_pts_master(o, true);
    criu_local_set_notify_cb(o, on_notify);
    if (!r.root.empty()) criu_local_set_root(o, r.root.c_str());
    for (auto& m : r.ext_mounts)
        criu_local_add_ext_mount(o, m.key.c_str(), m.value.c_str());
    if (call == CriuCall::Dump) {
        criu_local_set_pid(o, r.pid);
        criu_local_set_leave_running(o, r.leave_running);
        criu_local_set_tcp_skip_in_flight(o, r.tcp_skip_in_flight);
        criu_local_set_link_remap(o, r.link_remap);
        if (!r.ps_address.empty()) criu_local_set_page_server_address_port(o, r.ps_address.c_str(), r.ps_port);
        if (!r.parent_img.empty()) criu_local_set_parent_images(o, r.parent_img.c_str());
        if (r.track_mem) criu_local_set_track_mem(o, true);
        if (!r.freeze_cgroup.empty()) criu_local_set_freeze_cgroup(o, r.freeze_cgroup.c_str());
        for (auto& e : r.external)
            criu_local_add_external(o, e.c_str());
    } else {
        criu_local_set_evasive_devices(o, r.evasive_devices);
        for (auto& f : r.inherit_fds)
            criu_local_add_inherit_fd(o, f.fd, f.key.c_str());
        for (auto& j : r.join_ns)
            criu_local_join_ns_add(o, j.ns.c_str(), j.file.c_str(), nullptr);
        for (auto& g : r.cg_roots)
            criu_local_add_cg_root(o, g.ctrl.empty() ? nullptr : g.ctrl.c_str(), g.path.c_str());
    }
    return c;
}

// The options checkpoint and restore share.
void common_request(CriuRequest& r, const CriuOptions& o, int images, int work, const char* log) {
    r.images_dir_fd = images;
    r.work_dir_fd = work;
    r.log_file = log;
    r.log_level = 4;
    r.cgroups_mode = o.cgroups_mode;
    r.shell_job = o.shell_job;
    r.ext_unix_sk = o.ext_unix_sk;
    r.tcp_established = o.tcp_established;
    r.file_locks = o.file_locks;
    r.empty_ns = o.empty_ns;
    r.auto_dedup = o.auto_dedup;
    r.lazy_pages = o.lazy_pages;
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
// log (else `fallback`), and where the log is.
Error criu_error(const std::string& what, const std::string& log_path, std::string fallback) {
    std::string detail;
    if (auto text = read_file(log_path)) detail = criu_log_error(*text);
    if (detail.empty()) detail = std::move(fallback);
    return Error{0, what + ": " + detail + " (log: " + log_path + ")"};
}

// The same for libcriu's return codes.
Error libcriu_error(int rc, const std::string& what, const std::string& log_path) {
    if (rc == -ECOMM || rc == -ECONNREFUSED || rc == -EBADMSG)
        return criu_error(what, log_path, "criu swrk did not answer (libcriu error " + std::to_string(-rc) + ")");
    return criu_error(what, log_path, "libcriu error " + std::to_string(-rc));
}

// The same for our own RPC: a transport error, or CRIU's reply.
Error swrk_error(const Result<CriuReply>& reply, const std::string& what, const std::string& log_path) {
    if (!reply) return criu_error(what, log_path, reply.error().what());
    if (!reply->cr_errmsg.empty()) return criu_error(what, log_path, reply->cr_errmsg);
    return criu_error(what, log_path, cat("CRIU failed (errno ", reply->cr_errno, ")"));
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

namespace {

bool has_cap_sys_resource() {
    auto status = read_file("/proc/self/status");
    if (!status) return false;
    for (auto& line : split(*status, '\n'))
        if (line.rfind("CapEff:", 0) == 0) {
            auto caps = std::strtoull(std::string(trim(line.substr(7))).c_str(), nullptr, 16);
            return caps & (1ULL << CAP_SYS_RESOURCE);
        }
    return false;
}

// Why CRIU's lazy page server cannot work here (empty when it can).
std::string lazy_dump_obstacle() {
    long pipe_max = 0;
    if (auto text = read_file("/proc/sys/fs/pipe-max-size"))
        pipe_max = std::strtol(std::string(trim(*text)).c_str(), nullptr, 10);
    return lazy_page_server_obstacle(pipe_max, has_cap_sys_resource(), ::sysconf(_SC_PAGESIZE));
}

// Whether CRIU can take page faults for the restored tasks (non-cooperative
// userfaultfd; `criu check --feature uffd-noncoop`).
bool criu_has_lazy_pages(const std::string& criu) {
    auto c = new_opts(criu);
    if (!c) return false;
    struct criu_feature_check f {};
    f.lazy_pages = true;
    return criu_local_feature_check(c->o, &f, sizeof f) == 0 && f.lazy_pages;
}

}  // namespace

std::string lazy_pages_obstacle(const GlobalOptions& g) {
    auto criu = find_criu(g);
    if (!criu) return criu.error().what();
    if (!criu_has_lazy_pages(*criu))
        return "no non-cooperative userfaultfd (`criu check --feature uffd-noncoop` fails)";
    return lazy_dump_obstacle();
}

namespace {

// runc's checks before a lazy dump, and ours: --status-fd is an fd open for
// writing, CRIU can take page faults, its page server can make its pipes.
Result<void> check_lazy_dump(const std::string& criu, const CriuOptions& o) {
    if (o.status_fd >= 0) {
        int flags = ::fcntl(o.status_fd, F_GETFL);
        if (flags < 0) return ErrnoErr("--status-fd ", o.status_fd);
        // runc 1.1.5 tests flags & O_WRONLY and so refuses an O_RDWR fd; any
        // fd open for writing does here.
        if ((flags & O_ACCMODE) == O_RDONLY) return Err("--status-fd ", o.status_fd, ": not open for writing");
    }
    if (!criu_has_lazy_pages(criu))
        return Err(
            "--lazy-pages: CRIU cannot restore memory lazily on this kernel (no non-cooperative userfaultfd: "
            "`criu check --feature uffd-noncoop` fails)");
    // runc does not look: its dump fails at the first page asked for.
    if (auto why = lazy_dump_obstacle(); !why.empty()) return Err("--lazy-pages: ", why);
    return {};
}

// A dump with lazy pages, through our own RPC (libcriu cannot ask for them):
// CRIU writes the image but the memory, serves the memory from its page
// server and replies once the restoring side has pulled every page, or
// failed. On "status-ready" (the page server listens) a \0 goes to
// --status-fd, which is then closed, as runc does with CRIU 3.15+.
Result<void> lazy_dump(const std::string& criu, CriuRequest r, int status_fd, const std::string& log_path) {
    UniqueFd status(status_fd);
    // The page server's address also through a config file (see
    // lazy_page_server_config), in memory: CRIU opens it by our /proc path.
    UniqueFd conf(::memfd_create("criu-lazy-pages.conf", MFD_CLOEXEC));
    if (!conf) return ErrnoErr("memfd for CRIU's config");
    std::string text = lazy_page_server_config(r.ps_address);
    if (::write(conf.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        return ErrnoErr("write CRIU's config");
    r.config_file = cat("/proc/", ::getpid(), "/fd/", conf.get());
    auto swrk = TRY(CriuSwrk::start(criu, {}));
    auto reply = criu_converse(swrk.socket(), pack_criu_request(CriuCall::Dump, r), [&](CriuNotice& n) -> Result<void> {
        if (n.script == "status-ready" && status) {
            char zero = 0;
            // The dump goes on if nobody reads it (runc only warns).
            (void)!::write(status.get(), &zero, 1);
            status.reset();
        }
        return {};
    });
    (void)swrk.wait();
    if (!reply || reply->kind != CriuReply::Dump || !reply->success)
        return std::unexpected(swrk_error(reply, "criu dump", log_path));
    return {};
}

}  // namespace

Result<void> checkpoint_container(const GlobalOptions& g, const ContainerState& st, const CriuOptions& o) {
    Status s = container_status(st);
    if (s != Status::Running && s != Status::Paused) return Err("container ", quote(st.id), " is not running");
    TRY(check_checkpoint_options(o));
    auto spec = TRY(oci::parse_spec(st.config));
    std::string criu = TRY(find_criu(g));
    if (o.pre_dump || !o.parent_path.empty()) {
        // Pre-dumps track what changed through the kernel's soft-dirty bits.
        auto c = TRY(new_opts(criu));
        struct criu_feature_check f {};
        f.mem_track = true;
        if (criu_local_feature_check(c.o, &f, sizeof f) < 0 || !f.mem_track)
            return Err(o.pre_dump ? "--pre-dump" : "--parent-path",
                       ": CRIU cannot track memory changes on this kernel (no CONFIG_MEM_SOFT_DIRTY: `criu check "
                       "--feature mem_dirty_track` fails)");
    }
    if (o.lazy_pages) TRY(check_lazy_dump(criu, o));

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

    CriuRequest r;
    common_request(r, o, images.get(), work.get(), kDumpLog);
    r.pid = st.pid;
    r.root = st.rootfs;
    r.leave_running = o.leave_running;
    r.tcp_skip_in_flight = o.tcp_skip_in_flight;
    r.link_remap = o.link_remap;
    r.ps_address = o.page_server_address;
    r.ps_port = o.page_server_port;
    r.parent_img = o.parent_path;
    r.track_mem = o.pre_dump || !o.parent_path.empty();
    Cgroup cg = Cgroup::from_json(st.cgroup);
    // CRIU freezes through the freezer when there is one (else by ptrace):
    // the v1 freezer, which holds the tasks on a hybrid host, else the
    // cgroup2 dir (cgroup.freeze), as runc gives it.
    const CgroupDir* freezer = nullptr;
    for (auto& d : cg.dirs())
        if (d.has("freezer") || (d.v2 && !freezer)) freezer = &d;
    if (freezer) r.freeze_cgroup = freezer->path;
    // Namespaces joined by path stay outside the dump: restore joins them again.
    for (auto& n : spec.linux ? spec.linux->namespaces : std::vector<oci::Namespace>{}) {
        if (n.path.empty() || (n.type != "network" && n.type != "pid")) continue;
        struct stat sb;
        if (::stat(n.path.c_str(), &sb) < 0) return ErrnoErr("linux.namespaces: ", n.type, " path ", n.path);
        r.external.push_back(criu_ns_name(n.type) + "[" + std::to_string(sb.st_ino) + "]:" + external_ns_key(n.type));
    }
    if (!o.pre_dump) {
        std::vector<std::string> masked;
        if (spec.linux)
            for (auto& p : spec.linux->masked_paths) {
                struct stat sb;
                std::string in = "/proc/" + std::to_string(st.pid) + "/root/" + p;
                if (::stat(in.c_str(), &sb) == 0 && !S_ISDIR(sb.st_mode)) masked.push_back(p);
            }
        r.ext_mounts = external_mounts(spec, st.bundle, cgroup_binds(spec, cg), masked, false);
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
    {
        // libcriu reports a crashed `criu swrk` with perror lines of its own;
        // the error below says it in one line (CRIU's log has the rest).
        QuietStderr quiet;
        if (o.lazy_pages) {
            auto dumped = lazy_dump(criu, r, o.status_fd, log_path);
            if (!dumped) return dumped;
        } else {
            auto c = TRY(libcriu_opts(criu, CriuCall::Dump, r));
            int rc = o.pre_dump ? criu_local_pre_dump(c.o) : criu_local_dump(c.o);
            if (rc < 0) return std::unexpected(libcriu_error(rc, o.pre_dump ? "criu pre-dump" : "criu dump", log_path));
        }
    }
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

// SIGCHLD blocked while it lives: libcriu wants it so while it waits for
// `criu swrk` (and the restored init, our child, must not be reaped by
// anyone else before we know its pid).
struct SigchldBlocked {
    sigset_t old;
    SigchldBlocked() {
        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        ::sigprocmask(SIG_BLOCK, &chld, &old);
    }
    ~SigchldBlocked() { ::sigprocmask(SIG_SETMASK, &old, nullptr); }
};

struct CriuRestored {
    pid_t pid = -1;
    UniqueFd pty_master;  // when CRIU sent one (orphan_pts_master)
};

Result<CriuRestored> libcriu_restore(const std::string& criu, const CriuRequest& r, bool own_netns,
                                     const std::string& log_path) {
    auto c = TRY(libcriu_opts(criu, CriuCall::Restore, r));
    CriuRestored out;
    g_restore_own_netns = own_netns;
    g_notify_error.clear();
    out.pid = criu_local_restore_child(c.o);
    if (out.pid <= 0 && !g_notify_error.empty()) return Err("criu restore: ", g_notify_error);
    if (out.pid <= 0) return std::unexpected(libcriu_error(out.pid, "criu restore", log_path));
    out.pty_master.reset(criu_get_orphan_pts_master_fd());
    return out;
}

// A restore with lazy pages, through our own RPC: the restored tasks' memory
// comes, page fault by page fault, from the `criu lazy-pages` daemon on the
// socket in the work dir. `criu swrk` inherits stdio and the namespace fds.
Result<CriuRestored> lazy_restore(const std::string& criu, const CriuRequest& r, bool own_netns,
                                  const std::string& log_path) {
    std::vector<int> inherit;
    for (auto& f : r.inherit_fds)
        if (f.fd > 2) inherit.push_back(f.fd);
    auto swrk = TRY(CriuSwrk::start(criu, inherit));
    CriuRestored out;
    auto reply =
        criu_converse(swrk.socket(), pack_criu_request(CriuCall::Restore, r), [&](CriuNotice& n) -> Result<void> {
            if (n.script == "orphan-pts-master") out.pty_master = std::move(n.fd);
            if (n.script == "setup-namespaces") return on_setup_namespaces(own_netns, n.pid);
            return {};
        });
    (void)swrk.wait();
    if (!reply || reply->kind != CriuReply::Restore || !reply->success)
        return std::unexpected(swrk_error(reply, "criu restore", log_path));
    out.pid = reply->restored_pid;
    return out;
}

// CRIU's restore asks the `criu lazy-pages` daemon for the pages through
// lazy-pages.socket in the work dir (the daemon's -W, else its -D). Checked
// before anything is made, to say so in plain words; not by connecting,
// which the daemon would take for a restore.
Result<void> check_lazy_restore(const std::string& work_path) {
    std::string sock = work_path + "/lazy-pages.socket";
    struct stat sb;
    if (::stat(sock.c_str(), &sb) < 0 || !S_ISSOCK(sb.st_mode))
        return Err("--lazy-pages: no `criu lazy-pages` daemon listens on ", sock,
                   " (start `criu lazy-pages --page-server --address ADDRESS --port PORT -D IMAGES` first, with the "
                   "work dir of the restore)");
    return {};
}

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
    if (co.lazy_pages) TRY(check_lazy_restore(work_path));
    UniqueFd work =
        co.work_path.empty() ? UniqueFd(::dup(images.get())) : TRY(open_dir(work_path, true, nullptr, "--work-path"));
    std::string log_path = work_path + "/" + kRestoreLog;
    ::unlink(log_path.c_str());

    // Namespaces joined by path: net and pid were external at dump, the
    // others CRIU joins itself.
    CriuRequest r;
    std::vector<UniqueFd> ns_fds;
    bool own_netns = false;
    for (auto& n : spec.linux ? spec.linux->namespaces : std::vector<oci::Namespace>{}) {
        if (n.type == "network" && n.path.empty()) own_netns = true;
        if (n.path.empty()) continue;
        if (n.type == "network" || n.type == "pid") {
            // Not close-on-exec: `criu swrk` inherits it.
            UniqueFd fd(::open(n.path.c_str(), O_RDONLY));
            if (!fd) return ErrnoErr("linux.namespaces: ", n.type, " path ", n.path);
            r.inherit_fds.push_back({external_ns_key(n.type), fd.get()});
            ns_fds.push_back(std::move(fd));
        } else if (n.type == "cgroup") {
            return Err("linux.namespaces: a cgroup namespace joined by path cannot be restored (CRIU cannot join one)");
        } else {
            r.join_ns.push_back({criu_ns_name(n.type), n.path});
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

    common_request(r, co, images.get(), work.get(), kRestoreLog);
    r.root = root.path;
    r.evasive_devices = true;
    std::vector<std::string> masked;
    if (spec.linux && !spec.linux->masked_paths.empty()) masked.push_back("/dev/null");
    r.ext_mounts = external_mounts(spec, bundle, cgroup_binds(spec, cgroup), masked, true);
    // The stdio pipes of the dumped init are ours now (fds 0-2, inherited by
    // `criu swrk`): CRIU puts them where the old ones were.
    for (size_t i = 0; i < descriptors.size() && i < 3; ++i)
        if (descriptors[i].find("pipe:") != std::string::npos)
            r.inherit_fds.push_back({descriptors[i], static_cast<int>(i)});
    for (auto& d : cgroup.dirs()) {
        std::string mount = "/sys/fs/cgroup" + (d.hierarchy.empty() ? std::string() : "/" + d.hierarchy);
        std::string rel = d.path.substr(std::min(d.path.size(), mount.size()));
        r.cg_roots.push_back({d.v2 ? "" : d.mount_opts, rel.empty() ? "/" : rel});
    }

    Result<CriuRestored> restored = Err("criu restore: not run");
    {
        SigchldBlocked blocked;
        CgroupVisit visit;
        TRY(visit.enter(cgroup));
        restored = co.lazy_pages ? lazy_restore(criu, r, own_netns, log_path)
                                 : libcriu_restore(criu, r, own_netns, log_path);
        // Back in our own cgroups, and SIGCHLD as it was, before anything else.
    }
    if (!restored) return std::unexpected(restored.error());
    pid_t pid = restored->pid;
    RestoredGuard child{pid};
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd) return ErrnoErr("pidfd_open of the restored init");

    if (spec.process->terminal) {
        if (!restored->pty_master) return Err("criu restore: no pty master for the container's terminal");
        TRY_CTX(send_fd(console.get(), restored->pty_master.get(), "/dev/ptmx"), "--console-socket ", o.console_socket);
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
