#include <cstdio>

#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"
#include "manager/images/load.hpp"

namespace berth::manager {

namespace {

// Removes the name ARG, or the image with every name when ARG is an id; the
// image, and its blobs and layers no other image uses, go with its last name.
Result<void> remove_one(const GlobalOptions& g, ImageStore& db, const std::string& arg, bool force) {
    std::string id = TRY(find_image(db, g, arg));
    auto img = TRY(db.get(id));
    if (!img) return Err(arg, ": image not known");
    auto ref = parse_reference(arg, g.refs);
    bool by_name = ref && TRY(db.resolve(ref->str(), false)) == id;
    // Checked before anything changes: a refused rmi leaves the names too.
    if (!by_name || img->names.size() <= 1) TRY(release_image_users(g, id, arg, force));
    if (by_name) {
        TRY(db.untag(ref->str()));
        std::printf("Untagged: %s\n", ref->str().c_str());
        if (img->names.size() > 1) return {};
    } else {
        for (const auto& n : img->names)
            std::printf("Untagged: %s\n", n.c_str());
    }
    TRY(db.remove(id));
    TRY(collect_garbage(g.root, img->blobs, img->layers));
    std::printf("Deleted: %s\n", id.substr(7).c_str());
    return {};
}

}  // namespace

int cmd_rmi(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"force", 'f', false}});
    if (!a) return fail(a.error());
    if (a->positional.empty()) return fail(Error{0, "rmi: an image name or id is required"});
    auto db = ImageStore::open(g.root);
    if (!db) return fail(db.error());
    int rc = 0;
    for (const auto& arg : a->positional)
        if (auto r = remove_one(g, *db, arg, a->has("force")); !r) rc = fail(r.error());
    return rc;
}

}  // namespace berth::manager
