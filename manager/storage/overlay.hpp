// Overlay mounts for container rootfs and read-only image mounts.
//
// Options, as podman's and docker's overlay drivers choose them:
//   index=off        an inode index ties a lower layer to one upper; layers are
//                    shared by many containers, so it stays off.
//   metacopy=off     a metadata-only copy-up leaves an upper file without its
//                    data; the diff writer (diff.hpp) reads upper files as they
//                    are, so every copy-up must be a full copy.
//   redirect_dir=off a renamed lower dir becomes a copy (EXDEV to userspace),
//                    not a redirect xattr that a layer tarball cannot express.
//   nodev            podman's default mount option: device nodes an image
//                    brings are not usable through the rootfs (the runtime
//                    makes /dev on its own tmpfs).
// "userxattr" is for rootless overlay only; berth mounts as root.
//
// The new mount API (fsopen/fsconfig "lowerdir+", Linux 6.8+) passes each
// lower dir on its own, so any number of layers fit; older kernels get one
// mount(2) options string, limited to a page.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "libutil/error.hpp"

namespace berth::manager {

struct OverlaySpec {
    std::vector<std::string> lowers;  // top first, as overlayfs wants them
    std::string upper;                // empty: a read-only mount of lowers only (needs >= 2)
    std::string work;
    bool read_only = false;
    // "volatile": the upper dir is never synced, not even at unmount (which
    // otherwise syncs the whole filesystem under it: ~40 ms here). For
    // containers whose changes are thrown away (run --rm), as podman does.
    // After a crash overlayfs refuses to mount such an upper dir again.
    bool volatile_upper = false;
};

// The mount(2) options string for `spec`; an error when it does not fit in a page.
Result<std::string> overlay_legacy_options(const OverlaySpec& spec);

// Mounts `spec` on `target`. BERTH_OVERLAY_MOUNT_API=legacy forces the
// mount(2) path (for tests on new kernels).
Result<void> mount_overlay(const OverlaySpec& spec, const std::string& target);

// True when `path` is the root of a mount (statx STATX_ATTR_MOUNT_ROOT).
bool is_mount_point(const std::string& path);

// Unmounts `path`; a path that is not a mount point is fine. EBUSY is an
// error ("PATH is busy") unless `lazy` (MNT_DETACH).
Result<void> unmount_path(const std::string& path, bool lazy);

}  // namespace berth::manager
