// /images: list, inspect, pull (POST /images/create, with docker's JSON
// progress lines), delete and tag, on the same store as `berth images`.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mutex>

#include "libutil/strings.hpp"
#include "manager/containers/inspect.hpp"
#include "manager/images/history.hpp"
#include "manager/images/load.hpp"
#include "manager/images/pull.hpp"
#include "manager/images/pull_progress.hpp"
#include "manager/images/push.hpp"
#include "manager/images/save.hpp"
#include "manager/images/store_lock.hpp"
#include "manager/serve/call.hpp"
#include "manager/serve/pipe_child.hpp"

namespace berth::manager::serve {

namespace {

json::Value string_array(const std::vector<std::string>& v) {
    auto a = json::Value::array();
    for (const auto& s : v) a.push(str(s));
    return a;
}

// "domain/path@sha256:..." for each name of the image.
std::vector<std::string> repo_digests(const ImageRecord& img) {
    std::vector<std::string> out;
    if (img.manifest_digest.empty()) return out;
    for (const auto& n : img.names) {
        size_t colon = n.rfind(':');
        std::string repo = colon != std::string::npos && n.find('/', colon) == std::string::npos ? n.substr(0, colon) : n;
        out.push_back(repo + "@" + img.manifest_digest);
    }
    return out;
}

std::expected<ImageRecord, HttpError> find(Call& c, const std::string& name) {
    Engine* e = TRY(c.engine());
    auto img = find_image_record(e->db(), c.g, name);
    // The docker CLI names short ones as docker.io's ("docker.io/library/x").
    if (!img && !name.starts_with("docker.io/") && !looks_like_image_id(name)) {
        std::string first = name.substr(0, name.find('/'));
        bool has_domain = name.find('/') != std::string::npos &&
                          (first.find_first_of(".:") != std::string::npos || first == "localhost");
        if (!has_domain)
            img = find_image_record(e->db(), c.g,
                                    "docker.io/" + std::string(name.find('/') == std::string::npos ? "library/" : "") + name);
    }
    if (!img) return std::unexpected(http_error(404, cat("No such image: ", name)));
    return std::move(*img);
}

// docker's progress line for a pull event.
json::Value progress_line(const PullProgress::Event& ev) {
    auto v = json::Value::object();
    if (ev.digest.empty()) {
        v.set("status", str(ev.text));
        return v;
    }
    std::string id = ev.digest.substr(ev.digest.find(':') + 1, 12);
    std::string how = ev.text;
    v.set("status", str(!ev.finished                            ? "Pulling fs layer"
                        : how.starts_with("skipped")            ? "Already exists"
                        : how == "failed"                       ? "Download failed"
                                                                : "Pull complete"));
    v.set("progressDetail", json::Value::object());
    v.set("id", str(id));
    return v;
}

// docker's streamed JSON lines (pull, push): the head goes out with the
// first line, so an error before it (no such image, no registry) is an
// error status the client prints as it is.
class JsonLines {
public:
    explicit JsonLines(Call& c) : c_(c), w_(c.conn) {}
    void line(const json::Value& v) {
        if (broken_) return;
        if (!c_.responded && !send_stream_head(c_, {{"Content-Type", "application/json"}})) broken_ = true;
        if (!broken_ && !w_.write(json::write(v) + "\r\n")) broken_ = true;
    }
    void finish() {
        if (broken_ || !w_.finish()) c_.close = true;
    }

private:
    Call& c_;
    ChunkedWriter w_;
    bool broken_ = false;
};

}  // namespace

ApiResult images_list(Call& c) {
    Engine* e = TRY(c.engine());
    auto images = e->db().list();
    if (!images) return std::unexpected(api_error(images.error()));
    auto out = json::Value::array();
    for (const auto& img : *images) {
        auto v = json::Value::object();
        v.set("Id", str(img.id));
        v.set("ParentId", str(""));
        v.set("RepoTags", string_array(img.names));
        v.set("RepoDigests", string_array(repo_digests(img)));
        v.set("Created", json::Value::number(static_cast<int64_t>(parse_time(img.created))));
        v.set("Size", json::Value::number(img.size));
        v.set("VirtualSize", json::Value::number(img.size));
        v.set("SharedSize", json::Value::number(-1));
        auto labels = json::Value::object();
        if (auto cfg = json::parse(img.config))
            if (auto* l = cfg->find("config") ? cfg->find("config")->find("Labels") : nullptr; l && l->is_object())
                labels = *l;
        v.set("Labels", std::move(labels));
        v.set("Containers", json::Value::number(-1));
        out.push(std::move(v));
    }
    return send_json(c, 200, out);
}

ApiResult image_inspect(Call& c) {
    auto img = TRY(find(c, c.args.at(0)));
    auto cfg = json::parse(img.config);
    if (!cfg) return std::unexpected(http_error(500, cat("config of ", img.id, ": ", cfg.error().what())));
    auto v = json::Value::object();
    v.set("Id", str(img.id));
    v.set("RepoTags", string_array(img.names));
    v.set("RepoDigests", string_array(repo_digests(img)));
    v.set("Parent", str(""));
    v.set("Comment", str(""));
    v.set("Created", str(img.created));
    v.set("DockerVersion", str(""));
    v.set("Author", str(""));
    if (auto* conf = cfg->find("config")) v.set("Config", *conf);
    for (auto [from, to] : {std::pair{"architecture", "Architecture"}, std::pair{"os", "Os"}, std::pair{"variant", "Variant"}})
        if (auto* x = cfg->find(from)) v.set(to, *x);
    v.set("Size", json::Value::number(img.size));
    v.set("VirtualSize", json::Value::number(img.size));
    auto rootfs = json::Value::object();
    rootfs.set("Type", str("layers"));
    if (auto* r = cfg->find("rootfs"))
        if (auto* ids = r->find("diff_ids")) rootfs.set("Layers", *ids);
    v.set("RootFS", std::move(rootfs));
    auto meta = json::Value::object();
    meta.set("LastTagTime", str("0001-01-01T00:00:00Z"));
    v.set("Metadata", std::move(meta));
    return send_json(c, 200, v);
}

// docker's history: newest first, Created in unix seconds, Id "<missing>"
// below the image itself.
ApiResult image_history(Call& c) {
    auto img = TRY(find(c, c.args.at(0)));
    std::vector<uint64_t> sizes;
    {
        auto lock = StoreLock::shared(c.g.root);  // the blobs read must stay
        if (!lock) return std::unexpected(api_error(lock.error()));
        auto s = layer_sizes(c.g.root, img);
        if (!s) return std::unexpected(api_error(s.error()));
        sizes = std::move(*s);
    }
    auto rows = image_history(img, sizes);
    if (!rows) return std::unexpected(api_error(rows.error()));
    auto out = json::Value::array();
    for (const auto& r : *rows) {
        auto v = json::Value::object();
        v.set("Id", str(r.id == "<missing>" ? r.id : "sha256:" + r.id));
        v.set("Created", json::Value::number(static_cast<int64_t>(parse_time(r.created))));
        v.set("CreatedBy", str(r.created_by));
        v.set("Tags", r.tags.empty() ? json::Value::null() : string_array(r.tags));
        v.set("Size", json::Value::number(r.size));
        v.set("Comment", str(r.comment));
        out.push(std::move(v));
    }
    return send_json(c, 200, out);
}

// filters: dangling (true: images without a name, the default; false:
// every image no container uses).
ApiResult images_prune(Call& c) {
    auto filters = TRY(query_filters(c, {"dangling"}));
    bool all = false;
    for (const auto& d : filters["dangling"]) all = d == "false" || d == "0";
    auto pruned = prune_images(c.g, all);
    if (!pruned) return std::unexpected(api_error(pruned.error()));
    if (pruned->error) return std::unexpected(api_error(*pruned->error));
    auto deleted = json::Value::array();
    int64_t reclaimed = 0;
    for (const auto& img : pruned->removed) {
        for (const auto& n : img.names) {
            auto o = json::Value::object();
            o.set("Untagged", str(n));
            deleted.push(std::move(o));
        }
        auto o = json::Value::object();
        o.set("Deleted", str(img.id));
        deleted.push(std::move(o));
        reclaimed += img.size;
    }
    auto v = json::Value::object();
    v.set("ImagesDeleted", std::move(deleted));
    v.set("SpaceReclaimed", json::Value::number(reclaimed));
    return send_json(c, 200, v);
}

ApiResult image_create(Call& c) {
    if (c.req.has_param("fromSrc"))
        return std::unexpected(http_error(501, "importing a rootfs tarball (fromSrc) is not supported: use `berth import`"));
    std::string from = c.req.param("fromImage");
    if (from.empty()) return std::unexpected(http_error(400, "fromImage is needed"));
    std::string tag = c.req.param("tag");
    std::string text = from;
    if (!tag.empty()) text += (tag.starts_with("sha256:") ? "@" : ":") + tag;
    auto ref = parse_reference(text, c.g.refs);
    if (!ref) return std::unexpected(http_error(400, ref.error().what()));
    Engine* e = TRY(c.engine());
    (void)e;
    std::mutex mu;
    JsonLines out(c);
    auto line = [&](const json::Value& v) { out.line(v); };
    PullProgress progress(PullProgress::Mode::Quiet);
    progress.set_observer([&](const PullProgress::Event& ev) {
        std::lock_guard lk(mu);
        line(progress_line(ev));
    });
    {
        auto v = json::Value::object();
        v.set("status", str(cat("Pulling from ", ref->path)));
        v.set("id", str(ref->tag.empty() ? ref->digest : ref->tag));
        std::lock_guard lk(mu);
        line(v);
    }
    PullOptions po;
    // docker's default: registries on loopback are insecure (plain HTTP).
    const std::string& d = ref->domain;
    std::string host = d.starts_with("[") ? d.substr(0, d.find(']') + 1) : d.substr(0, d.rfind(':'));
    if (host == "localhost" || host.starts_with("127.") || host == "[::1]") po.tls_verify = false;
    auto pulled = pull_image(*ref, c.g.root, c.g.registries, po, progress);
    std::lock_guard lk(mu);
    if (!pulled) {
        auto v = json::Value::object();
        std::string msg = pulled.error().what();
        auto detail = json::Value::object();
        detail.set("message", str(msg));
        v.set("errorDetail", std::move(detail));
        v.set("error", str(msg));
        line(v);
    } else {
        auto img = e->db().get(pulled->id);
        if (img && *img && !(*img)->manifest_digest.empty()) {
            auto v = json::Value::object();
            v.set("status", str("Digest: " + (*img)->manifest_digest));
            line(v);
        }
        auto v = json::Value::object();
        v.set("status", str(cat("Status: Downloaded newer image for ", ref->str())));
        line(v);
    }
    out.finish();
    return {};
}

ApiResult image_delete(Call& c) {
    const std::string& arg = c.args.at(0);
    auto img = TRY(find(c, arg));
    Engine* e = TRY(c.engine());
    ImageStore& db = e->db();
    bool force = c.req.flag("force");
    auto out = json::Value::array();
    auto entry = [&](const char* key, const std::string& v) {
        auto o = json::Value::object();
        o.set(key, str(v));
        out.push(std::move(o));
    };
    auto ref = parse_reference(arg, c.g.refs);
    auto by_name = ref ? db.resolve(ref->str(), false) : Result<std::optional<std::string>>(std::nullopt);
    bool named = by_name && *by_name && **by_name == img.id;
    // A name of an image with others: only that name goes (docker's untag).
    if (named && img.names.size() > 1) {
        if (auto r = db.untag(ref->str()); !r) return std::unexpected(api_error(r.error()));
        entry("Untagged", ref->str());
        return send_json(c, 200, out);
    }
    if (!named && !force && img.names.size() > 1)
        return std::unexpected(http_error(409, cat("conflict: unable to delete ", img.id.substr(7, 12),
                                                   " (must be forced) - image is referenced in multiple repositories")));
    if (auto r = release_image_users(c.g, img.id, arg, force); !r) {
        auto err = api_error(r.error());
        if (err.status == 500) err.status = 409;
        return std::unexpected(err);
    }
    for (const auto& n : img.names) entry("Untagged", n);
    if (auto r = db.remove(img.id); !r) return std::unexpected(api_error(r.error()));
    StoreContent removed;
    removed.add(img);
    if (auto r = removed.collect(c.g.root); !r) return std::unexpected(api_error(r.error()));
    entry("Deleted", img.id);
    return send_json(c, 200, out);
}

ApiResult image_tag(Call& c) {
    auto img = TRY(find(c, c.args.at(0)));
    Engine* e = TRY(c.engine());
    std::string repo = c.req.param("repo"), tag = c.req.param("tag");
    if (repo.empty()) return std::unexpected(http_error(400, "repo is needed"));
    auto ref = parse_reference(tag.empty() ? repo : repo + ":" + tag, c.g.refs);
    if (!ref) return std::unexpected(http_error(400, ref.error().what()));
    if (!ref->digest.empty()) return std::unexpected(http_error(400, "a digest cannot be a tag"));
    if (auto r = e->db().tag(img.id, ref->str()); !r) return std::unexpected(api_error(r.error()));
    return send_empty(c, 201);
}

}  // namespace berth::manager::serve

