#include "manager/images/commit.hpp"

#include <sys/stat.h>

#include <set>

#include "libutil/strings.hpp"
#include "manager/images/blob_store.hpp"
#include "manager/images/import.hpp"
#include "manager/images/load.hpp"
#include "manager/images/store_lock.hpp"
#include "manager/images/unpack.hpp"
#include "manager/storage/diff.hpp"

namespace berth::manager {

namespace {

constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";

// The media types of the new manifest: docker schema2 when the base image's
// manifest is one, OCI otherwise.
struct MediaTypes {
    std::string manifest, config, layer;
};

MediaTypes media_types(const json::Value& base_manifest) {
    const json::Value* m = base_manifest.find("mediaType");
    if (m && m->is_string() && m->as_string() == kDockerManifest)
        return {kDockerManifest, "application/vnd.docker.container.image.v1+json",
                "application/vnd.docker.image.rootfs.diff.tar.gzip"};
    return {"application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.config.v1+json",
            "application/vnd.oci.image.layer.v1.tar+gzip"};
}

Result<json::Value> parse_blob(BlobStore& store, const std::string& digest, const char* what) {
    auto text = TRY(store.read(digest));
    return TRY_CTX(json::parse(text), what, " ", digest);
}

std::vector<std::string> diff_ids_of(const json::Value& cfg) {
    std::vector<std::string> out;
    if (const json::Value* r = cfg.find("rootfs"))
        if (const json::Value* d = r->find("diff_ids"); d && d->is_array())
            for (const auto& x : d->items())
                out.push_back(x.is_string() ? x.as_string() : "");
    return out;
}

Result<std::string> commit(const std::string& root, const std::string& upper_dir, const ImageRecord& base,
                           const CommitOptions& opts, StoreContent& added) {
    auto base_cfg = TRY_CTX(json::parse(base.config), "config of image ", base.id);
    // The config is checked (the --change instructions) before anything is stored.
    TRY(commit_config(base_cfg, "sha256:", opts));
    auto lock = TRY(StoreLock::shared(root));
    BlobStore store(root);
    auto db = TRY(ImageStore::open(root));
    auto base_manifest = TRY(parse_blob(store, base.manifest_digest, "manifest"));
    const json::Value* base_layers = base_manifest.find("layers");
    if (!base_layers || !base_layers->is_array()) return Err("manifest ", base.manifest_digest, ": no layers");

    LayerDiff layer = TRY(write_layer_diff(upper_dir, store));
    added.blobs.insert(layer.digest);
    json::Value cfg = TRY(commit_config(base_cfg, layer.diff_id, opts));
    auto chains = chain_ids(diff_ids_of(cfg));
    const std::string& chain = chains.back();
    std::string layers_dir = path_join(root, "layers");
    struct stat st;
    bool had_layer = ::stat(path_join(layers_dir, chain.substr(7)).c_str(), &st) == 0;
    TRY_CTX(unpack_layer(store.path(layer.digest), layers_dir, chain), "layer of ", upper_dir);
    if (!had_layer) added.layers.insert(chain);

    MediaTypes media = media_types(base_manifest);
    std::string cfg_text = json::write(cfg);
    std::string cfg_digest = TRY(store.put(cfg_text));
    added.blobs.insert(cfg_digest);
    json::Value layers = *base_layers;
    layers.push(descriptor(media.layer, layer.digest, static_cast<uint64_t>(layer.size)));
    std::string m_digest =
        TRY(store_manifest(store, media.manifest, descriptor(media.config, cfg_digest, cfg_text.size()), layers));
    added.blobs.insert(m_digest);

    ImageRecord r;
    r.id = cfg_digest;
    r.manifest_digest = m_digest;
    r.created = cfg.find("created")->as_string();
    r.size = base.size + layer.diff_size;
    r.config = cfg_text;
    r.layers = chains;
    for (const auto& d : layers.items())
        if (const json::Value* dg = d.find("digest"); dg && dg->is_string()) r.blobs.push_back(dg->as_string());
    r.blobs.push_back(cfg_digest);
    r.blobs.push_back(m_digest);
    TRY(db.add(r, opts.names));
    return r.id;
}

}  // namespace

Result<json::Value> commit_config(const json::Value& base, const std::string& diff_id, const CommitOptions& opts) {
    if (!base.is_object()) return Err("image config: not a JSON object");
    json::Value cfg = base;
    std::string created = opts.created.empty() ? now_rfc3339() : opts.created;
    cfg.set("created", json::Value::string(created));
    if (!opts.author.empty()) cfg.set("author", json::Value::string(opts.author));

    const json::Value* c = base.find("config");
    json::Value conf = c && c->is_object() ? *c : json::Value::object();
    for (const auto& change : opts.changes)
        TRY(apply_change(conf, change));
    cfg.set("config", std::move(conf));

    json::Value ids = json::Value::array();
    for (const auto& d : diff_ids_of(base))
        ids.push(json::Value::string(d));
    ids.push(json::Value::string(diff_id));
    json::Value rootfs = json::Value::object();
    rootfs.set("type", json::Value::string("layers"));
    rootfs.set("diff_ids", std::move(ids));
    cfg.set("rootfs", std::move(rootfs));

    const json::Value* h = base.find("history");
    json::Value history = h && h->is_array() ? *h : json::Value::array();
    // History entries line up with the layers that are not empty_layer: a
    // base with fewer (none, often) gets one per layer it lacks, so the new
    // entry describes the new layer.
    size_t layer_entries = 0;
    for (const auto& e : history.items()) {
        const json::Value* empty = e.is_object() ? e.find("empty_layer") : nullptr;
        if (!(empty && empty->is_bool() && empty->as_bool())) ++layer_entries;
    }
    const json::Value* base_created = base.find("created");
    for (size_t n = diff_ids_of(base).size(); layer_entries < n; ++layer_entries) {
        json::Value e = json::Value::object();
        if (base_created && base_created->is_string()) e.set("created", *base_created);
        history.push(std::move(e));
    }
    json::Value entry = json::Value::object();
    entry.set("created", json::Value::string(created));
    entry.set("created_by", json::Value::string("berth commit"));
    if (!opts.author.empty()) entry.set("author", json::Value::string(opts.author));
    if (!opts.message.empty()) entry.set("comment", json::Value::string(opts.message));
    history.push(std::move(entry));
    cfg.set("history", std::move(history));
    return cfg;
}

Result<std::string> commit_rootfs(const std::string& root, const std::string& upper_dir, const ImageRecord& base,
                                  const CommitOptions& opts) {
    StoreContent added;
    auto r = commit(root, upper_dir, base, opts, added);
    if (r) return r;
    // Not recorded: what this commit stored goes again, unless another image uses it.
    (void)added.collect(root);
    return r;
}

}  // namespace berth::manager
