#include "manager/images/import.hpp"

#include <sys/utsname.h>

#include <ctime>
#include <memory>
#include <set>

#include "libutil/strings.hpp"
#include "manager/images/blob_store.hpp"
#include "manager/images/image_store.hpp"
#include "manager/images/layer_stream.hpp"
#include "manager/images/load.hpp"
#include "manager/images/store_lock.hpp"
#include "manager/images/unpack.hpp"
#include "manager/containers/events.hpp"

namespace berth::manager {

namespace {

json::Value* member(json::Value& obj, std::string_view key) {
    for (auto& [k, v] : obj.members())
        if (k == key) return &v;
    return nullptr;
}

// The object under `key`, made when missing.
json::Value& object_member(json::Value& obj, const std::string& key) {
    json::Value* v = member(obj, key);
    if (!v || !v->is_object()) v = &obj.set(key, json::Value::object());
    return *v;
}

// CMD/ENTRYPOINT: ["a","b"] as it is, anything else through the shell.
Result<json::Value> command(std::string_view value) {
    if (trim(value).starts_with("[")) {
        auto v = TRY(json::parse(value));
        if (!v.is_array()) return Err("not a JSON array");
        for (const auto& x : v.items())
            if (!x.is_string()) return Err("not a JSON array of strings");
        return v;
    }
    json::Value out = json::Value::array();
    for (const char* s : {"/bin/sh", "-c"})
        out.push(json::Value::string(s));
    out.push(json::Value::string(std::string(value)));
    return out;
}

// "K=V" or "K V" -> {K, V}; a missing value is an error.
Result<std::pair<std::string, std::string>> key_value(std::string_view s) {
    auto eq = s.find_first_of("= ");
    if (eq == std::string_view::npos || eq == 0) return Err("expected KEY=VALUE");
    std::string v(s.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return std::pair<std::string, std::string>{std::string(s.substr(0, eq)), v};
}

Result<void> apply(json::Value& config, const std::string& key, std::string_view value) {
    if (key == "CMD" || key == "ENTRYPOINT") {
        config.set(key == "CMD" ? "Cmd" : "Entrypoint", TRY(command(value)));
    } else if (key == "USER" || key == "WORKDIR") {
        if (value.empty()) return Err("empty value");
        config.set(key == "USER" ? "User" : "WorkingDir", json::Value::string(std::string(value)));
    } else if (key == "ENV") {
        auto [k, v] = TRY(key_value(value));
        json::Value* env = member(config, "Env");
        if (!env || !env->is_array()) env = &config.set("Env", json::Value::array());
        std::string entry = k + "=" + v;
        for (auto& e : env->items())
            if (e.is_string() && e.as_string().starts_with(k + "=")) {
                e = json::Value::string(entry);
                return {};
            }
        env->push(json::Value::string(entry));
    } else if (key == "LABEL") {
        auto [k, v] = TRY(key_value(value));
        object_member(config, "Labels").set(k, json::Value::string(v));
    } else if (key == "EXPOSE") {
        for (const auto& p : split(value, ' ')) {
            if (p.empty()) continue;
            auto slash = p.find('/');
            std::string port = p.substr(0, slash), proto = slash == std::string::npos ? "tcp" : p.substr(slash + 1);
            auto n = parse_u64(port);
            if (!n || *n == 0 || *n > 65535 || (proto != "tcp" && proto != "udp" && proto != "sctp"))
                return Err("invalid port \"", p, "\"");
            object_member(config, "ExposedPorts").set(port + "/" + proto, json::Value::object());
        }
    } else if (key == "VOLUME") {
        if (!value.starts_with("/")) return Err("not an absolute path");
        object_member(config, "Volumes").set(std::string(value), json::Value::object());
    } else {
        return Err("unknown instruction ", key, " (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR)");
    }
    return {};
}

// The layer blob: the tarball, decompressed while it is hashed.
Result<DiffId> store_layer(const std::string& file, BlobStore& store, StoreContent& added) {
    auto in = TRY(LayerReader::open(file));
    auto w = TRY(store.writer());
    std::unique_ptr<char[]> buf(new char[256 * 1024]);
    size_t n;
    while ((n = TRY(in.read(buf.get(), 256 * 1024))) > 0)
        TRY(w.write(buf.get(), n));
    if (w.size() == 0) return Err(file == "-" ? "stdin" : file, ": empty input");
    DiffId d;
    d.size = w.size();
    d.digest = TRY(w.commit("", -1));
    added.blobs.insert(d.digest);
    return d;
}

json::Value make_config(const ImportOptions& opts, const DiffId& layer) {
    std::string created = opts.created.empty() ? now_rfc3339() : opts.created;
    json::Value cfg = json::Value::object();
    cfg.set("created", json::Value::string(created));
    cfg.set("architecture", json::Value::string(host_arch()));
    cfg.set("os", json::Value::string("linux"));
    cfg.set("config", json::Value::object());
    json::Value rootfs = json::Value::object();
    rootfs.set("type", json::Value::string("layers"));
    json::Value ids = json::Value::array();
    ids.push(json::Value::string(layer.digest));
    rootfs.set("diff_ids", std::move(ids));
    cfg.set("rootfs", std::move(rootfs));
    json::Value h = json::Value::object();
    h.set("created", json::Value::string(created));
    h.set("created_by", json::Value::string(cat("/bin/sh -c #(nop) ADD file:", layer.digest.substr(7), " in / ")));
    if (!opts.message.empty()) h.set("comment", json::Value::string(opts.message));
    json::Value history = json::Value::array();
    history.push(std::move(h));
    cfg.set("history", std::move(history));
    return cfg;
}

Result<std::string> import(const std::string& file, const std::string& root, const ImportOptions& opts, StoreContent& added) {
    // Changes are checked before anything is read or stored.
    json::Value changes = json::Value::object();
    for (const auto& c : opts.changes)
        TRY(apply_change(changes, c));
    auto lock = TRY(StoreLock::shared(root));
    BlobStore store(root);
    auto db = TRY(ImageStore::open(root));
    DiffId layer = TRY(store_layer(file, store, added));
    std::string layers_dir = path_join(root, "layers");
    struct stat st;
    bool had_layer = ::stat(path_join(layers_dir, layer.digest.substr(7)).c_str(), &st) == 0;
    TRY_CTX(unpack_layer(store.path(layer.digest), layers_dir, layer.digest), file == "-" ? "stdin" : file);
    if (!had_layer) added.layers.insert(layer.digest);

    json::Value cfg = make_config(opts, layer);
    cfg.set("config", std::move(changes));
    std::string cfg_text = json::write(cfg);
    std::string cfg_digest = TRY(store.put(cfg_text));
    added.blobs.insert(cfg_digest);
    json::Value layers = json::Value::array();
    layers.push(descriptor("application/vnd.oci.image.layer.v1.tar", layer.digest, layer.size));
    std::string m_digest =
        TRY(store_manifest(store, "application/vnd.oci.image.manifest.v1+json",
                           descriptor("application/vnd.oci.image.config.v1+json", cfg_digest, cfg_text.size()), layers));
    added.blobs.insert(m_digest);

    ImageRecord r;
    r.id = cfg_digest;
    r.manifest_digest = m_digest;
    r.created = cfg.find("created")->as_string();
    r.size = static_cast<int64_t>(layer.size);
    r.config = cfg_text;
    r.layers = {layer.digest};  // one layer: its chain id is its diff id
    r.blobs = {layer.digest, cfg_digest, m_digest};
    TRY(db.add(r, opts.names));
    record_event(Event{"image", "import", r.id, {{"name", opts.names.empty() ? r.id : opts.names[0]}}});
    return r.id;
}

}  // namespace

Result<void> apply_change(json::Value& config, std::string_view change) {
    std::string_view c = trim(change);
    auto sep = c.find_first_of("= ");
    if (sep == std::string_view::npos || sep == 0) return Err("--change \"", change, "\": expected INSTRUCTION=VALUE");
    std::string key = to_upper(c.substr(0, sep));
    std::string_view value = trim(c.substr(sep + 1));
    TRY_CTX(apply(config, key, value), "--change \"", change, "\"");
    return {};
}

std::string now_rfc3339() {
    std::time_t t = std::time(nullptr);
    struct tm tm {};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

json::Value descriptor(const std::string& media, const std::string& digest, uint64_t size) {
    json::Value d = json::Value::object();
    d.set("mediaType", json::Value::string(media));
    d.set("digest", json::Value::string(digest));
    d.set("size", json::Value::number(size));
    return d;
}

Result<std::string> store_manifest(BlobStore& store, const std::string& media_type, json::Value config,
                                   json::Value layers) {
    json::Value m = json::Value::object();
    m.set("schemaVersion", json::Value::number(2));
    m.set("mediaType", json::Value::string(media_type));
    m.set("config", std::move(config));
    m.set("layers", std::move(layers));
    return store.put(json::write(m));
}

std::string host_arch() {
    struct utsname u {};
    ::uname(&u);
    std::string_view m = u.machine;
    if (m == "x86_64") return "amd64";
    if (m == "aarch64") return "arm64";
    if (m.starts_with("armv")) return "arm";
    if (m == "i686" || m == "i386") return "386";
    if (m == "ppc64le") return "ppc64le";
    return std::string(m);  // s390x, riscv64, mips64 are the same in both
}

Result<std::string> import_rootfs(const std::string& file, const std::string& root, const ImportOptions& opts) {
    StoreContent added;
    auto r = import(file, root, opts, added);
    if (r) return r;
    // Not recorded: what this import stored goes again, unless another image uses it.
    (void)added.collect(root);
    return r;
}

}  // namespace berth::manager
