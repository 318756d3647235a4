#include "manager/images/pull.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>
#include <vector>

#include "libutil/json.hpp"
#include "libutil/log.hpp"
#include "libutil/strings.hpp"
#include "manager/images/blob_store.hpp"
#include "manager/images/image_store.hpp"
#include "manager/images/load.hpp"
#include "manager/images/store_lock.hpp"
#include "manager/images/unpack.hpp"
#include "manager/registry/client.hpp"
#include "manager/containers/events.hpp"

namespace berth::manager {

using registry::Manifest;
using registry::RegistryClient;

namespace {

constexpr size_t kMaxConfig = 16 << 20;

bool is_index(const std::string& mt) {
    return mt == "application/vnd.oci.image.index.v1+json" ||
           mt == "application/vnd.docker.distribution.manifest.list.v2+json";
}
bool is_image_manifest(const std::string& mt) {
    return mt == "application/vnd.oci.image.manifest.v1+json" ||
           mt == "application/vnd.docker.distribution.manifest.v2+json";
}
// Layers are tarballs, uncompressed, gzip'ed or zstd'ed (libarchive tells
// which from the bytes); "nondistributable" ones are tarballs too.
bool is_layer(const std::string& mt) {
    return mt.starts_with("application/vnd.oci.image.layer.") ||
           mt.starts_with("application/vnd.docker.image.rootfs.diff.tar") ||
           mt.starts_with("application/vnd.docker.image.rootfs.foreign.diff.tar");
}

std::string str_field(const json::Value& v, std::string_view key) {
    const json::Value* f = v.find(key);
    return f && f->is_string() ? f->as_string() : "";
}

struct Descriptor {
    std::string media_type, digest;
    int64_t size = -1;
};

Result<Descriptor> descriptor(const json::Value& v, const std::string& what) {
    Descriptor d;
    d.media_type = str_field(v, "mediaType");
    d.digest = str_field(v, "digest");
    if (!valid_digest(d.digest)) return Err(what, ": invalid digest ", quote(d.digest));
    const json::Value* s = v.find("size");
    auto size = s && s->is_number() ? s->as_int64() : std::nullopt;
    if (!size || *size < 0) return Err(what, " ", d.digest, ": invalid size");
    d.size = *size;
    return d;
}

std::string normalize_arch(std::string a) {
    if (a == "x86_64" || a == "x86-64") return "amd64";
    if (a == "aarch64") return "arm64";
    return a;
}
std::string normalize_variant(const std::string& arch, std::string v) {
    if ((arch == "arm64" && v == "v8") || (arch == "amd64" && v == "v1")) return "";
    if (arch == "arm" && v.empty()) return "v7";
    return v;
}

// The image manifest for `want` in an index.
Result<Descriptor> select_platform(const Manifest& index, const Platform& want) {
    auto doc = TRY_CTX(json::parse(index.body), "manifest list ", index.digest);
    const json::Value* ms = doc.find("manifests");
    if (!ms || !ms->is_array()) return Err("manifest list ", index.digest, ": no manifests");
    std::optional<Descriptor> best;
    int best_score = 0;
    std::vector<std::string> offered;
    for (const auto& m : ms->items()) {
        const json::Value* p = m.find("platform");
        if (!p) continue;
        Platform have{str_field(*p, "os"), normalize_arch(str_field(*p, "architecture")), str_field(*p, "variant")};
        have.variant = normalize_variant(have.arch, have.variant);
        offered.push_back(have.str());
        auto score = platform_score(want, have);
        if (!score || (best && *score >= best_score)) continue;
        best = TRY(descriptor(m, "manifest list " + index.digest));
        best_score = *score;
    }
    if (!best)
        return Err("no image for platform ", want.str(), " in the manifest list (it has: ", join(offered, ", "), ")");
    return *best;
}

Result<void> write_all(int fd, const char* p, size_t len) {
    while (len > 0) {
        ssize_t n = ::write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return ErrnoErr("unpack");
        }
        p += n;
        len -= static_cast<size_t>(n);
    }
    return {};
}

struct LayerJob {
    Descriptor desc;
    std::string diff_id, chain_id;
    bool need_blob = false, need_layer = false;
    size_t line = 0;
    // Results, read after the workers are joined.
    bool blob_added = false, layer_added = false;
    uint64_t unpacked_size = 0;
};

struct PullContext {
    RegistryClient& client;
    BlobStore& store;
    std::string layers_dir;
    PullProgress& progress;
    std::atomic<bool> cancel{false};
};

Result<void> check_diff_id(const LayerJob& job, const DiffId& got) {
    if (got.digest != job.diff_id)
        return Err("layer ", job.desc.digest, ": diff id mismatch: expected ", job.diff_id, ", got ", got.digest);
    return {};
}

// Downloads a layer into the blob store and, when its dir is missing, into
// a pending layer at the same time (the bytes go through a pipe to the
// unpacking thread). Nothing is kept unless everything matches.
Result<void> fetch_layer(PullContext& ctx, LayerJob& job) {
    const std::string& digest = job.desc.digest;
    auto w = TRY(ctx.store.writer());
    UniqueFd rd, wr;
    std::optional<Result<PendingLayer>> unpacked;
    std::thread unpacker;
    if (job.need_layer) {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) < 0) return ErrnoErr("pipe");
        rd.reset(p[0]);
        wr.reset(p[1]);
        ::fcntl(wr.get(), F_SETPIPE_SZ, 1 << 20);
        unpacker = std::thread([&] {
            unpacked.emplace(PendingLayer::extract(rd.get(), ctx.layers_dir, "layer " + digest));
            rd.reset();  // a writer still writing gets EPIPE
        });
    }
    uint64_t got = 0;
    auto sink = [&](const char* data, size_t len) -> Result<void> {
        if (ctx.cancel.load(std::memory_order_relaxed)) return Err("cancelled");
        got += len;
        if (got > static_cast<uint64_t>(job.desc.size))
            return Err("blob ", digest, ": size mismatch: more than the expected ", job.desc.size, " bytes");
        TRY(w.write(data, len));
        if (wr) TRY(write_all(wr.get(), data, len));
        ctx.progress.bytes(job.line, len);
        return {};
    };
    auto dl = ctx.client.get_blob(digest, sink);
    wr.reset();  // end of stream for the unpacker
    if (unpacker.joinable()) unpacker.join();
    // When the unpacker stopped first, its error is the one that explains.
    if (!dl && unpacked && !*unpacked && dl.error().code == EPIPE) return std::unexpected(unpacked->error());
    if (!dl) return std::unexpected(dl.error());
    TRY_CTX(w.commit(digest, job.desc.size), "blob ", digest);
    job.blob_added = true;
    if (!job.need_layer) return {};
    if (!*unpacked) return std::unexpected(unpacked->error());
    TRY(check_diff_id(job, (*unpacked)->diff_id()));
    TRY_CTX((*unpacked)->commit(job.chain_id), "layer ", digest);
    job.layer_added = true;
    job.unpacked_size = (*unpacked)->diff_id().size;
    return {};
}

