// `berth tag SOURCE TARGET...` and `berth untag IMAGE [NAME...]`, as podman's:
// tag adds names (moving a name from the image it named before), untag removes
// the given names, or every name, and keeps the image (then dangling).
#include <algorithm>

#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"

namespace berth::manager {

int cmd_tag(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {});
    if (!a) return fail(a.error());
    if (a->positional.size() < 2) return fail(Error{0, "tag: SOURCE and at least one TARGET are required"});
    auto db = ImageStore::open(g.root);
    if (!db) return fail(db.error());
    auto id = find_image(*db, g, a->positional[0]);
    if (!id) return fail(id.error());
    // Every target is checked before any is added: a bad one adds none.
    std::vector<std::string> names;
    for (size_t i = 1; i < a->positional.size(); ++i) {
        auto ref = parse_reference(a->positional[i], g.refs);
        if (!ref) return fail(ref.error());
        if (!ref->digest.empty()) return fail(Error{0, cat("tag: ", a->positional[i], ": a digest cannot be a tag")});
        names.push_back(ref->str());
    }
    for (const auto& n : names)
        if (auto r = db->tag(*id, n); !r) return fail(r.error());
    return 0;
}

int cmd_untag(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {});
    if (!a) return fail(a.error());
    if (a->positional.empty()) return fail(Error{0, "untag: an image name or id is required"});
    auto db = ImageStore::open(g.root);
    if (!db) return fail(db.error());
    auto img = find_image_record(*db, g, a->positional[0]);
    if (!img) return fail(img.error());
    std::vector<std::string> names;
    for (size_t i = 1; i < a->positional.size(); ++i) {
        auto ref = parse_reference(a->positional[i], g.refs);
        if (!ref) return fail(ref.error());
        if (std::find(img->names.begin(), img->names.end(), ref->str()) == img->names.end())
            return fail(Error{0, cat(a->positional[i], ": tag not known")});
        names.push_back(ref->str());
    }
    if (a->positional.size() == 1) names = img->names;
    for (const auto& n : names)
        if (auto r = db->untag(n); !r) return fail(r.error());
    return 0;
}

}  // namespace berth::manager
