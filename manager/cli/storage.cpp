// What image and rootfs verbs share: the storage opened and repaired, and
// the check that keeps rmi from removing an image in use.
#include <cstdio>

#include "manager/cli/commands.hpp"

namespace berth::manager {

Result<RootfsStore> open_storage(const GlobalOptions& g) {
    auto s = TRY(RootfsStore::open(g.root));
    TRY(s.cleanup());
    return s;
}

// A rootfs today has no container; when containers come, a rootfs belongs to
// the container with its id, and `rmi -f` removes the container (stopping it)
// and with it the rootfs, as podman does, instead of the rootfs alone.
Result<void> release_image_users(const GlobalOptions& g, const std::string& image_id, const std::string& arg,
                                 bool force) {
    auto s = TRY(open_storage(g));
    auto u = TRY(s.users(image_id));
    if (!force) {
        if (!u.rootfs.empty()) return Err(arg, ": image used by ", u.rootfs[0], ": image is in use by a container");
        if (u.mounted) return Err(arg, ": image is mounted: unmount it first (berth image unmount)");
        return {};
    }
    for (const auto& id : u.rootfs)
        TRY_CTX(s.remove(id), "remove the rootfs using ", arg);
    if (u.mounted) TRY(s.unmount_image(image_id, true));
    return {};
}

}  // namespace berth::manager