// The blob is here but its layer dir is not (removed, or another image's blob).
Result<void> unpack_stored(PullContext& ctx, LayerJob& job) {
    auto d = TRY_CTX(unpack_checked(ctx.store.path(job.desc.digest), ctx.layers_dir, job.chain_id, job.diff_id),
                     "layer ", job.desc.digest);
    job.layer_added = true;
    job.unpacked_size = d.size;
    return {};
}

Result<void> run_job(PullContext& ctx, LayerJob& job) {
    if (job.need_blob) return fetch_layer(ctx, job);
    if (job.need_layer) return unpack_stored(ctx, job);
    return {};
}

// Runs the jobs, `parallel` at a time; the first error stops the others.
Result<void> run_jobs(PullContext& ctx, std::vector<LayerJob>& jobs, unsigned parallel) {
    std::atomic<size_t> next{0};
    std::mutex mu;
    std::optional<Error> first;
    auto worker = [&] {
        for (size_t i; (i = next.fetch_add(1)) < jobs.size();) {
            if (ctx.cancel.load()) return;
            LayerJob& job = jobs[i];
            auto r = run_job(ctx, job);
            ctx.progress.finish(job.line,
                                r ? (job.need_blob || job.need_layer ? "done" : "skipped: already exists") : "failed");
            if (!r) {
                std::lock_guard lk(mu);
                if (!first) first = r.error();
                ctx.cancel.store(true);
                return;
            }
        }
    };
    std::vector<std::thread> threads;
    unsigned n = std::max(1u, std::min<unsigned>(parallel, static_cast<unsigned>(jobs.size())));
    for (unsigned i = 1; i < n; ++i)
        threads.emplace_back(worker);
    worker();
    for (auto& t : threads)
        t.join();
    if (first) return std::unexpected(*first);
    return {};
}

Result<Manifest> fetch_manifest(RegistryClient& client, const std::string& ref, const std::string& expected_digest) {
    auto m = TRY(client.get_manifest(ref));
    if (!expected_digest.empty() && m.digest != expected_digest)
        return Err("manifest ", expected_digest, ": digest mismatch: got ", m.digest);
    return m;
}

