// `berth image SUBCOMMAND`: inspect here; the others are the top-level verbs.
#include <cstdio>

#include "libutil/json.hpp"
#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"

namespace berth::manager {

namespace {

Result<json::Value> inspect_one(const GlobalOptions& g, ImageStore& db, const std::string& arg) {
    auto img = TRY(find_image_record(db, g, arg));
    const std::string& id = img.id;
    auto cfg = TRY_CTX(json::parse(img.config), "config ", id);
    json::Value o = json::Value::object();
    o.set("Id", json::Value::string(id.substr(7)));
    o.set("Digest", json::Value::string(img.manifest_digest));
    json::Value names = json::Value::array();
    for (const auto& n : img.names)
        names.push(json::Value::string(n));
    o.set("RepoTags", std::move(names));
    o.set("Created", json::Value::string(img.created));
    o.set("Size", json::Value::number(img.size));
    for (const char* k : {"architecture", "os"})
        if (const json::Value* v = cfg.find(k)) o.set(k == std::string("os") ? "Os" : "Architecture", *v);
    if (const json::Value* c = cfg.find("config")) o.set("Config", *c);
    if (const json::Value* r = cfg.find("rootfs")) o.set("RootFS", *r);
    // Where the unpacked layers are, bottom first: the overlay lower dirs.
    json::Value layers = json::Value::array();
    for (const auto& l : img.layers)
        layers.push(json::Value::string(g.root + "/layers/" + l.substr(7)));
    o.set("LayerDirs", std::move(layers));
    return o;
}

int cmd_image_inspect(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {});
    if (!a) return fail(a.error());
    if (a->positional.empty()) return fail(Error{0, "image inspect: an image name or id is required"});
    auto db = ImageStore::open(g.root);
    if (!db) return fail(db.error());
    json::Value out = json::Value::array();
    int rc = 0;
    for (const auto& arg : a->positional) {
        auto o = inspect_one(g, *db, arg);
        if (!o)
            rc = fail(o.error());
        else
            out.push(std::move(*o));
    }
    std::printf("%s\n", json::write(out, true).c_str());
    return rc;
}

}  // namespace

int cmd_image(const GlobalOptions& g, int argc, char** argv, int start) {
    // `image VERB` is the same as the top-level verb, as in podman.
    struct Sub {
        const char* name;
        int (*fn)(const GlobalOptions&, int, char**, int);
    };
    static constexpr Sub kSubs[] = {
        {"inspect", cmd_image_inspect},
        {"tag", cmd_tag},
        {"untag", cmd_untag},
        {"load", cmd_load},
        {"rm", cmd_rmi},
        {"save", cmd_save},
        {"import", cmd_import},
        {"history", cmd_history},
        {"prune", cmd_image_prune},
        {"mount", cmd_image_mount},
        {"unmount", cmd_image_unmount},
        {"umount", cmd_image_unmount},
    };
    if (start >= argc) return fail(Error{0, "image: a subcommand is required (inspect, history, mount, prune, tag, ...)"});
    std::string sub = argv[start];
    for (const auto& s : kSubs)
        if (sub == s.name) return s.fn(g, argc, argv, start + 1);
    return fail(Error{0, cat("unknown command: image ", sub)});
}

}  // namespace berth::manager
