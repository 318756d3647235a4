// `berth rootfs create|mount|unmount|rm|ls|diff`: the container rootfs
// storage on its own, for scripts (`make demo`) and tests until containers
// (`berth create/run`) use it. Not in `berth --help`; see berth(1).
#include <cstdio>
#include <filesystem>

#include "libutil/json.hpp"
#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"
#include "manager/storage/diff.hpp"

namespace berth::manager {

namespace {

// `diff ID -o FILE`: the rootfs's changes as a gzip'ed layer tarball in FILE;
// prints the blob's digest, size and diff id as JSON.
Result<void> diff(RootfsStore& s, const std::string& id, const std::string& out) {
    if (!TRY(s.get(id))) return Err("rootfs ", id, ": not known");
    BlobStore blobs(s.root());
    auto d = TRY(write_layer_diff(s.upper_dir(id), blobs));
    std::error_code ec;
    std::filesystem::copy_file(blobs.path(d.digest), out, std::filesystem::copy_options::overwrite_existing, ec);
    // The blob is the store's only when an image already has this very layer.
    auto used = TRY(s.images().used_blobs());
    if (!used.count(d.digest)) TRY(blobs.remove(d.digest));
    if (ec) return Err(out, ": ", ec.message());
    json::Value o = json::Value::object();
    o.set("Digest", json::Value::string(d.digest));
    o.set("Size", json::Value::number(d.size));
    o.set("DiffID", json::Value::string(d.diff_id));
    std::printf("%s\n", json::write(o, false).c_str());
    return {};
}

Result<void> run(const GlobalOptions& g, const std::string& sub, const Args& a) {
    auto s = TRY(open_storage(g));
    auto need = [&](size_t n) -> Result<void> {
        if (a.positional.size() != n)
            return Err("rootfs ", sub, ": ", n == 1 ? "one argument" : "no argument", " expected");
        return {};
    };
    if (sub == "create") {
        TRY(need(1));
        std::string image = TRY(find_image(s.images(), g, a.positional[0]));
        std::printf("%s\n", TRY(s.create(image)).c_str());
    } else if (sub == "mount") {
        TRY(need(1));
        std::printf("%s\n", TRY(s.mount(a.positional[0])).c_str());
    } else if (sub == "unmount" || sub == "umount") {
        TRY(need(1));
        TRY(s.unmount(a.positional[0], a.has("force")));
    } else if (sub == "rm") {
        TRY(need(1));
        TRY(s.remove(a.positional[0]));
    } else if (sub == "ls") {
        TRY(need(0));
        for (const auto& r : TRY(s.list()))
            std::printf("%s %s %lld %s\n", r.id.c_str(), short_id(r.image_id).c_str(),
                        static_cast<long long>(r.mount_count), s.merged_dir(r.id).c_str());
    } else if (sub == "diff") {
        TRY(need(1));
        if (!a.has("output")) return Err("rootfs diff: --output FILE is required");
        TRY(diff(s, a.positional[0], a.get("output")));
    } else {
        return Err("unknown command: rootfs ", sub);
    }
    return {};
}

}  // namespace

int cmd_rootfs(const GlobalOptions& g, int argc, char** argv, int start) {
    if (start >= argc) return fail(Error{0, "rootfs: a subcommand is required (create, mount, unmount, rm, ls, diff)"});
    auto a = parse_args(argc, argv, start + 1, {{"force", 'f', false}, {"output", 'o', true}});
    if (!a) return fail(a.error());
    if (auto r = run(g, argv[start], *a); !r) return fail(r.error());
    return 0;
}

}  // namespace berth::manager
