// `berth image mount [IMAGE...]` and `berth image unmount [-a] [-f] [IMAGE...]`:
// read-only mounts of images for inspection, as podman's. A mount stays
// after berth exits (it is in the host's mount namespace) until as many
// unmounts as mounts, or one `unmount -f`.
#include <cstdio>

#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"

namespace berth::manager {

int cmd_image_mount(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {});
    if (!a) return fail(a.error());
    auto s = open_storage(g);
    if (!s) return fail(s.error());
    if (a->positional.empty()) {
        auto ms = s->image_mounts();
        if (!ms) return fail(ms.error());
        for (const auto& m : *ms) {
            auto img = s->images().get(m.image_id);
            std::string name = img && *img && !(*img)->names.empty() ? (*img)->names[0] : "<none>";
            std::printf("%s %s %s\n", short_id(m.image_id).c_str(), name.c_str(), m.path.c_str());
        }
        return 0;
    }
    int rc = 0;
    for (const auto& arg : a->positional) {
        auto path = [&]() -> Result<std::string> {
            std::string id = TRY(find_image(s->images(), g, arg));
            return s->mount_image(id);
        }();
        if (!path)
            rc = fail(path.error());
        else
            std::printf("%s\n", path->c_str());
    }
    return rc;
}

int cmd_image_unmount(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"all", 'a', false}, {"force", 'f', false}});
    if (!a) return fail(a.error());
    bool all = a->has("all"), force = a->has("force");
    if (all == !a->positional.empty()) return fail(Error{0, "image unmount: give image names or ids, or --all"});
    auto s = open_storage(g);
    if (!s) return fail(s.error());
    std::vector<std::string> ids;
    if (all) {
        auto ms = s->image_mounts();
        if (!ms) return fail(ms.error());
        for (const auto& m : *ms)
            ids.push_back(m.image_id);
        force = true;  // podman: --all unmounts each image whatever its count
    }
    int rc = 0;
    auto one = [&](const std::string& id, const std::string& arg) -> Result<void> {
        if (!TRY(s->unmount_image(id, force))) return Err(arg, ": image is not mounted");
        std::printf("%s\n", id.substr(7).c_str());
        return {};
    };
    for (const auto& id : ids)
        if (auto r = one(id, id); !r) rc = fail(r.error());
    for (const auto& arg : a->positional) {
        auto id = find_image(s->images(), g, arg);
        auto r = id ? one(*id, arg) : Result<void>(std::unexpected(id.error()));
        if (!r) rc = fail(r.error());
    }
    return rc;
}

}  // namespace berth::manager