Result<PulledImage> pull(const Reference& ref, const std::string& root, const registry::RegistriesConfig& conf,
                         const PullOptions& opts, PullProgress& progress, StoreContent& added) {
    const registry::RegistryEntry* entry = conf.find(ref.repository());
    bool tls_verify = opts.tls_verify.value_or(!(entry && entry->insecure));
    auto creds = opts.creds;
    if (!creds) {
        std::string file = opts.authfile.empty() ? registry::default_auth_file() : opts.authfile;
        creds = TRY(registry::lookup_auth(file, ref.domain));
    }
    auto http = std::make_shared<registry::HttpClient>(tls_verify);
    RegistryClient client(http, ref.domain, ref.path, creds);
    TRY(client.ping());

    Manifest m = TRY(fetch_manifest(client, ref.digest.empty() ? ref.tag : ref.digest, ref.digest));
    if (is_index(m.media_type)) {
        Platform want = opts.platform.value_or(host_platform());
        auto d = TRY(select_platform(m, want));
        log::debug(cat("pull: ", want.str(), " is ", d.digest));
        m = TRY(fetch_manifest(client, d.digest, d.digest));
    }
    if (!is_image_manifest(m.media_type)) return Err("manifest ", m.digest, ": unsupported type ", quote(m.media_type));
    auto doc = TRY_CTX(json::parse(m.body), "manifest ", m.digest);
    const json::Value* cfgv = doc.find("config");
    const json::Value* layersv = doc.find("layers");
    if (!cfgv || !layersv || !layersv->is_array()) return Err("manifest ", m.digest, ": no config or layers");
    auto cfgd = TRY(descriptor(*cfgv, "config"));
    if (cfgd.size > static_cast<int64_t>(kMaxConfig)) return Err("config ", cfgd.digest, ": too large");

    // From the first blob found or stored until the image is recorded, no
    // collector (rmi, prune, a failed pull's cleanup) may remove what this
    // pull relies on (store_lock.hpp). Other adders are not held up; an rmi
    // waits for the pull, as it waits for a load.
    auto held = TRY(StoreLock::shared(root));
    BlobStore store(root);
    std::string config;
    if (store.has(cfgd.digest)) {
        config = TRY(store.read(cfgd.digest));
    } else {
        size_t line = progress.add("config", cfgd.digest, static_cast<uint64_t>(cfgd.size));
        config = TRY(client.get_small_blob(cfgd.digest, kMaxConfig));
        if (config.size() != static_cast<uint64_t>(cfgd.size))
            return Err("blob ", cfgd.digest, ": size mismatch: expected ", cfgd.size, " bytes, got ", config.size());
        TRY_CTX(store.put(config, cfgd.digest), "blob ", cfgd.digest);
        added.blobs.insert(cfgd.digest);
        progress.finish(line, "done");
    }
    auto cfg = TRY_CTX(json::parse(config), "config ", cfgd.digest);
    std::vector<std::string> diff_ids;
    if (const json::Value* rootfs = cfg.find("rootfs"))
        if (const json::Value* d = rootfs->find("diff_ids"); d && d->is_array())
            for (const auto& x : d->items())
                diff_ids.push_back(x.is_string() ? x.as_string() : "");
    if (diff_ids.size() != layersv->items().size())
        return Err("config ", cfgd.digest, ": ", diff_ids.size(), " diff_ids for ", layersv->items().size(), " layers");
    auto chains = chain_ids(diff_ids);

    std::string layers_dir = path_join(root, "layers");
    std::vector<LayerJob> jobs;
    for (size_t i = 0; i < diff_ids.size(); ++i) {
        LayerJob job;
        job.desc = TRY(descriptor(layersv->items()[i], "layer"));
        if (!is_layer(job.desc.media_type))
            return Err("layer ", job.desc.digest, ": unsupported media type ", quote(job.desc.media_type));
        if (!valid_digest(diff_ids[i])) return Err("config ", cfgd.digest, ": invalid diff id ", quote(diff_ids[i]));
        job.diff_id = diff_ids[i];
        job.chain_id = chains[i];
        struct stat st;
        job.need_blob = !store.has(job.desc.digest);
        job.need_layer = ::stat(path_join(layers_dir, chains[i].substr(7)).c_str(), &st) < 0;
        job.line = progress.add("blob", job.desc.digest, static_cast<uint64_t>(job.desc.size));
        jobs.push_back(std::move(job));
    }
    PullContext ctx{client, store, layers_dir, progress};
    progress.start();
    auto r = run_jobs(ctx, jobs, opts.parallel);
    for (const auto& j : jobs) {
        if (j.blob_added) added.blobs.insert(j.desc.digest);
        if (j.layer_added) added.layers.insert(j.chain_id);
    }
    if (!r) return std::unexpected(r.error());

    ImageRecord rec;
    rec.id = cfgd.digest;
    rec.manifest_digest = m.digest;
    rec.config = config;
    rec.created = str_field(cfg, "created");
    rec.layers = chains;
    auto db = TRY(ImageStore::open(root));
    auto existing = TRY(db.get(rec.id));
    for (const auto& j : jobs) {
        rec.blobs.push_back(j.desc.digest);
        if (j.layer_added)
            rec.size += static_cast<int64_t>(j.unpacked_size);
        else if (!existing)  // a layer another image brought: its size is measured once here
            rec.size += static_cast<int64_t>(TRY(layer_diff_id(store.path(j.desc.digest))).size);
    }
    if (existing) rec.size = existing->size;
    rec.blobs.push_back(cfgd.digest);
    rec.blobs.push_back(m.digest);
    if (!store.has(m.digest)) {
        TRY(store.put(m.body, m.digest));
        added.blobs.insert(m.digest);
    }
    PulledImage out{rec.id, ref.tag.empty() ? "" : ref.domain + "/" + ref.path + ":" + ref.tag};
    progress.message("Writing manifest to image destination");
    std::vector<std::string> names;
    if (!out.name.empty()) names.push_back(out.name);
    TRY(db.add(rec, names));
    record_event(Event{"image", "pull", ref.str(), {{"name", ref.str()}}});
    return out;
}

