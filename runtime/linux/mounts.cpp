#include "runtime/linux/mounts.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <linux/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "libutil/strings.hpp"
#include "runtime/linux/safe_path.hpp"

namespace berth::runtime {

namespace {

struct FlagOpt {
    const char* name;
    bool clear;
    unsigned long flag;
};
constexpr FlagOpt kFlags[] = {
    {"async", true, MS_SYNCHRONOUS},   {"atime", true, MS_NOATIME},
    {"bind", false, MS_BIND},          {"defaults", false, 0},
    {"dev", true, MS_NODEV},           {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},    {"exec", true, MS_NOEXEC},
    {"iversion", false, MS_I_VERSION}, {"noiversion", true, MS_I_VERSION},
    {"lazytime", false, MS_LAZYTIME},  {"nolazytime", true, MS_LAZYTIME},
    {"loud", true, MS_SILENT},         {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},     {"noatime", false, MS_NOATIME},
    {"nodev", false, MS_NODEV},        {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},      {"nosuid", false, MS_NOSUID},
    {"norelatime", true, MS_RELATIME}, {"nostrictatime", true, MS_STRICTATIME},
    {"rbind", false, MS_BIND | MS_REC}, {"relatime", false, MS_RELATIME},
    {"remount", false, MS_REMOUNT},    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},           {"silent", false, MS_SILENT},
    {"strictatime", false, MS_STRICTATIME}, {"suid", true, MS_NOSUID},
    {"sync", false, MS_SYNCHRONOUS},
};

struct AttrOpt {
    const char* name;
    bool clear;
    uint64_t attr;
};
// Recursive flags (runc 1.1+): applied with mount_setattr(AT_RECURSIVE).
constexpr AttrOpt kAttrs[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},       {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},   {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},     {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},   {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME}, {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", false, MOUNT_ATTR_RELATIME}, {"rnorelatime", true, MOUNT_ATTR_RELATIME},
    {"rnoatime", false, MOUNT_ATTR_NOATIME}, {"ratime", true, MOUNT_ATTR_NOATIME},
    {"rstrictatime", false, MOUNT_ATTR_STRICTATIME}, {"rnostrictatime", true, MOUNT_ATTR_STRICTATIME},
    {"nosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW}, {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

constexpr struct {
    const char* name;
    unsigned long flag;
} kPropagation[] = {
    {"private", MS_PRIVATE},   {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},     {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},       {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

int sys_mount_setattr(int dfd, const char* path, unsigned flags, struct mount_attr* attr) {
    return static_cast<int>(::syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof *attr));
}
int sys_open_tree(int dfd, const char* path, unsigned flags) {
    return static_cast<int>(::syscall(SYS_open_tree, dfd, path, flags));
}
int sys_move_mount(int from_dfd, const char* from, int to_dfd, const char* to, unsigned flags) {
    return static_cast<int>(::syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags));
}

// Flags of the mount under `path` that a remount must keep: in a user
// namespace the kernel refuses to clear locked nosuid/nodev/noexec/ro/atime flags.
unsigned long locked_flags(const char* path) {
    struct statvfs st;
    if (::statvfs(path, &st) < 0) return 0;
    unsigned long f = 0;
    if (st.f_flag & ST_NOSUID) f |= MS_NOSUID;
    if (st.f_flag & ST_NODEV) f |= MS_NODEV;
    if (st.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
    if (st.f_flag & ST_RDONLY) f |= MS_RDONLY;
    if (st.f_flag & ST_NOATIME) f |= MS_NOATIME;
    if (st.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
    if (st.f_flag & ST_RELATIME) f |= MS_RELATIME;
    return f;
}

Result<void> sys_mount(const std::string& src, const std::string& dst, const char* type,
                       unsigned long flags, const std::string& data, const std::string& what) {
    if (::mount(src.c_str(), dst.c_str(), type, flags, data.empty() ? nullptr : data.c_str()) < 0)
        return ErrnoErr(what);
    return {};
}

// Remount a bind mount with flags; retries keeping locked flags on EPERM.
Result<void> remount_bind(const std::string& target, unsigned long flags, const std::string& what) {
    unsigned long f = MS_BIND | MS_REMOUNT | (flags & ~(MS_BIND | MS_REC | MS_REMOUNT));
    if (::mount(nullptr, target.c_str(), nullptr, f, nullptr) == 0) return {};
    if (errno == EPERM &&
        ::mount(nullptr, target.c_str(), nullptr, f | locked_flags(target.c_str()), nullptr) == 0)
        return {};
    return ErrnoErr("remount ", what);
}

Result<void> apply_attrs(const std::string& target, const MountOptions& mo, int userns_fd,
                         const std::string& what) {
    struct mount_attr attr {};
    attr.attr_set = mo.attr_set;
    attr.attr_clr = mo.attr_clr;
    if (userns_fd >= 0) {
        attr.attr_set |= MOUNT_ATTR_IDMAP;
        attr.userns_fd = static_cast<uint64_t>(userns_fd);
    }
    if (!attr.attr_set && !attr.attr_clr) return {};
    // MOUNT_ATTR_*ATIME values are an enum inside MOUNT_ATTR__ATIME.
    if ((attr.attr_set | attr.attr_clr) & (MOUNT_ATTR__ATIME | MOUNT_ATTR_NOATIME | MOUNT_ATTR_STRICTATIME))
        attr.attr_clr |= MOUNT_ATTR__ATIME;
    unsigned flags = AT_RECURSIVE;
    if (sys_mount_setattr(AT_FDCWD, target.c_str(), flags, &attr) < 0)
        return ErrnoErr("set recursive mount attributes on ", what);
    return {};
}

// A user namespace for an idmapped mount: a child process made with the
// mount's mappings, whose /proc/PID/ns/user is opened and kept.
Result<UniqueFd> idmap_userns(const oci::Mount& m) {
    int pfd[2];
    if (::pipe2(pfd, O_CLOEXEC) < 0) return ErrnoErr("pipe");
    UniqueFd rd(pfd[0]), wr(pfd[1]);
    pid_t pid = static_cast<pid_t>(::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
    if (pid < 0) return ErrnoErr("clone a user namespace for an idmapped mount");
    if (pid == 0) {
        char c;
        wr.reset();
        (void)!::read(rd.get(), &c, 1);
        ::_exit(0);
    }
    rd.reset();
    auto maps = [&](const std::vector<oci::Mount::IdMap>& v) {
        std::string s;
        for (auto& e : v) s += cat(e.container_id, ' ', e.host_id, ' ', e.size, '\n');
        return s;
    };
    Result<UniqueFd> out = Err("idmapped mount: no mappings");
    auto r1 = write_file(cat("/proc/", pid, "/uid_map"), maps(m.uid_mappings));
    auto r2 = r1 ? write_file(cat("/proc/", pid, "/gid_map"), maps(m.gid_mappings)) : r1;
    if (!r2) {
        out = Wrap(r2.error(), "idmapped mount ", m.destination);
    } else {
        int fd = ::open(cat("/proc/", pid, "/ns/user").c_str(), O_RDONLY | O_CLOEXEC);
        out = fd < 0 ? Result<UniqueFd>(ErrnoErr("open user namespace")) : Result<UniqueFd>(UniqueFd(fd));
    }
    wr.reset();
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return out;
}

Result<void> mount_cgroup(const oci::Mount& m, const MountOptions& mo, int root, const MountContext& ctx) {
    auto target = TRY(ensure_target(root, m.destination, false));
    std::string dst = fd_path(target.get());
    unsigned long flags = mo.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    const Cgroup* cg = ctx.cgroup;
    if (!cg || cg->layout() == CgroupLayout::V2) {
        if (ctx.new_cgroupns) {
            auto r = sys_mount("cgroup2", dst, "cgroup2", flags, "", "mount cgroup2 at " + m.destination);
            // EBUSY: this cgroup2 superblock is already mounted right here (a
            // user namespace without a network namespace gets the host's /sys
            // by bind, with the host's cgroup2 at /sys/fs/cgroup, and the
            // kernel will not stack a filesystem on itself); EPERM: not
            // allowed from here. Like runc, bind the container's own cgroup
            // instead: the view its cgroup namespace would give.
            if (r || (r.error().code != EBUSY && r.error().code != EPERM)) return r;
        }
        std::string src = cg && !cg->dirs().empty() ? cg->dirs()[0].path : "/sys/fs/cgroup";
        TRY(sys_mount(src, dst, nullptr, MS_BIND | MS_REC, "", "bind " + src + " at " + m.destination));
        auto mounted = TRY(open_in_root(root, m.destination, O_PATH));
        return remount_bind(fd_path(mounted.get()), flags, m.destination);
    }
    // v1 or hybrid: a tmpfs with one directory per hierarchy, like the host's.
    TRY(sys_mount("tmpfs", dst, "tmpfs", flags & ~MS_RDONLY, "mode=755",
                  "mount tmpfs at " + m.destination));
    for (auto& d : cg->dirs()) {
        auto sub = TRY(mkdir_all_in_root(root, m.destination + "/" + d.hierarchy));
        std::string sdst = fd_path(sub.get());
        std::string what = m.destination + "/" + d.hierarchy;
        if (ctx.new_cgroupns) {
            TRY(sys_mount("cgroup", sdst, d.v2 ? "cgroup2" : "cgroup", flags, d.v2 ? "" : d.mount_opts,
                          "mount cgroup at " + what));
        } else {
            TRY(sys_mount(d.path, sdst, nullptr, MS_BIND | MS_REC, "", "bind " + d.path + " at " + what));
            auto mounted = TRY(open_in_root(root, what, O_PATH));
            TRY(remount_bind(fd_path(mounted.get()), flags, what));
        }
        // "cpu,cpuacct" also answers to "cpu" and "cpuacct", as on the host.
        if (d.hierarchy.find(',') != std::string::npos) {
            auto top = TRY(open_in_root(root, m.destination, O_PATH | O_DIRECTORY));
            for (auto& c : split(d.hierarchy, ','))
                if (::symlinkat(d.hierarchy.c_str(), top.get(), c.c_str()) < 0 && errno != EEXIST)
                    return ErrnoErr("symlink ", m.destination, "/", c);
        }
    }
    if (flags & MS_RDONLY) {
        auto top = TRY(open_in_root(root, m.destination, O_PATH));
        TRY(sys_mount("tmpfs", fd_path(top.get()), "tmpfs", flags | MS_REMOUNT, "mode=755",
                      "remount " + m.destination + " read-only"));
    }
    return {};
}

Result<void> mount_one(const oci::Mount& m, int root, const MountContext& ctx, int tree_fd) {
    MountOptions mo = parse_mount_options(m.options);
    bool bind = (mo.flags & MS_BIND) || m.type == "bind";
    std::string what = m.destination;
    if (m.type == "cgroup") return mount_cgroup(m, mo, root, ctx);

    // sysfs in a user namespace without its own network namespace cannot be
    // mounted; bind the host's read-only instead (as runc does).
    if (m.type == "sysfs" && ctx.new_userns && !ctx.new_netns) {
        bind = true;
        mo.flags |= MS_BIND | MS_REC | MS_RDONLY;
    }

    std::string source = m.source;
    if (bind) {
        if (m.type == "sysfs") source = "/sys";
        if (source.empty()) return Err("mount ", what, ": bind mount without a source");
        struct stat st;
        if (::stat(source.c_str(), &st) < 0) return ErrnoErr("mount ", what, ": source ", source);
        auto target = TRY(ensure_target(root, m.destination, !S_ISDIR(st.st_mode)));
        std::string dst = fd_path(target.get());
        // Mappings on a mount make it idmapped (runtime-spec 1.2), with or
        // without the "idmap" option.
        if (tree_fd >= 0) {
            // Idmapped: the runtime prepared the tree on the host.
            if (sys_move_mount(tree_fd, "", target.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return ErrnoErr("mount ", what, ": move_mount");
        } else {
            TRY(sys_mount(source, dst, nullptr, MS_BIND | (mo.flags & MS_REC), "",
                          "bind " + source + " at " + what));
        }
        // Reopen: the fd still names the directory under the new mount.
        target = TRY(open_in_root(root, m.destination, O_PATH));
        dst = fd_path(target.get());
        unsigned long extra = mo.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
        if (extra) TRY(remount_bind(dst, extra, what));
        TRY(apply_attrs(dst, mo, -1, what));
        for (auto p : mo.propagation)
            TRY(sys_mount("", dst, nullptr, p, "", "set propagation of " + what));
        return {};
    }

    auto target = TRY(ensure_target(root, m.destination, false));
    std::string dst = fd_path(target.get());
    const char* type = m.type.empty() ? nullptr : m.type.c_str();
    if (source.empty()) source = m.type;
    auto r = sys_mount(source, dst, type, mo.flags & ~MS_REMOUNT, mo.data,
                       "mount " + m.type + " at " + what + (mo.data.empty() ? "" : " (" + mo.data + ")"));
    if (!r && r.error().code == EPERM && m.type == "mqueue" && ctx.new_userns) {
        // mqueue of a host-owned ipc namespace: bind the host's (runc does too).
        TRY(sys_mount("/dev/mqueue", dst, nullptr, MS_BIND | MS_REC, "", "bind /dev/mqueue at " + what));
    } else if (!r) {
        return r;
    }
    if (!mo.propagation.empty() || mo.attr_set || mo.attr_clr) {
        target = TRY(open_in_root(root, m.destination, O_PATH));
        dst = fd_path(target.get());
        TRY(apply_attrs(dst, mo, -1, what));
        for (auto p : mo.propagation)
            TRY(sys_mount("", dst, nullptr, p, "", "set propagation of " + what));
    }
    return {};
}

// pivot_root refuses a shared parent mount: with shared root propagation,
// the mount holding the rootfs is made private (runc does the same). Only
// then is mountinfo read, so the default (rslave) start path skips it.
Result<void> make_parent_mount_private(const std::string& rootfs) {
    auto info = TRY(read_file("/proc/self/mountinfo"));
    std::string best;
    bool shared = false;
    for (auto& line : split(info, '\n')) {
        auto f = split(line, ' ');
        if (f.size() < 7) continue;
        const std::string& mp = f[4];
        bool covers = mp == "/" || rootfs == mp || rootfs.starts_with(mp + "/");
        if (!covers || mp.size() < best.size()) continue;
        best = mp;
        shared = false;
        for (size_t i = 6; i < f.size() && f[i] != "-"; ++i) shared |= f[i].starts_with("shared:");
    }
    if (!best.empty() && shared)
        TRY(sys_mount("", best, nullptr, MS_PRIVATE, "", "make " + best + " private"));
    return {};
}

}  // namespace

bool is_idmapped(const oci::Mount& m) {
    auto mo = parse_mount_options(m.options);
    return mo.idmap || mo.recursive_idmap || !m.uid_mappings.empty() || !m.gid_mappings.empty();
}

Result<UniqueFd> make_idmapped_tree(const oci::Mount& m) {
    MountOptions mo = parse_mount_options(m.options);
    std::string what = m.destination;
    if (m.uid_mappings.empty() || m.gid_mappings.empty())
        return Err("mounts: ", what, ": an idmapped mount needs uidMappings and gidMappings");
    auto userns = TRY(idmap_userns(m));
    unsigned ot = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC;
    if (mo.recursive_idmap || (mo.flags & MS_REC)) ot |= AT_RECURSIVE;
    UniqueFd tree(sys_open_tree(AT_FDCWD, m.source.c_str(), ot));
    if (!tree) return ErrnoErr("mount ", what, ": open_tree ", m.source);
    struct mount_attr attr {};
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = static_cast<uint64_t>(userns.get());
    if (sys_mount_setattr(tree.get(), "", AT_EMPTY_PATH | (ot & AT_RECURSIVE), &attr) < 0) {
        // EINVAL is most often a filesystem that cannot be idmapped on this
        // kernel (tmpfs before Linux 6.3, for one): say so.
        if (errno == EINVAL)
            return ErrnoErr("mount ", what, ": idmap ", m.source,
                            " (does its filesystem support idmapped mounts on this kernel?)");
        return ErrnoErr("mount ", what, ": idmap ", m.source);
    }
    return tree;
}

unsigned long parse_propagation(std::string_view name) {
    for (auto& p : kPropagation)
        if (name == p.name) return p.flag;
    return 0;
}

MountOptions parse_mount_options(const std::vector<std::string>& options) {
    MountOptions mo;
    for (auto& o : options) {
        bool known = false;
        for (auto& f : kFlags) {
            if (o == f.name) {
                if (f.clear)
                    mo.flags &= ~f.flag;
                else
                    mo.flags |= f.flag;
                known = true;
                break;
            }
        }
        if (known) continue;
        if (unsigned long p = parse_propagation(o)) {
            mo.propagation.push_back(p);
            continue;
        }
        for (auto& a : kAttrs) {
            if (o == a.name) {
                if (a.clear) {
                    mo.attr_clr |= a.attr;
                    mo.attr_set &= ~a.attr;
                } else {
                    mo.attr_set |= a.attr;
                    mo.attr_clr &= ~a.attr;
                }
                known = true;
                break;
            }
        }
        if (known) continue;
        if (o == "idmap") {
            mo.idmap = true;
            continue;
        }
        if (o == "ridmap") {
            mo.recursive_idmap = true;
            continue;
        }
        if (o == "tmpcopyup") continue;  // runc extension; not implemented, ignored like runc on non-tmpfs
        if (!mo.data.empty()) mo.data += ',';
        mo.data += o;
    }
    return mo;
}

bool spec_binds_dev(const oci::Spec& spec) {
    for (auto& m : spec.mounts) {
        if (clean_path(m.destination) != "/dev") continue;
        if (m.type == "bind") return true;
        for (auto& o : m.options)
            if (o == "bind" || o == "rbind") return true;
    }
    return false;
}

void unmount_under(const std::string& rootfs) {
    auto info = read_file("/proc/self/mountinfo");
    if (!info) return;
    std::vector<std::string> points;
    for (auto& line : split(*info, '\n')) {
        auto f = split(line, ' ');
        if (f.size() > 4 && f[4].starts_with(rootfs + "/")) points.push_back(f[4]);
    }
    // mountinfo lists parents before children: undo from the end.
    for (auto it = points.rbegin(); it != points.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
}

Result<void> prepare_rootfs(const oci::Spec& spec, const MountContext& ctx) {
    if (!ctx.own_mountns) return {};
    // Our mounts must not propagate to the host: slave by default, or the
    // spec's rootfsPropagation (shared etc. is re-applied after pivot_root).
    unsigned long prop = MS_SLAVE | MS_REC;
    if (spec.linux && !spec.linux->rootfs_propagation.empty()) {
        prop = parse_propagation(spec.linux->rootfs_propagation);
        if (!prop)
            return Err("linux.rootfsPropagation ", quote(spec.linux->rootfs_propagation), ": unknown propagation");
    }
    // An unbindable / could not be bound onto the rootfs below: start
    // private; finalize_rootfs applies the requested propagation to the new /.
    if (prop & MS_UNBINDABLE) prop = MS_PRIVATE | MS_REC;
    TRY(sys_mount("", "/", nullptr, prop, "", "make / " + std::string(prop & MS_SHARED ? "shared" : "slave")));
    if (prop & MS_SHARED) TRY(make_parent_mount_private(ctx.rootfs));
    // pivot_root needs the rootfs's parent mount not to be shared.
    TRY(sys_mount(ctx.rootfs, ctx.rootfs, nullptr, MS_BIND | MS_REC, "", "bind rootfs " + ctx.rootfs));
    return {};
}

Result<void> mount_all(const oci::Spec& spec, const MountContext& ctx) {
    UniqueFd root(::open(ctx.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return ErrnoErr("open rootfs ", ctx.rootfs);
    for (auto& m : spec.mounts) {
        if (m.destination.empty() || m.destination[0] != '/')
            return Err("mounts: destination ", quote(m.destination), ": must be an absolute path");
        int tree = -1;
        if (ctx.idmapped)
            for (auto& [index, fd] : *ctx.idmapped)
                if (&spec.mounts[index] == &m) tree = fd.get();
        TRY(mount_one(m, root.get(), ctx, tree));
    }
    return {};
}

Result<void> enter_rootfs(const std::string& rootfs, bool no_pivot, bool own_mountns) {
    if (::chdir(rootfs.c_str()) < 0) return ErrnoErr("chdir ", rootfs);
    if (!own_mountns) {
        if (::chroot(".") < 0) return ErrnoErr("chroot ", rootfs);
        if (::chdir("/") < 0) return ErrnoErr("chdir /");
        return {};
    }
    if (no_pivot) {
        if (::mount(rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) < 0) return ErrnoErr("move rootfs to /");
        if (::chroot(".") < 0) return ErrnoErr("chroot");
        if (::chdir("/") < 0) return ErrnoErr("chdir /");
        return {};
    }
    // pivot_root(".", ".") stacks the old root on top of the new one; it is
    // then made a slave (so unmounting does not reach the host) and detached.
    UniqueFd oldroot(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!oldroot) return ErrnoErr("open /");
    if (::syscall(SYS_pivot_root, ".", ".") < 0) return ErrnoErr("pivot_root ", rootfs);
    if (::fchdir(oldroot.get()) < 0) return ErrnoErr("fchdir old root");
    if (::mount("", ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) return ErrnoErr("make old root slave");
    if (::umount2(".", MNT_DETACH) < 0) return ErrnoErr("unmount old root");
    if (::chdir("/") < 0) return ErrnoErr("chdir /");
    return {};
}

namespace {

// O_PATH fd of a readonlyPaths/maskedPaths entry, its last component not
// followed: the mount goes on exactly what was checked (CVE-2025-31133).
// An empty fd when it does not exist.
Result<UniqueFd> open_path_entry(const std::string& p, const char* field, struct stat& st) {
    UniqueFd fd(::open(p.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return UniqueFd();
        return ErrnoErr(field, ": ", p);
    }
    if (::fstat(fd.get(), &st) < 0) return ErrnoErr(field, ": stat ", p);
    if (S_ISLNK(st.st_mode)) return Err(field, ": ", quote(p), " is a symlink in the container");
    return fd;
}

}  // namespace

Result<void> finalize_rootfs(const oci::Spec& spec, const MountContext& ctx) {
    if (spec.linux) {
        for (auto& p : spec.linux->readonly_paths) {
            struct stat st;
            auto fd = TRY(open_path_entry(p, "readonlyPaths", st));
            if (!fd) continue;
            TRY(sys_mount(fd_path(fd.get()), fd_path(fd.get()), nullptr, MS_BIND | MS_REC, "",
                          "bind " + p + " read-only"));
            TRY(remount_bind(p, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, p + " read-only"));
        }
        // Files are masked with the container's /dev/null: it must be the
        // null device, not something the container put there (a symlink to
        // a procfs file would bind that file instead, CVE-2025-31133).
        UniqueFd null;
        for (auto& p : spec.linux->masked_paths) {
            struct stat st;
            auto fd = TRY(open_path_entry(p, "maskedPaths", st));
            if (!fd) continue;
            if (S_ISDIR(st.st_mode)) {
                TRY(sys_mount("tmpfs", fd_path(fd.get()), "tmpfs", MS_RDONLY, "", "mask " + p));
                continue;
            }
            if (!null) {
                null.reset(::open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC));
                struct stat ns;
                if (!null || ::fstat(null.get(), &ns) < 0) return ErrnoErr("maskedPaths: open /dev/null");
                if (!S_ISCHR(ns.st_mode) || ns.st_rdev != makedev(1, 3))
                    return Err("maskedPaths: /dev/null in the container is not the null device (1:3); refusing to mask with it");
            }
            TRY(sys_mount(fd_path(null.get()), fd_path(fd.get()), nullptr, MS_BIND, "", "mask " + p));
        }
    }
    if (!ctx.own_mountns) return {};  // validate_spec refused the rest
    if (spec.root.readonly)
        TRY(remount_bind("/", MS_RDONLY | MS_REC, "/ read-only"));
    if (spec.linux && !spec.linux->rootfs_propagation.empty()) {
        unsigned long prop = parse_propagation(spec.linux->rootfs_propagation);
        TRY(sys_mount("", "/", nullptr, prop, "", "set rootfs propagation"));
    }
    return {};
}

}  // namespace berth::runtime
