#include "manager/images/load.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "libutil/json.hpp"
#include "libutil/log.hpp"
#include "libutil/strings.hpp"
#include "manager/images/blob_store.hpp"
#include "manager/images/image_store.hpp"
#include "manager/images/store_lock.hpp"
#include "manager/images/unpack.hpp"
#include "manager/containers/events.hpp"

namespace berth::manager {

namespace {

// Metadata files (index.json, manifest.json, a docker config) are kept in
// memory; anything bigger than this is not metadata.
constexpr la_int64_t kMaxMetadata = 16 << 20;

struct ArchiveFree {
    void operator()(archive* a) const { archive_read_free(a); }
};

// What the archive held: blobs moved into the store, metadata in memory.
struct Staged {
    std::map<std::string, std::string> blobs;  // member path -> digest
    std::map<std::string, std::string> files;  // member path -> content
    std::set<std::string> added;               // digests this load put in the store
    std::map<std::string, std::string> links;  // member path -> the member it links to
};

// podman's docker-archive has "<id>/layer.tar" as a symlink to "<diff id>.tar".
std::string resolve_member(const Staged& st, std::string path) {
    for (int hops = 0; hops < 8; ++hops) {
        auto l = st.links.find(path);
        if (l == st.links.end()) break;
        path = l->second;
    }
    return path;
}

std::string member_path(const char* p) {
    std::string s = clean_path(p ? p : "");
    return s == "." ? "" : s;
}

bool is_blob_member(const std::string& p) {
    return p.starts_with("blobs/") || p.ends_with(".tar");
}

Result<void> stage_member(archive* a, archive_entry* e, const std::string& path, BlobStore& store, Staged& st) {
    if (is_blob_member(path)) {
        // OCI layout names blobs by digest: that name is what the content must hash to.
        std::string expected;
        if (path.starts_with("blobs/sha256/")) {
            expected = "sha256:" + path.substr(13);
            if (!valid_digest(expected)) return Err("invalid blob name");
        }
        auto w = TRY(store.writer());
        char buf[64 * 1024];
        la_ssize_t n;
        while ((n = archive_read_data(a, buf, sizeof buf)) > 0)
            TRY(w.write(buf, static_cast<size_t>(n)));
        if (n < 0) return Err(archive_error_string(a));
        auto d = TRY(w.commit(expected, archive_entry_size_is_set(e) ? archive_entry_size(e) : -1));
        // Only blobs no image uses are removed again, so a blob that was
        // already there (another image's) is safe in this set.
        st.added.insert(d);
        st.blobs[path] = d;
        log::debug(cat("load: ", path, " stored as ", d));
        return {};
    }
    if (archive_entry_size(e) > kMaxMetadata) return {};  // not ours to read
    std::string data;
    char buf[64 * 1024];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0)
        data.append(buf, static_cast<size_t>(n));
    if (n < 0) return Err(archive_error_string(a));
    st.files[path] = std::move(data);
    return {};
}

Result<void> stage(const std::string& file, BlobStore& store, Staged& st) {
    // "-" is stdin: the archive is read once, front to back, so a pipe will do.
    bool is_stdin = file == "-";
    const std::string name = is_stdin ? "stdin" : file;
    struct stat sb;
    if (!is_stdin && ::stat(file.c_str(), &sb) < 0) return ErrnoErr(file);
    std::unique_ptr<archive, ArchiveFree> a(archive_read_new());
    archive_read_support_filter_gzip(a.get());
    archive_read_support_filter_zstd(a.get());
    archive_read_support_filter_none(a.get());
    archive_read_support_format_tar(a.get());
    int rc = is_stdin ? archive_read_open_fd(a.get(), STDIN_FILENO, 64 * 1024)
                      : archive_read_open_filename(a.get(), file.c_str(), 64 * 1024);
    if (rc != ARCHIVE_OK) return Err(name, ": ", archive_error_string(a.get()));
    archive_entry* e;
    int r;
    while ((r = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        std::string path = member_path(archive_entry_pathname(e));
        if (const char* hl = archive_entry_hardlink(e)) {
            st.links[path] = member_path(hl);
            continue;
        }
        if (archive_entry_filetype(e) == AE_IFLNK) {
            std::string dir = path.find('/') == std::string::npos ? "" : path.substr(0, path.rfind('/'));
            const char* target = archive_entry_symlink(e);
            st.links[path] = member_path(path_join(dir, target ? target : "").c_str());
            continue;
        }
        if (archive_entry_filetype(e) != AE_IFREG) continue;
        TRY_CTX(stage_member(a.get(), e, path, store, st), name, ": ", path);
    }
    if (r != ARCHIVE_EOF) return Err(name, ": ", archive_error_string(a.get()));
    return {};
}

Result<json::Value> parse_json(const std::string& text, const std::string& what) {
    auto v = json::parse(text);
    if (!v) return Wrap(v.error(), what);
    if (!v->is_object() && !v->is_array()) return Err(what, ": not a JSON object");
    return v;
}

std::string str_field(const json::Value& v, std::string_view key) {
    const json::Value* f = v.find(key);
    return f && f->is_string() ? f->as_string() : "";
}

// One image to record: its config and layer blobs, already in the store.
struct Candidate {
    std::string manifest_digest;
    std::string manifest;  // the manifest's JSON (made for a docker archive, which has none)
    std::string config_digest;
    std::vector<std::string> layer_digests;
    std::vector<std::string> names;
};

Result<Candidate> oci_candidate(const json::Value& desc, BlobStore& store, const ReferenceDefaults& defaults) {
    Candidate c;
    c.manifest_digest = str_field(desc, "digest");
    if (!valid_digest(c.manifest_digest)) return Err("index.json: invalid manifest digest \"", c.manifest_digest, "\"");
    std::string media = str_field(desc, "mediaType");
    if (media.ends_with("index.v1+json") || media.ends_with("manifest.list.v2+json"))
        return Err("index.json: nested index ", c.manifest_digest, " is not supported yet");
    if (!store.has(c.manifest_digest)) return Err("manifest ", c.manifest_digest, ": not in the archive");
    c.manifest = TRY(store.read(c.manifest_digest));
    auto m = TRY(parse_json(c.manifest, "manifest " + c.manifest_digest));
    const json::Value* cfg = m.find("config");
    if (!cfg) return Err("manifest ", c.manifest_digest, ": no config");
    c.config_digest = str_field(*cfg, "digest");
    const json::Value* layers = m.find("layers");
    if (!layers || !layers->is_array()) return Err("manifest ", c.manifest_digest, ": no layers");
    for (const auto& l : layers->items())
        c.layer_digests.push_back(str_field(l, "digest"));
    if (const json::Value* ann = desc.find("annotations")) {
        std::string name = str_field(*ann, "io.containerd.image.name");
        if (name.empty()) {
            std::string ref = str_field(*ann, "org.opencontainers.image.ref.name");
            // A bare tag names nothing without a repository.
            if (ref.find_first_of("/:") != std::string::npos) name = ref;
        }
        if (!name.empty()) c.names.push_back(TRY_CTX(parse_reference(name, defaults), "index.json").str());
    }
    return c;
}

Result<std::vector<Candidate>> docker_candidates(Staged& st, BlobStore& store, const ReferenceDefaults& defaults) {
    auto doc = TRY(parse_json(st.files.at("manifest.json"), "manifest.json"));
    if (!doc.is_array()) return Err("manifest.json: not a JSON array");
    std::vector<Candidate> out;
    for (const auto& img : doc.items()) {
        Candidate c;
        std::string cfg = resolve_member(st, member_path(str_field(img, "Config").c_str()));
        if (auto b = st.blobs.find(cfg); b != st.blobs.end()) {
            c.config_digest = b->second;
        } else if (auto f = st.files.find(cfg); f != st.files.end()) {
            c.config_digest = TRY(store.put(f->second));
            st.added.insert(c.config_digest);
        } else {
            return Err("manifest.json: config \"", cfg, "\" is not in the archive");
        }
        const json::Value* layers = img.find("Layers");
        if (!layers || !layers->is_array()) return Err("manifest.json: no Layers");
        json::Value manifest = json::Value::object();
        manifest.set("schemaVersion", json::Value::number(2));
        manifest.set("mediaType", json::Value::string("application/vnd.oci.image.manifest.v1+json"));
        json::Value cd = json::Value::object();
        cd.set("mediaType", json::Value::string("application/vnd.oci.image.config.v1+json"));
        cd.set("digest", json::Value::string(c.config_digest));
        cd.set("size", json::Value::number(static_cast<uint64_t>(TRY(store.read(c.config_digest)).size())));
        manifest.set("config", std::move(cd));
        json::Value ls = json::Value::array();
        for (const auto& l : layers->items()) {
            std::string p = resolve_member(st, member_path(l.is_string() ? l.as_string().c_str() : ""));
            auto b = st.blobs.find(p);
            if (b == st.blobs.end()) return Err("manifest.json: layer \"", p, "\" is not in the archive");
            c.layer_digests.push_back(b->second);
            json::Value ld = json::Value::object();
            ld.set("mediaType", json::Value::string("application/vnd.oci.image.layer.v1.tar"));
            ld.set("digest", json::Value::string(b->second));
            struct stat sb {};
            ::stat(store.path(b->second).c_str(), &sb);
            ld.set("size", json::Value::number(static_cast<uint64_t>(sb.st_size)));
            ls.push(std::move(ld));
        }
        manifest.set("layers", std::move(ls));
        // docker-archive has no registry manifest: one is made, as podman does.
        c.manifest = json::write(manifest);
        c.manifest_digest = sha256_digest(c.manifest);
        if (const json::Value* tags = img.find("RepoTags"); tags && tags->is_array())
            for (const auto& t : tags->items())
                if (t.is_string())
                    c.names.push_back(TRY_CTX(parse_reference(t.as_string(), defaults), "manifest.json").str());
        out.push_back(std::move(c));
    }
    return out;
}

// Verifies a candidate's config and layers, unpacks the layers, and returns the record.
Result<ImageRecord> prepare(const Candidate& c, BlobStore& store, const std::string& root,
                            std::set<std::string>& added_layers) {
    if (!store.has(c.config_digest)) return Err("config ", c.config_digest, ": not in the archive");
    ImageRecord r;
    r.id = c.config_digest;
    r.manifest_digest = c.manifest_digest;
    r.config = TRY(store.read(c.config_digest));
    auto cfg = TRY(parse_json(r.config, "config " + c.config_digest));
    r.created = str_field(cfg, "created");
    std::vector<std::string> diff_ids;
    if (const json::Value* rootfs = cfg.find("rootfs"))
        if (const json::Value* d = rootfs->find("diff_ids"); d && d->is_array())
            for (const auto& x : d->items())
                diff_ids.push_back(x.is_string() ? x.as_string() : "");
    if (diff_ids.size() != c.layer_digests.size())
        return Err("config ", c.config_digest, ": ", diff_ids.size(), " diff_ids for ", c.layer_digests.size(),
                   " layers");
    auto chains = chain_ids(diff_ids);
    std::string layers_dir = path_join(root, "layers");
    for (size_t i = 0; i < c.layer_digests.size(); ++i) {
        const std::string& ld = c.layer_digests[i];
        if (!store.has(ld)) return Err("layer ", ld, ": not in the archive");
        // The diff id names the unpacked content that layers are shared by:
        // checked while unpacking (one pass), or on its own when the layer is here.
        std::string dir = path_join(layers_dir, chains[i].substr(7));
        struct stat sb;
        DiffId diff;
        if (::stat(dir.c_str(), &sb) < 0) {
            log::debug(cat("load: unpacking layer ", ld, " into ", dir));
            diff = TRY_CTX(unpack_checked(store.path(ld), layers_dir, chains[i], diff_ids[i]), "layer ", ld);
            added_layers.insert(chains[i]);
        } else {
            diff = TRY_CTX(layer_diff_id(store.path(ld)), "layer ", ld);
            if (diff.digest != diff_ids[i])
                return Err("layer ", ld, ": diff id mismatch: expected ", diff_ids[i], ", got ", diff.digest);
        }
        r.size += static_cast<int64_t>(diff.size);
        r.blobs.push_back(ld);
    }
    r.layers = chains;
    r.blobs.push_back(c.config_digest);
    r.blobs.push_back(c.manifest_digest);
    return r;
}

Result<std::vector<LoadedImage>> load(const std::string& file, const std::string& root,
                                      const ReferenceDefaults& defaults, BlobStore& store, ImageStore& db, Staged& st,
                                      std::set<std::string>& added_layers) {
    TRY(stage(file, store, st));
    std::vector<Candidate> cands;
    if (st.files.count("index.json")) {
        auto index = TRY(parse_json(st.files["index.json"], "index.json"));
        const json::Value* ms = index.find("manifests");
        if (!ms || !ms->is_array() || ms->items().empty()) return Err("index.json: no manifests");
        for (const auto& d : ms->items())
            cands.push_back(TRY(oci_candidate(d, store, defaults)));
    } else if (st.files.count("manifest.json")) {
        cands = TRY(docker_candidates(st, store, defaults));
    } else {
        return Err("neither index.json (OCI layout) nor manifest.json (docker-archive) in the archive");
    }
    std::vector<LoadedImage> out;
    for (const auto& c : cands) {
        if (!store.has(c.manifest_digest)) {
            TRY(store.put(c.manifest, c.manifest_digest));
            st.added.insert(c.manifest_digest);
        }
        auto rec = TRY(prepare(c, store, root, added_layers));
        TRY(db.add(rec, c.names));
        record_event(Event{"image", "load", rec.id, {{"name", c.names.empty() ? rec.id : c.names[0]}}});
        out.push_back({rec.id, c.names});
    }
    return out;
}

}  // namespace

Result<void> collect_garbage(const std::string& root, const std::vector<std::string>& blobs,
                             const std::vector<std::string>& layers) {
    auto lock = TRY(StoreLock::exclusive(root));
    auto db = TRY(ImageStore::open(root));
    auto used_blobs = TRY(db.used_blobs());
    auto used_layers = TRY(db.used_layers());
    BlobStore store(root);
    for (const auto& b : blobs)
        if (!used_blobs.count(b)) TRY(store.remove(b));
    for (const auto& l : layers) {
        if (used_layers.count(l) || l.size() < 8) continue;
        std::error_code ec;
        std::string dir = path_join(path_join(root, "layers"), l.substr(7));
        std::filesystem::remove_all(dir, ec);
        if (ec) return Err("remove ", dir, ": ", ec.message());
    }
    return {};
}

Result<std::vector<LoadedImage>> load_archive(const std::string& file, const std::string& root,
                                              const ReferenceDefaults& defaults) {
    if (file == "-" && ::isatty(STDIN_FILENO))
        return Err("load: cannot read an archive from a terminal; use -i FILE or redirect stdin");
    BlobStore store(root);
    auto db = TRY(ImageStore::open(root));
    Staged st;
    std::set<std::string> added_layers;
    auto r = [&]() -> Result<std::vector<LoadedImage>> {
        auto lock = TRY(StoreLock::shared(root));
        return load(file, root, defaults, store, db, st, added_layers);
    }();
    // Blobs of ours no image uses (a failed load's, or archive extras) go again.
    auto gc = collect_garbage(
        root, {st.added.begin(), st.added.end()},
        r ? std::vector<std::string>{} : std::vector<std::string>{added_layers.begin(), added_layers.end()});
    if (!r) return r;
    if (!gc) return std::unexpected(gc.error());
    return r;
}

}  // namespace berth::manager
