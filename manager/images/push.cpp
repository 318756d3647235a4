#include "manager/images/push.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include "libutil/json.hpp"
#include "libutil/strings.hpp"
#include "manager/images/blob_store.hpp"
#include "manager/registry/client.hpp"
#include "manager/containers/events.hpp"

namespace berth::manager {

using registry::RegistryClient;

namespace {

struct Blob {
    std::string digest;
    uint64_t size = 0;
};

// The blobs the manifest names, config first.
Result<std::vector<Blob>> manifest_blobs(const std::string& manifest, const std::string& digest) {
    auto doc = TRY_CTX(json::parse(manifest), "manifest ", digest);
    std::vector<Blob> out;
    auto add = [&](const json::Value& d) -> Result<void> {
        const json::Value* dg = d.find("digest");
        const json::Value* sz = d.find("size");
        auto size = sz && sz->is_number() ? sz->as_uint64() : std::nullopt;
        if (!dg || !dg->is_string() || !valid_digest(dg->as_string()) || !size)
            return Err("manifest ", digest, ": invalid descriptor");
        out.push_back({dg->as_string(), *size});
        return {};
    };
    const json::Value* cfg = doc.find("config");
    const json::Value* layers = doc.find("layers");
    if (!cfg || !layers || !layers->is_array()) return Err("manifest ", digest, ": no config or layers");
    TRY(add(*cfg));
    for (const auto& l : layers->items())
        TRY(add(l));
    return out;
}

Result<void> push_blob(RegistryClient& client, BlobStore& store, const Blob& b, const std::string& mount_from,
                       uint64_t chunk, PullProgress& progress) {
    size_t line = progress.add("blob", b.digest, b.size);
    if (TRY(client.has_blob(b.digest))) {
        progress.finish(line, "skipped: already exists");
        return {};
    }
    if (!mount_from.empty() && TRY(client.mount_blob(b.digest, mount_from))) {
        progress.finish(line, "mounted");
        return {};
    }
    std::string path = store.path(b.digest);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return ErrnoErr("blob ", b.digest, ": open ", path);
    TRY(client.upload_blob(b.digest, fd.get(), b.size, chunk, [&](uint64_t n) { progress.bytes(line, n); }));
    progress.finish(line, "done");
    return {};
}

}  // namespace

Result<std::string> push_image(const ImageRecord& img, const Reference& dest, const std::string& root,
                               const registry::RegistriesConfig& conf, const PushOptions& opts,
                               PullProgress& progress) {
    BlobStore store(root);
    std::string manifest = TRY(store.read(img.manifest_digest));
    auto blobs = TRY(manifest_blobs(manifest, img.manifest_digest));
    std::string media_type = "application/vnd.oci.image.manifest.v1+json";
    if (auto doc = json::parse(manifest); doc && doc->is_object())
        if (const json::Value* mt = doc->find("mediaType"); mt && mt->is_string()) media_type = mt->as_string();

    // Another repository on the same registry that has this image's blobs.
    std::string mount_from;
    for (const auto& n : img.names) {
        auto r = parse_reference(n, {dest.domain, ""});
        if (r && r->domain == dest.domain && r->path != dest.path) {
            mount_from = r->path;
            break;
        }
    }
    const registry::RegistryEntry* entry = conf.find(dest.repository());
    auto creds = opts.creds;
    if (!creds) {
        std::string file = opts.authfile.empty() ? registry::default_auth_file() : opts.authfile;
        creds = TRY(registry::lookup_auth(file, dest.domain));
    }
    auto http = std::make_shared<registry::HttpClient>(opts.tls_verify.value_or(!(entry && entry->insecure)));
    RegistryClient client(http, dest.domain, dest.path, creds);
    std::vector<std::string> scopes{"repository:" + dest.path + ":pull,push"};
    if (!mount_from.empty()) scopes.push_back("repository:" + mount_from + ":pull");
    client.set_scopes(scopes);
    TRY(client.ping());
    progress.start();
    for (const auto& b : blobs)
        TRY(push_blob(client, store, b, mount_from, opts.chunk_size, progress));
    progress.message("Writing manifest to image destination");
    TRY(client.put_manifest(dest.digest.empty() ? dest.tag : dest.digest, media_type, manifest));
    record_event(Event{"image", "push", dest.str(), {{"name", dest.str()}}});
    return img.manifest_digest;
}

}  // namespace berth::manager
