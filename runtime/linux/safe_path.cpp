#include "runtime/linux/safe_path.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <linux/limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "libutil/strings.hpp"

namespace berth::runtime {

namespace {
int sys_openat2(int dirfd, const char* path, int flags, mode_t mode, uint64_t resolve) {
    struct open_how how {};
    how.flags = static_cast<uint64_t>(flags);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = resolve;
    int r;
    do {
        r = static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
    } while (r < 0 && errno == EAGAIN);  // a concurrent rename; retry
    return r;
}

constexpr uint64_t kResolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

std::string relative(const std::string& path) {
    std::string c = clean_path("/" + path);
    return c == "/" ? "." : c.substr(1);
}
}  // namespace

std::string fd_path(int fd) { return cat("/proc/self/fd/", fd); }

Result<UniqueFd> open_in_root(int root, const std::string& path, int flags, mode_t mode) {
    std::string rel = relative(path);
    int fd = sys_openat2(root, rel.c_str(), flags | O_CLOEXEC, mode, kResolve);
    if (fd < 0) return ErrnoErr("open ", path, " in the container rootfs");
    return UniqueFd(fd);
}

namespace {
Result<UniqueFd> mkdir_all_depth(int root, const std::string& path, mode_t mode, int depth);
}

Result<UniqueFd> mkdir_all_in_root(int root, const std::string& path, mode_t mode) {
    return mkdir_all_depth(root, path, mode, 0);
}

namespace {

Result<UniqueFd> mkdir_all_depth(int root, const std::string& path, mode_t mode, int depth) {
    std::string rel = relative(path);
    int fd = sys_openat2(root, rel.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC, 0, kResolve);
    if (fd >= 0) return UniqueFd(fd);
    if (errno != ENOENT) return ErrnoErr("open ", path, " in the container rootfs");
    // Find the deepest existing ancestor (resolved inside the root, so a
    // symlink component keeps pointing inside it), then create the missing
    // parts one by one relative to the fd of their resolved parent.
    std::vector<std::string> parts;
    for (auto& p : split(rel, '/'))
        if (!p.empty() && p != ".") parts.push_back(p);
    size_t have = parts.size();
    UniqueFd cur;
    while (have > 0) {
        --have;
        std::string prefix;
        for (size_t i = 0; i < have; ++i) prefix += (i ? "/" : "") + parts[i];
        int fd = sys_openat2(root, prefix.empty() ? "." : prefix.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
                             kResolve);
        if (fd >= 0) {
            cur.reset(fd);
            break;
        }
        if (errno != ENOENT) return ErrnoErr("open /", prefix, " in the container rootfs");
    }
    if (!cur) return ErrnoErr("open the container rootfs");
    for (size_t i = have; i < parts.size(); ++i) {
        if (::mkdirat(cur.get(), parts[i].c_str(), mode) < 0 && errno != EEXIST)
            return ErrnoErr("mkdir ", path, " in the container rootfs");
        int next = sys_openat2(cur.get(), parts[i].c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0,
                               RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
        if (next < 0 && (errno == ELOOP || errno == ENOTDIR)) {
            // A dangling symlink (to a directory that does not exist yet):
            // its target, taken inside the root, is created instead, as
            // runc does. The rewritten path is resolved from the root again.
            int err = errno;
            char target[PATH_MAX];
            ssize_t n = ::readlinkat(cur.get(), parts[i].c_str(), target, sizeof target - 1);
            if (n <= 0) return CodeErr(err, "open ", path, " in the container rootfs");
            if (depth >= 40) return CodeErr(ELOOP, "mkdir ", path, " in the container rootfs: too many symlinks");
            std::string t(target, static_cast<size_t>(n)), rest;
            for (size_t k = i + 1; k < parts.size(); ++k) rest += "/" + parts[k];
            std::string base;
            for (size_t k = 0; k < i; ++k) base += "/" + parts[k];
            std::string next_path = clean_path((t[0] == '/' ? t : base + "/" + t) + rest);
            return mkdir_all_depth(root, next_path, mode, depth + 1);
        }
        if (next < 0) return ErrnoErr("open ", path, " in the container rootfs");
        cur.reset(next);
    }
    return cur;
}

}  // namespace

Result<UniqueFd> ensure_target(int root, const std::string& path, bool as_file) {
    if (!as_file) return mkdir_all_in_root(root, path);
    std::string rel = relative(path);
    int fd = sys_openat2(root, rel.c_str(), O_PATH | O_CLOEXEC, 0, kResolve);
    if (fd >= 0) return UniqueFd(fd);
    if (errno != ENOENT) return ErrnoErr("open ", path, " in the container rootfs");
    auto slash = rel.rfind('/');
    std::string parent = slash == std::string::npos ? "." : rel.substr(0, slash);
    std::string base = slash == std::string::npos ? rel : rel.substr(slash + 1);
    auto dir = TRY(mkdir_all_in_root(root, parent));
    int f = ::openat(dir.get(), base.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (f < 0 && errno != EEXIST) return ErrnoErr("create ", path, " in the container rootfs");
    if (f >= 0) ::close(f);
    return open_in_root(root, path, O_PATH);
}

Result<void> write_proc_file(const std::string& rel, const std::string& value) {
    UniqueFd proc(::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!proc) return ErrnoErr("open /proc");
    struct statfs sf;
    if (::fstatfs(proc.get(), &sf) < 0) return ErrnoErr("statfs /proc");
    if (sf.f_type != PROC_SUPER_MAGIC) return Err("/proc is not procfs; refusing to write /proc/", rel);
    struct open_how how {};
    how.flags = O_WRONLY | O_CLOEXEC | O_NOFOLLOW;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;
    UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, proc.get(), rel.c_str(), &how, sizeof how)));
    if (!fd) {
        if (errno == EXDEV || errno == ELOOP)
            return Err("/proc/", rel, " is not procfs's own file (a mount or link over it); refusing to write it");
        return ErrnoErr("open /proc/", rel);
    }
    if (::fstatfs(fd.get(), &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
        return Err("/proc/", rel, " is not on procfs; refusing to write it");
    ssize_t w;
    do {
        w = ::write(fd.get(), value.data(), value.size());
    } while (w < 0 && errno == EINTR);
    if (w < 0) return ErrnoErr("write /proc/", rel);
    return {};
}

}  // namespace berth::runtime
