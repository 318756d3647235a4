// Paths inside a container rootfs, resolved so that symlinks in the image can
// never lead outside it (CVE-2019-19921 and friends): every lookup goes
// through openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) relative to an fd
// of the rootfs, and mounts target /proc/self/fd/N of the resolved fd.
#pragma once
#include <sys/types.h>

#include <string>

#include "libutil/error.hpp"
#include "libutil/fd.hpp"

namespace berth::runtime {

// Opens `path` (absolute or relative, taken inside `root`) with `flags`.
Result<UniqueFd> open_in_root(int root, const std::string& path, int flags, mode_t mode = 0);
// mkdir -p inside root; returns an O_PATH fd of the final directory.
Result<UniqueFd> mkdir_all_in_root(int root, const std::string& path, mode_t mode = 0755);
// Makes sure a mount target exists inside root: a directory, or (when
// `as_file`) an empty regular file with its parents. Returns an O_PATH fd.
Result<UniqueFd> ensure_target(int root, const std::string& path, bool as_file);
// "/proc/self/fd/N", the name through which mount(2) reaches a resolved fd.
std::string fd_path(int fd);

// Writes `value` to /proc/REL (REL without symlinks: "sys/net/...",
// "PID/oom_score_adj") of the process's current /proc, refusing anything but
// procfs itself: /proc must be a procfs mount and REL must not cross into
// another mount or follow a link, so a file bind-mounted over a procfs path
// (or a /proc that is not procfs) cannot redirect the write
// (CVE-2025-52881).
Result<void> write_proc_file(const std::string& rel, const std::string& value);

}  // namespace berth::runtime
