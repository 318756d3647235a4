#include "runtime/linux/devices.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "libutil/strings.hpp"
#include "runtime/linux/safe_path.hpp"

namespace berth::runtime {

namespace {

// The devices every container gets (runc's AllowedDevices that are nodes).
const oci::Device kDefaultDevices[] = {
    {"c", "/dev/null", 1, 3, 0666, 0, 0},    {"c", "/dev/zero", 1, 5, 0666, 0, 0},
    {"c", "/dev/full", 1, 7, 0666, 0, 0},    {"c", "/dev/random", 1, 8, 0666, 0, 0},
    {"c", "/dev/urandom", 1, 9, 0666, 0, 0}, {"c", "/dev/tty", 5, 0, 0666, 0, 0},
};

Result<void> make_device(int root, const oci::Device& d, bool in_userns) {
    std::string path = clean_path(d.path);
    auto slash = path.rfind('/');
    auto dir = TRY(mkdir_all_in_root(root, path.substr(0, slash == 0 ? 1 : slash)));
    std::string base = path.substr(slash + 1);
    if (in_userns) {
        // mknod is not allowed in a user namespace: bind the host's node.
        int f = ::openat(dir.get(), base.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (f < 0 && errno != EEXIST && errno != ETXTBSY) return ErrnoErr("create ", path);
        if (f >= 0) ::close(f);
        auto target = TRY(open_in_root(root, path, O_PATH | O_NOFOLLOW));
        if (::mount(d.path.c_str(), fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr) < 0)
            return ErrnoErr("bind device ", d.path);
        return {};
    }
    mode_t type = d.type == "b" ? S_IFBLK : d.type == "p" ? S_IFIFO : S_IFCHR;
    mode_t perm = d.file_mode ? (*d.file_mode & 07777) : 0666;
    if (::unlinkat(dir.get(), base.c_str(), 0) < 0 && errno != ENOENT && errno != EISDIR)
        return ErrnoErr("remove ", path);
    dev_t dev = type == S_IFIFO ? 0 : makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
    if (::mknodat(dir.get(), base.c_str(), type | perm, dev) < 0) return ErrnoErr("mknod ", path);
    // mknod is subject to the umask; set the exact mode and owner.
    if (::fchmodat(dir.get(), base.c_str(), perm, 0) < 0) return ErrnoErr("chmod ", path);
    if (::fchownat(dir.get(), base.c_str(), d.uid.value_or(0), d.gid.value_or(0), AT_SYMLINK_NOFOLLOW) < 0)
        return ErrnoErr("chown ", path);
    return {};
}

Result<void> make_symlink(int root, const char* target, const char* name) {
    auto dev = TRY(mkdir_all_in_root(root, "/dev"));
    if (::symlinkat(target, dev.get(), name) < 0 && errno != EEXIST)
        return ErrnoErr("symlink /dev/", name);
    return {};
}

}  // namespace

Result<void> create_devices(const oci::Spec& spec, const std::string& rootfs, bool in_userns) {
    UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return ErrnoErr("open rootfs ", rootfs);
    auto has = [&](const std::string& p) {
        if (!spec.linux) return false;
        for (auto& d : spec.linux->devices)
            if (clean_path(d.path) == p) return true;
        return false;
    };
    for (auto& d : kDefaultDevices)
        if (!has(d.path)) TRY(make_device(root.get(), d, in_userns));
    if (spec.linux)
        for (auto& d : spec.linux->devices) {
            if (d.type != "c" && d.type != "b" && d.type != "u" && d.type != "p")
                return Err("linux.devices: ", d.path, ": unknown type ", quote(d.type));
            oci::Device dd = d;
            if (dd.type == "u") dd.type = "c";
            TRY_CTX(make_device(root.get(), dd, in_userns), "linux.devices");
        }
    // /dev/ptmx -> pts/ptmx so a devpts newinstance is used.
    {
        auto dev = TRY(mkdir_all_in_root(root.get(), "/dev"));
        if (::unlinkat(dev.get(), "ptmx", 0) < 0 && errno != ENOENT) return ErrnoErr("remove /dev/ptmx");
        if (::symlinkat("pts/ptmx", dev.get(), "ptmx") < 0) return ErrnoErr("symlink /dev/ptmx");
    }
    TRY(make_symlink(root.get(), "/proc/self/fd", "fd"));
    TRY(make_symlink(root.get(), "/proc/self/fd/0", "stdin"));
    TRY(make_symlink(root.get(), "/proc/self/fd/1", "stdout"));
    TRY(make_symlink(root.get(), "/proc/self/fd/2", "stderr"));
    if (::access("/proc/kcore", F_OK) == 0) TRY(make_symlink(root.get(), "/proc/kcore", "core"));
    return {};
}

Result<void> mount_console(int slave_fd) {
    // The target is created, or opened without following a symlink, and
    // checked: a /dev/console the container made into a symlink (to a
    // procfs file, say) must not get the pty bound over its target
    // (CVE-2025-52565). The mount goes on the checked fd.
    int f = ::open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (f < 0 && errno != ELOOP) return ErrnoErr("create /dev/console");
    if (f >= 0) ::close(f);
    UniqueFd target(::open("/dev/console", O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat st;
    if (!target || ::fstat(target.get(), &st) < 0) return ErrnoErr("open /dev/console");
    if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
        return Err("/dev/console in the container is not a file or a device; refusing to mount the console on it");
    if (::mount(fd_path(slave_fd).c_str(), fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr) < 0)
        return ErrnoErr("bind the console at /dev/console");
    return {};
}

}  // namespace berth::runtime
