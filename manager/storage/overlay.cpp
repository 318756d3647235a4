#include "manager/storage/overlay.hpp"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

#include "libutil/fd.hpp"
#include "libutil/log.hpp"
#include "libutil/strings.hpp"

namespace berth::manager {

namespace {

constexpr const char* kFixedOptions[][2] = {{"index", "off"}, {"metacopy", "off"}, {"redirect_dir", "off"}};

int sys_fsopen(const char* fs, unsigned flags) {
    return static_cast<int>(::syscall(SYS_fsopen, fs, flags));
}
int sys_fsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux) {
    return static_cast<int>(::syscall(SYS_fsconfig, fd, cmd, key, value, aux));
}
int sys_fsmount(int fd, unsigned flags, unsigned attrs) {
    return static_cast<int>(::syscall(SYS_fsmount, fd, flags, attrs));
}
int sys_move_mount(int from_dfd, const char* from, int to_dfd, const char* to, unsigned flags) {
    return static_cast<int>(::syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags));
}

// The kernel's own message for a failed fsconfig (read from the fs context).
std::string fs_context_message(int fs) {
    char buf[512];
    std::string out;
    ssize_t n;
    while ((n = ::read(fs, buf, sizeof buf - 1)) > 0) {
        buf[n] = 0;
        if (!out.empty()) out += "; ";
        out += trim(buf);
    }
    return out;
}

enum class NewApi { Mounted, Unsupported };

Result<NewApi> mount_new_api(const OverlaySpec& spec, const std::string& target) {
    UniqueFd fs(sys_fsopen("overlay", FSOPEN_CLOEXEC));
    if (!fs) {
        if (errno == ENOSYS) return NewApi::Unsupported;
        return ErrnoErr("fsopen overlay");
    }
    auto set = [&](const char* key, const std::string& value) -> Result<void> {
        if (sys_fsconfig(fs.get(), FSCONFIG_SET_STRING, key, value.c_str(), 0) < 0) {
            auto msg = fs_context_message(fs.get());
            return ErrnoErr("overlay option ", key, "=", value, msg.empty() ? "" : " (", msg, msg.empty() ? "" : ")");
        }
        return {};
    };
    // "lowerdir+" came with Linux 6.8; older kernels reject the key itself.
    if (sys_fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir+", spec.lowers.at(0).c_str(), 0) < 0) {
        if (errno == EINVAL) return NewApi::Unsupported;
        return ErrnoErr("overlay option lowerdir+=", spec.lowers[0]);
    }
    for (size_t i = 1; i < spec.lowers.size(); ++i)
        TRY(set("lowerdir+", spec.lowers[i]));
    if (!spec.upper.empty()) {
        TRY(set("upperdir", spec.upper));
        TRY(set("workdir", spec.work));
    }
    for (const auto& o : kFixedOptions)
        TRY(set(o[0], o[1]));
    if (spec.volatile_upper && !spec.upper.empty() &&
        sys_fsconfig(fs.get(), FSCONFIG_SET_FLAG, "volatile", nullptr, 0) < 0)
        return ErrnoErr("overlay option volatile");
    TRY(set("source", "overlay"));
    if (sys_fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) {
        int err = errno;
        auto msg = fs_context_message(fs.get());
        // Before 6.5 overlay took options through the kernel's legacy adapter,
        // which accepts any key and lets the mount itself reject "lowerdir+".
        if (err == EINVAL) {
            log::debug(cat("overlay: new mount API refused (", msg, "); trying mount(2)"));
            return NewApi::Unsupported;
        }
        errno = err;
        return ErrnoErr("create overlay", msg.empty() ? "" : " (", msg, msg.empty() ? "" : ")");
    }
    unsigned attrs = MOUNT_ATTR_NODEV | (spec.read_only ? MOUNT_ATTR_RDONLY : 0);
    UniqueFd mnt(sys_fsmount(fs.get(), FSMOUNT_CLOEXEC, attrs));
    if (!mnt) return ErrnoErr("fsmount overlay");
    if (sys_move_mount(mnt.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return ErrnoErr("move_mount overlay to ", target);
    return NewApi::Mounted;
}

// overlayfs splits lowerdir at ':' and every option at ','; a backslash escapes both.
std::string escape_option(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == ':' || c == ',' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    return out;
}

}  // namespace

Result<std::string> overlay_legacy_options(const OverlaySpec& spec) {
    std::vector<std::string> lowers;
    for (const auto& l : spec.lowers)
        lowers.push_back(escape_option(l));
    std::string o = "lowerdir=" + join(lowers, ":");
    if (!spec.upper.empty()) o += cat(",upperdir=", escape_option(spec.upper), ",workdir=", escape_option(spec.work));
    for (const auto& f : kFixedOptions)
        o += cat(",", f[0], "=", f[1]);
    if (spec.volatile_upper && !spec.upper.empty()) o += ",volatile";
    long page = ::sysconf(_SC_PAGESIZE);
    if (static_cast<long>(o.size()) >= page)
        return Err("overlay options for ", spec.lowers.size(), " layers are ", o.size(),
                   " bytes, more than mount(2) takes (", page, "); Linux 6.8 or newer mounts any number");
    return o;
}

Result<void> mount_overlay(const OverlaySpec& spec, const std::string& target) {
    if (spec.lowers.empty()) return Err("overlay on ", target, ": no lower dir");
    const char* api = std::getenv("BERTH_OVERLAY_MOUNT_API");
    if (!api || std::string_view(api) != "legacy") {
        if (TRY_CTX(mount_new_api(spec, target), "mount ", target) == NewApi::Mounted) return {};
    }
    auto opts = TRY_CTX(overlay_legacy_options(spec), "mount ", target);
    unsigned long flags = MS_NODEV | (spec.read_only ? MS_RDONLY : 0);
    if (::mount("overlay", target.c_str(), "overlay", flags, opts.c_str()) < 0)
        return ErrnoErr("mount overlay on ", target);
    return {};
}

bool is_mount_point(const std::string& path) {
    struct statx stx;
    if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0) return false;
    return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

Result<void> unmount_path(const std::string& path, bool lazy) {
    // Stacked mounts (two mounts of one rootfs by a crashed berth) go one by one.
    while (is_mount_point(path)) {
        if (::umount2(path.c_str(), UMOUNT_NOFOLLOW | (lazy ? MNT_DETACH : 0)) < 0) {
            if (errno == EINVAL) return {};
            if (errno == EBUSY) return Err("unmount ", path, ": it is busy (a process uses it)");
            return ErrnoErr("unmount ", path);
        }
    }
    return {};
}

}  // namespace berth::manager
