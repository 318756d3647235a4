// `berth rmi [-f] [-a] IMAGE...` and `berth image prune [-a] [-f]`.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <set>

#include "libutil/strings.hpp"
#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"
#include "manager/images/load.hpp"

namespace berth::manager {

namespace {

// What the removed images used (StoreContent) is collected once at the end.
// Removes the image with all its names. An image a rootfs uses or that is
// mounted is refused (ARG names it in the error) before anything is removed;
// with --force those go first (release_image_users).
Result<void> delete_image(const GlobalOptions& g, ImageStore& db, const ImageRecord& img, const std::string& arg,
                          bool force, StoreContent& removed) {
    TRY(release_image_users(g, img.id, arg, force));
    for (const auto& n : img.names)
        std::printf("Untagged: %s\n", n.c_str());
    TRY(db.remove(img.id));
    removed.add(img);
    std::printf("Deleted: %s\n", img.id.substr(7).c_str());
    return {};
}

// ARG a name: that name goes, and the image with its last name (with
// --force: with all its names). ARG an id: the image with every name, which
// needs --force when it has more than one (as podman).
Result<void> remove_one(const GlobalOptions& g, ImageStore& db, const std::string& arg, bool force, StoreContent& removed) {
    auto img = TRY(find_image_record(db, g, arg));
    const std::string id = img.id;
    auto ref = parse_reference(arg, g.refs);
    bool by_name = ref && TRY(db.resolve(ref->str(), false)) == id;
    if (by_name && !force && img.names.size() > 1) {
        TRY(db.untag(ref->str()));
        std::printf("Untagged: %s\n", ref->str().c_str());
        return {};
    }
    if (!by_name && !force && img.names.size() > 1)
        return Err("unable to delete image ", id.substr(7), " by ID with more than one name (", join(img.names, ", "),
                   "): use --force");
    return delete_image(g, db, img, arg, force, removed);
}

}  // namespace

int cmd_rmi(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"force", 'f', false}, {"all", 'a', false}});
    if (!a) return fail(a.error());
    bool all = a->has("all"), force = a->has("force");
    if (all && !a->positional.empty()) return fail(Error{0, "rmi: --all takes no image names or ids"});
    if (!all && a->positional.empty()) return fail(Error{0, "rmi: an image name or id is required"});
    auto db = ImageStore::open(g.root);
    if (!db) return fail(db.error());
    int rc = 0;
    StoreContent removed;
    if (all) {
        auto images = db->list();
        if (!images) return fail(images.error());
        for (const auto& img : *images)
            if (auto r = delete_image(g, *db, img, short_id(img.id), force, removed); !r) rc = fail(r.error());
    }
    for (const auto& arg : a->positional)
        if (auto r = remove_one(g, *db, arg, force, removed); !r) rc = fail(r.error());
    if (auto r = removed.collect(g.root); !r) rc = fail(r.error());
    return rc;
}

int cmd_image_prune(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"force", 'f', false}, {"all", 'a', false}});
    if (!a) return fail(a.error());
    if (!a->positional.empty()) return fail(Error{0, cat("image prune: unexpected argument: ", a->positional[0])});
    bool all = a->has("all");
    if (!a->has("force")) {
        std::printf("WARNING! This command removes all %s.\nAre you sure you want to continue? [y/N] ",
                    all ? "images without at least one container associated with them" : "dangling images");
        std::fflush(stdout);
        std::string answer;
        if (!std::getline(std::cin, answer) || (answer != "y" && answer != "Y" && answer != "yes")) return 0;
    }
    auto pruned = prune_images(g, all);
    if (!pruned) return fail(pruned.error());
    for (const auto& img : pruned->removed) std::printf("%s\n", img.id.substr(7).c_str());
    return pruned->error ? fail(*pruned->error) : 0;
}

Result<ImagePrune> prune_images(const GlobalOptions& g, bool all) {
    auto db = TRY(ImageStore::open(g.root));
    ImagePrune out;
    StoreContent removed;
    for (const auto& img : TRY(db.list())) {
        // Dangling: no name. With all, every image: those a container's
        // rootfs uses or that are mounted stay (release_image_users refuses).
        if (!all && !img.names.empty()) continue;
        if (!release_image_users(g, img.id, short_id(img.id), false)) continue;
        if (auto r = db.remove(img.id); !r) {
            if (!out.error) out.error = r.error();
            continue;
        }
        removed.add(img);
        out.removed.push_back(img);
    }
    if (auto r = removed.collect(g.root); !r && !out.error) out.error = r.error();
    return out;
}

}  // namespace berth::manager
