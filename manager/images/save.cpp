#include "manager/images/save.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <set>

#include "libutil/fd.hpp"
#include "libutil/json.hpp"
#include "libutil/strings.hpp"
#include "manager/images/blob_store.hpp"
#include "manager/images/layer_stream.hpp"
#include "manager/images/reference.hpp"
#include "manager/containers/events.hpp"

namespace berth::manager {

namespace {

constexpr size_t kBuf = 256 * 1024;

// Where the archive's members go: a tar stream or a directory.
class Sink {
public:
    virtual ~Sink() = default;
    virtual Result<void> dir(const std::string& path) = 0;
    // A file of `size` bytes whose content `fill` writes through `write`.
    using Write = std::function<Result<void>(const char*, size_t)>;
    virtual Result<void> file(const std::string& path, uint64_t size,
                              const std::function<Result<void>(const Write&)>& fill) = 0;
    virtual Result<void> finish() = 0;

    Result<void> file(const std::string& path, std::string_view data) {
        return file(path, data.size(), [&](const Write& w) { return w(data.data(), data.size()); });
    }
    // A stored blob, byte for byte.
    Result<void> blob_copy(const std::string& path, const std::string& src) {
        UniqueFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
        if (!in) return ErrnoErr(src);
        struct stat st;
        if (::fstat(in.get(), &st) < 0) return ErrnoErr(src);
        return file(path, static_cast<uint64_t>(st.st_size), [&](const Write& w) -> Result<void> {
            std::unique_ptr<char[]> buf(new char[kBuf]);
            uint64_t left = static_cast<uint64_t>(st.st_size);
            while (left > 0) {
                ssize_t n = ::read(in.get(), buf.get(), kBuf);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) return ErrnoErr("read ", src);
                if (n == 0) return Err(src, ": shorter than it was");
                size_t k = std::min<uint64_t>(static_cast<uint64_t>(n), left);
                TRY(w(buf.get(), k));
                left -= k;
            }
            return {};
        });
    }
};

class TarSink : public Sink {
public:
    explicit TarSink(int fd) : a_(archive_write_new()) {
        archive_write_set_format_pax_restricted(a_.get());
        archive_write_set_bytes_per_block(a_.get(), 10240);
        ok_ = archive_write_open_fd(a_.get(), fd) == ARCHIVE_OK;
    }
    Result<void> dir(const std::string& path) override { return header(path + "/", AE_IFDIR | 0755, 0); }
    Result<void> file(const std::string& path, uint64_t size,
                      const std::function<Result<void>(const Write&)>& fill) override {
        TRY(header(path, AE_IFREG | 0644, size));
        uint64_t written = 0;
        TRY(fill([&](const char* p, size_t n) -> Result<void> {
            if (written + n > size) return Err(path, ": more data than its size");
            if (archive_write_data(a_.get(), p, n) != static_cast<la_ssize_t>(n)) return error();
            written += n;
            return {};
        }));
        if (written != size) return Err(path, ": ", written, " bytes instead of ", size);
        return {};
    }
    using Sink::file;
    Result<void> finish() override {
        if (archive_write_close(a_.get()) != ARCHIVE_OK) return error();
        return {};
    }

private:
    struct Free {
        void operator()(archive* a) const { archive_write_free(a); }
    };
    Result<void> header(const std::string& path, mode_t mode, uint64_t size) {
        if (!ok_) return error();
        std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
        archive_entry_set_pathname(e.get(), path.c_str());
        archive_entry_set_mode(e.get(), mode);
        archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
        archive_entry_set_mtime(e.get(), 0, 0);  // the same images give the same archive
        if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK) return error();
        return {};
    }
    std::unexpected<Error> error() {
        const char* m = archive_error_string(a_.get());
        return Err("write archive: ", m ? m : "failed");
    }
    std::unique_ptr<archive, Free> a_;
    bool ok_ = false;
};

class DirSink : public Sink {
public:
    explicit DirSink(std::string root) : root_(std::move(root)) {}
    Result<void> dir(const std::string& path) override { return mkdir_all(path_join(root_, path), 0755); }
    Result<void> file(const std::string& path, uint64_t,
                      const std::function<Result<void>(const Write&)>& fill) override {
        std::string p = path_join(root_, path);
        UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
        if (!fd) return ErrnoErr("create ", p);
        return fill([&](const char* d, size_t n) -> Result<void> {
            while (n > 0) {
                ssize_t k = ::write(fd.get(), d, n);
                if (k < 0 && errno == EINTR) continue;
                if (k < 0) return ErrnoErr("write ", p);
                d += k;
                n -= static_cast<size_t>(k);
            }
            return {};
        });
    }
    using Sink::file;
    Result<void> finish() override { return {}; }

private:
    std::string root_;
};

std::string str_field(const json::Value& v, std::string_view key) {
    const json::Value* f = v.find(key);
    return f && f->is_string() ? f->as_string() : "";
}

// The image's manifest, and its layer digests bottom first.
struct Parts {
    json::Value manifest;
    std::string manifest_text;
    std::vector<std::string> layers;
    std::vector<std::string> diff_ids;
};

