// What image and rootfs verbs share: the storage opened and repaired, and
// the check that keeps rmi from removing an image in use.
#include <cstdio>

#include "manager/cli/commands.hpp"
#include "manager/containers/lifecycle.hpp"

namespace berth::manager {

Result<RootfsStore> open_storage(const GlobalOptions& g) {
    auto s = TRY(RootfsStore::open(g.root));
    TRY(s.cleanup());
    return s;
}

// A rootfs may belong to the container with its id: `rmi -f` then removes
// the container (killing it), as podman does, instead of the rootfs alone.
Result<void> release_image_users(const GlobalOptions& g, const std::string& image_id, const std::string& arg,
                                 bool force) {
    auto e = TRY(Engine::open(g));
    auto s = TRY(open_storage(g));
    auto u = TRY(s.users(image_id));
    auto containers = TRY(e->containers.using_image(image_id));
    if (!force) {
        if (!containers.empty()) {
            auto c = TRY(e->containers.get(containers[0]));
            return Err(arg, ": image used by container ", c ? c->name : containers[0],
                       " (", containers[0].substr(0, 12), "): image is in use by a container");
        }
        if (!u.rootfs.empty()) return Err(arg, ": image used by ", u.rootfs[0], ": image is in use by a container");
        if (u.mounted) return Err(arg, ": image is mounted: unmount it first (berth image unmount)");
        return {};
    }
    for (const auto& id : containers) TRY_CTX(remove_container(*e, id, true, true), "remove the container using ", arg);
    for (const auto& id : TRY(s.users(image_id)).rootfs) TRY_CTX(s.remove(id), "remove the rootfs using ", arg);
    if (u.mounted) TRY(s.unmount_image(image_id, true));
    return {};
}

}  // namespace berth::manager