void remove_stale(const std::string& dir, bool only_tmp_prefix) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        if (only_tmp_prefix && !name.starts_with(".tmp-")) continue;
        std::string p = path_join(dir, name);
        UniqueFd fd(::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        // Locked: a running pull or load is filling it.
        if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) continue;
        log::debug(cat("pull: removing ", p, ", left by an interrupted pull"));
        std::error_code ec;
        std::filesystem::remove_all(p, ec);
    }
    ::closedir(d);
}

}  // namespace

Result<Platform> parse_platform(std::string_view s) {
    auto parts = split(s, '/');
    if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty() ||
        (parts.size() == 3 && parts[2].empty()))
        return Err("--platform ", quote(s), ": expected OS/ARCH[/VARIANT]");
    Platform p{parts[0], normalize_arch(parts[1]), parts.size() == 3 ? parts[2] : ""};
    p.variant = normalize_variant(p.arch, p.variant);
    return p;
}

Platform host_platform() {
#if defined(__x86_64__)
    return {"linux", "amd64", ""};
#elif defined(__aarch64__)
    return {"linux", "arm64", ""};
#elif defined(__arm__)
    return {"linux", "arm", "v7"};
#elif defined(__i386__)
    return {"linux", "386", ""};
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return {"linux", "ppc64le", ""};
#elif defined(__s390x__)
    return {"linux", "s390x", ""};
#elif defined(__riscv) && __riscv_xlen == 64
    return {"linux", "riscv64", ""};
#else
#error "host_platform: unknown architecture"
#endif
}

std::optional<int> platform_score(const Platform& want, const Platform& have) {
    if (want.os != have.os || want.arch != have.arch) return std::nullopt;
    if (want.variant == have.variant) return 0;
    if (want.variant.empty()) return 1;
    // arm v7 runs v6 and v5 images (containerd's order: the nearest first).
    if (want.arch == "arm" && want.variant.size() == 2 && have.variant.size() == 2 && want.variant[0] == 'v' &&
        have.variant[0] == 'v' && have.variant[1] < want.variant[1] && have.variant[1] >= '5')
        return 1 + (want.variant[1] - have.variant[1]);
    return std::nullopt;
}

void remove_stale_temp_files(const std::string& root) {
    remove_stale(path_join(root, "blobs/ingest"), false);
    remove_stale(path_join(root, "layers"), true);
}

Result<PulledImage> pull_image(const Reference& ref, const std::string& root, const registry::RegistriesConfig& conf,
                               const PullOptions& opts, PullProgress& progress) {
    remove_stale_temp_files(root);
    StoreContent added;
    auto r = pull(ref, root, conf, opts, progress, added);
    progress.stop();
    if (r) return r;
    // What this pull stored and no image uses goes again.
    auto gc = added.collect(root);
    if (!gc) log::warn(cat("pull: cleaning up: ", gc.error().what()));
    return r;
}

}  // namespace berth::manager