Result<Parts> image_parts(const BlobStore& store, const ImageRecord& img) {
    Parts p;
    p.manifest_text = TRY(store.read(img.manifest_digest));
    p.manifest = TRY_CTX(json::parse(p.manifest_text), "manifest ", img.manifest_digest);
    if (const json::Value* ls = p.manifest.find("layers"); ls && ls->is_array())
        for (const auto& l : ls->items())
            p.layers.push_back(str_field(l, "digest"));
    auto cfg = TRY_CTX(json::parse(img.config), "config ", img.id);
    if (const json::Value* r = cfg.find("rootfs"))
        if (const json::Value* d = r->find("diff_ids"); d && d->is_array())
            for (const auto& x : d->items())
                p.diff_ids.push_back(x.is_string() ? x.as_string() : "");
    if (p.diff_ids.size() != p.layers.size())
        return Err("image ", img.id, ": ", p.diff_ids.size(), " diff_ids for ", p.layers.size(), " layers");
    for (size_t i = 0; i < p.layers.size(); ++i)
        if (!valid_digest(p.layers[i]) || !valid_digest(p.diff_ids[i]))
            return Err("image ", img.id, ": invalid layer digest \"", p.layers[i], "\"");
    return p;
}

// docker-archive layers are uncompressed tars named by diff id.
Result<void> write_layer_tar(Sink& sink, const BlobStore& store, const std::string& name, const std::string& digest) {
    std::string src = store.path(digest);
    if (!TRY(blob_is_compressed(src))) return sink.blob_copy(name, src);
    uint64_t size = TRY(layer_tar_size(src));
    return sink.file(name, size, [&](const Sink::Write& w) -> Result<void> {
        auto r = TRY(LayerReader::open(src));
        std::unique_ptr<char[]> buf(new char[kBuf]);
        size_t n;
        while ((n = TRY(r.read(buf.get(), kBuf))) > 0)
            TRY(w(buf.get(), n));
        return {};
    });
}

Result<void> save_docker(Sink& sink, const BlobStore& store, const std::vector<SaveItem>& items) {
    json::Value manifest = json::Value::array();
    std::set<std::string> written;
    for (const auto& it : items) {
        auto p = TRY(image_parts(store, it.image));
        std::string cfg = it.image.id.substr(7) + ".json";
        if (written.insert(cfg).second) TRY(sink.blob_copy(cfg, store.path(it.image.id)));
        json::Value layers = json::Value::array();
        for (size_t i = 0; i < p.layers.size(); ++i) {
            std::string name = p.diff_ids[i].substr(7) + ".tar";
            if (written.insert(name).second)
                TRY_CTX(write_layer_tar(sink, store, name, p.layers[i]), "layer ", p.layers[i]);
            layers.push(json::Value::string(name));
        }
        json::Value tags = json::Value::array();
        for (const auto& n : it.names)
            tags.push(json::Value::string(n));
        json::Value o = json::Value::object();
        o.set("Config", json::Value::string(cfg));
        o.set("RepoTags", std::move(tags));
        o.set("Layers", std::move(layers));
        manifest.push(std::move(o));
    }
    // manifest.json comes last: readers that stream find every blob before it.
    return sink.file("manifest.json", json::write(manifest));
}

Result<void> save_oci(Sink& sink, const BlobStore& store, const std::vector<SaveItem>& items) {
    TRY(sink.file("oci-layout", std::string_view(R"({"imageLayoutVersion":"1.0.0"})")));
    TRY(sink.dir("blobs"));
    TRY(sink.dir("blobs/sha256"));
    json::Value manifests = json::Value::array();
    std::set<std::string> written;
    for (const auto& it : items) {
        auto p = TRY(image_parts(store, it.image));
        std::vector<std::string> blobs = p.layers;
        blobs.push_back(it.image.id);
        blobs.push_back(it.image.manifest_digest);
        for (const auto& b : blobs)
            if (written.insert(b).second) TRY(sink.blob_copy("blobs/sha256/" + b.substr(7), store.path(b)));
        std::string media = str_field(p.manifest, "mediaType");
        json::Value d = json::Value::object();
        d.set("mediaType", json::Value::string(media.empty() ? "application/vnd.oci.image.manifest.v1+json" : media));
        d.set("digest", json::Value::string(it.image.manifest_digest));
        d.set("size", json::Value::number(static_cast<uint64_t>(p.manifest_text.size())));
        // One index entry per name (podman's ref.name is the full name).
        if (it.names.empty()) manifests.push(d);
        for (const auto& n : it.names) {
            json::Value e = d;
            json::Value ann = json::Value::object();
            ann.set("org.opencontainers.image.ref.name", json::Value::string(n));
            e.set("annotations", std::move(ann));
            manifests.push(std::move(e));
        }
    }
    json::Value index = json::Value::object();
    index.set("schemaVersion", json::Value::number(2));
    index.set("mediaType", json::Value::string("application/vnd.oci.image.index.v1+json"));
    index.set("manifests", std::move(manifests));
    return sink.file("index.json", json::write(index));
}

}  // namespace

Result<SaveFormat> parse_save_format(std::string_view name) {
    if (name == "docker-archive") return SaveFormat::DockerArchive;
    if (name == "oci-archive") return SaveFormat::OciArchive;
    if (name == "oci-dir") return SaveFormat::OciDir;
    return Err("unsupported --format \"", name, "\" (docker-archive, oci-archive or oci-dir)");
}

Result<void> save_images(const std::string& root, const std::vector<SaveItem>& items, SaveFormat format, int fd,
                         const std::string& dir) {
    BlobStore store(root);
    std::unique_ptr<Sink> sink;
    if (format == SaveFormat::OciDir) {
        TRY(mkdir_all(dir, 0755));
        sink = std::make_unique<DirSink>(dir);
    } else {
        sink = std::make_unique<TarSink>(fd);
    }
    if (format == SaveFormat::DockerArchive)
        TRY(save_docker(*sink, store, items));
    else
        TRY(save_oci(*sink, store, items));
    TRY(sink->finish());
    for (const auto& it : items)
        record_event(Event{"image", "save", it.image.id, {{"name", it.names.empty() ? it.image.id : it.names[0]}}});
    return {};
}

}  // namespace berth::manager
