// `berth cp`: files into and out of a container as tar streams, never
// following a symlink of the container's out of it. Paths in the container
// are resolved with openat2(RESOLVE_IN_ROOT) against an fd of its root (the
// running process's /proc/PID/root, so volumes and tmpfs mounts are seen;
// the mounted rootfs when it is stopped), and every file is then created or
// read relative to an fd of its resolved parent with O_NOFOLLOW.
#pragma once
#include <string>

#include "libutil/error.hpp"

namespace berth::manager {

struct CopyOptions {
    bool archive = false;  // -a: keep the owners of copied-in files (else root:root, as docker)
    bool follow = false;   // -L: copy what a source symlink points to
};

// Container → host: `path` inside `root_fd`, to the host path `dest` ("-":
// a tar stream on stdout). A dest that is a directory receives the item under
// its own name; else the item is created as dest.
Result<void> copy_out(int root_fd, const std::string& path, const std::string& dest, const CopyOptions& o);

// Host → container: the host path `src` ("-": a tar stream on stdin) to
// `dest` inside `root_fd`, with the same directory rule.
Result<void> copy_in(const std::string& src, int root_fd, const std::string& dest, const CopyOptions& o);

}  // namespace berth::manager