namespace berth::manager::serve {

namespace {

// The names to write for ARG: itself when it names the image, else all.
std::expected<SaveItem, HttpError> save_item_of(Call& c, const std::string& arg) {
    auto img = TRY(find(c, arg));
    SaveItem it{img, {}};
    auto ref = parse_reference(arg, c.g.refs);
    Engine* e = TRY(c.engine());
    auto named = ref ? e->db().resolve(ref->str(), false) : Result<std::optional<std::string>>(std::nullopt);
    if (named && *named && **named == img.id)
        it.names.push_back(ref->str());
    else
        it.names = img.names;
    return it;
}

}  // namespace

ApiResult images_get(Call& c) {
    std::vector<std::string> names = c.args.empty() ? c.req.params("names") : std::vector<std::string>{c.args.at(0)};
    if (names.empty()) return std::unexpected(http_error(400, "names is needed"));
    std::vector<SaveItem> items;
    for (const auto& n : names) items.push_back(TRY(save_item_of(c, n)));
    auto lock = StoreLock::shared(c.g.root);
    if (!lock) return std::unexpected(api_error(lock.error()));
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return std::unexpected(http_error(500, "pipe"));
    UniqueFd r(p[0]), w(p[1]);
    std::string root = c.g.root;
    auto wk = spawn_on(w.get(), STDOUT_FILENO,
                       [&]() { return save_images(root, items, SaveFormat::DockerArchive, STDOUT_FILENO, ""); });
    w.reset();
    if (wk.pid < 0) return std::unexpected(http_error(500, "fork"));
    if (!stream_from(c, std::move(r), wk, {{"Content-Type", "application/x-tar"}})) c.close = true;
    return {};
}

ApiResult images_load(Call& c) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return std::unexpected(http_error(500, "pipe"));
    UniqueFd r(p[0]), w(p[1]);
    // The child prints "Loaded image: NAME" lines on its stdout (a pipe).
    int q[2];
    if (::pipe2(q, O_CLOEXEC) < 0) return std::unexpected(http_error(500, "pipe"));
    UniqueFd lr(q[0]), lw(q[1]);
    std::string root = c.g.root;
    ReferenceDefaults refs = c.g.refs;
    int lines_fd = lw.get();
    auto wk = spawn_on(r.get(), STDIN_FILENO, [&]() -> Result<void> {
        auto loaded = TRY(load_archive("-", root, refs));
        std::string out;
        for (const auto& img : loaded) {
            if (img.names.empty()) out += "Loaded image ID: " + img.id + "\n";
            for (const auto& n : img.names) out += "Loaded image: " + n + "\n";
        }
        (void)!::write(lines_fd, out.data(), out.size());
        return {};
    });
    r.reset();
    lw.reset();
    if (wk.pid < 0) return std::unexpected(http_error(500, "fork"));
    auto body = body_to(c, w.get());
    w.reset();
    std::string lines;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(lr.get(), buf, sizeof buf)) > 0) lines.append(buf, static_cast<size_t>(n));
    std::string err = wk.end();
    if (!body) {
        c.close = true;
        return std::unexpected(body.error());
    }
    if (!err.empty()) return std::unexpected(http_error(400, err));
    std::string out;
    for (const auto& l : split(lines, '\n')) {
        if (l.empty()) continue;
        auto v = json::Value::object();
        v.set("stream", str(l + "\n"));
        out += json::write(v) + "\n";
    }
    return send(c, 200, "application/json", out);
}

}  // namespace berth::manager::serve

