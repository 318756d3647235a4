// /dev inside the container: the default devices and linux.devices (mknod,
// or bind mounts of the host's nodes in a user namespace), /dev/ptmx, the
// /dev/fd and std* symlinks, and /dev/console for a terminal.
#pragma once
#include <string>

#include "libutil/error.hpp"
#include "libutil/oci/spec.hpp"

namespace berth::runtime {

// Before pivot_root, after the spec's mounts (so a tmpfs /dev gets them).
Result<void> create_devices(const oci::Spec& spec, const std::string& rootfs, bool in_userns);
// After pivot_root: bind the pty slave at /dev/console.
Result<void> mount_console(int slave_fd);

}  // namespace berth::runtime
