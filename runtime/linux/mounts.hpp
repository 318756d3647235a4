// The container's mount namespace: rootfs preparation, the spec's mounts
// (targets resolved inside the rootfs), pivot_root, masked and read-only
// paths. Runs in the container init.
#pragma once
#include <sys/mount.h>

#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/fd.hpp"
#include "libutil/oci/spec.hpp"
#include "runtime/linux/cgroups.hpp"

namespace berth::runtime {

struct MountOptions {
    unsigned long flags = 0;             // MS_* to set
    std::vector<unsigned long> propagation;  // MS_SHARED|MS_REC, ... applied after mounting
    uint64_t attr_set = 0, attr_clr = 0;    // MOUNT_ATTR_* applied recursively (rro, rnosuid...)
    bool idmap = false, recursive_idmap = false;
    std::string data;  // what mount(2) gets as data ("mode=755,size=65536k")
};

// Parses a mount's options list the way runc does.
MountOptions parse_mount_options(const std::vector<std::string>& options);
// Parses a propagation name ("rslave") -> MS_SLAVE|MS_REC; 0 when unknown.
unsigned long parse_propagation(std::string_view name);

struct MountContext {
    std::string rootfs;     // absolute host path
    bool new_userns = false;
    bool new_netns = false;
    bool new_cgroupns = false;
    bool own_mountns = true;  // false: the host's mount namespace (chroot, no propagation changes)
    const Cgroup* cgroup = nullptr;
    // Idmapped mount trees made by the runtime on the host: (index in
    // spec.mounts, detached tree fd).
    const std::vector<std::pair<size_t, UniqueFd>>* idmapped = nullptr;
};

// Whether a mount is idmapped: "idmap"/"ridmap", or mappings given (spec 1.2).
bool is_idmapped(const oci::Mount& m);
// On the host, before the clone: a detached copy of the mount's source with
// MOUNT_ATTR_IDMAP from a user namespace made with its mappings (host ids:
// the container's own user namespace could not map them).
Result<UniqueFd> make_idmapped_tree(const oci::Mount& m);

// Makes / a slave (or rootfsPropagation), makes the rootfs a mount point.
Result<void> prepare_rootfs(const oci::Spec& spec, const MountContext& ctx);
// Mounts everything in spec.mounts inside the rootfs.
Result<void> mount_all(const oci::Spec& spec, const MountContext& ctx);
// Whether the spec bind-mounts /dev (then runc's rule: no device nodes are made).
bool spec_binds_dev(const oci::Spec& spec);
// Switches root to the rootfs: pivot_root, or MS_MOVE + chroot with --no-pivot
// (plain chroot in the host's mount namespace).
Result<void> enter_rootfs(const std::string& rootfs, bool no_pivot, bool own_mountns = true);
// Unmounts (lazily, deepest first) every mount under `rootfs`: what a
// container without its own mount namespace left on the host.
void unmount_under(const std::string& rootfs);
// After the switch: masked paths, read-only paths, read-only root, rootfs propagation.
Result<void> finalize_rootfs(const oci::Spec& spec, const MountContext& ctx);

}  // namespace berth::runtime