namespace berth::manager::serve {

// docker push: the image under NAME[:tag] to its registry, with docker's
// progress lines; registries on loopback over plain HTTP, as for pulls.
ApiResult image_push(Call& c) {
    std::string name = c.args.at(0), tag = c.req.param("tag");
    auto img = TRY(find(c, tag.empty() ? name : name + ":" + tag));
    auto ref = parse_reference(tag.empty() ? name : name + ":" + tag, c.g.refs);
    if (!ref) return std::unexpected(http_error(400, ref.error().what()));
    PushOptions po;
    const std::string& d = ref->domain;
    std::string host = d.starts_with("[") ? d.substr(0, d.find(']') + 1) : d.substr(0, d.rfind(':'));
    if (host == "localhost" || host.starts_with("127.") || host == "[::1]") po.tls_verify = false;
    std::mutex mu;
    JsonLines out(c);
    auto line = [&](const json::Value& v) { out.line(v); };
    PullProgress progress(PullProgress::Mode::Quiet);
    progress.set_observer([&](const PullProgress::Event& ev) {
        auto v = json::Value::object();
        if (ev.digest.empty()) {
            v.set("status", str(ev.text));
        } else {
            v.set("status", str(!ev.finished ? "Preparing"
                                : std::string_view(ev.text).starts_with("skipped") ? "Layer already exists"
                                                                                  : "Pushed"));
            v.set("progressDetail", json::Value::object());
            v.set("id", str(ev.digest.substr(ev.digest.find(':') + 1, 12)));
        }
        std::lock_guard lk(mu);
        line(v);
    });
    {
        auto v = json::Value::object();
        v.set("status", str(cat("The push refers to repository [", ref->repository(), "]")));
        std::lock_guard lk(mu);
        line(v);
    }
    auto digest = push_image(img, *ref, c.g.root, c.g.registries, po, progress);
    std::lock_guard lk(mu);
    auto v = json::Value::object();
    if (!digest) {
        std::string msg = digest.error().what();
        auto detail = json::Value::object();
        detail.set("message", str(msg));
        v.set("errorDetail", std::move(detail));
        v.set("error", str(msg));
    } else {
        v.set("status", str(cat(ref->tag.empty() ? "latest" : ref->tag, ": digest: ", *digest)));
    }
    line(v);
    out.finish();
    return {};
}

}  // namespace berth::manager::serve
