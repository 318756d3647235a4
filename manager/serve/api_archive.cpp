// /containers/{id}/archive: HEAD (a path's stat, docker's
// X-Docker-Container-Path-Stat header), GET (a tar of it), PUT (a tar
// unpacked into a directory): what `docker cp` asks for. The copying is
// berth cp's (manager/containers/copy.cpp: paths resolved inside the
// container's root, never through its symlinks), run in a child whose
// stdout or stdin is a pipe to the connection.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

#include "libutil/strings.hpp"
#include "manager/containers/copy.hpp"
#include "manager/registry/auth.hpp"
#include "manager/serve/call.hpp"
#include "manager/serve/pipe_child.hpp"
#include "runtime/linux/safe_path.hpp"

namespace berth::manager::serve {

namespace {

// The container's files: its process's view while it runs (volumes
// included), else its rootfs, mounted for the call.
struct RootView {
    Engine* e = nullptr;
    std::string id;
    UniqueFd fd;
    bool mounted = false;
    ~RootView() {
        fd.reset();
        if (mounted) (void)e->storage.unmount(id, false);
    }
};

std::expected<std::unique_ptr<RootView>, HttpError> open_root(Engine& e, ContainerRecord& c) {
    auto v = std::make_unique<RootView>();
    v->e = &e;
    v->id = c.id;
    if (auto lock = ContainerLock::try_take(e.paths, c.id); lock && *lock) (void)refresh(e, c);
    if ((c.state == "running" || c.state == "paused") && c.pid > 0) {
        v->fd.reset(::open(cat("/proc/", c.pid, "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    } else {
        auto merged = e.storage.mount(c.id);
        if (!merged) return std::unexpected(api_error(merged.error()));
        v->mounted = true;
        v->fd.reset(::open(merged->c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    }
    if (!v->fd) return std::unexpected(http_error(500, cat("open the root of container ", c.name, ": ", std::strerror(errno))));
    return v;
}

std::string parent_of(const std::string& p) {
    std::string c = clean_path(p);
    size_t slash = c.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : c.substr(0, slash);
}

std::string name_of(const std::string& p) {
    std::string c = clean_path(p);
    return c == "/" ? "/" : c.substr(c.rfind('/') + 1);
}

// Go's os.FileMode of a stat: the permission bits and its type bits.
uint64_t go_mode(mode_t m) {
    uint64_t g = m & 0777;
    if (S_ISDIR(m)) g |= 1ULL << 31;
    if (S_ISLNK(m)) g |= 1ULL << 27;
    if (S_ISFIFO(m)) g |= 1ULL << 25;
    if (S_ISSOCK(m)) g |= 1ULL << 24;
    if (S_ISCHR(m)) g |= (1ULL << 26) | (1ULL << 21);
    if (S_ISBLK(m)) g |= 1ULL << 26;
    if (m & S_ISUID) g |= 1ULL << 23;
    if (m & S_ISGID) g |= 1ULL << 22;
    if (m & S_ISVTX) g |= 1ULL << 20;
    return g;
}

// The stat header's value, or 404 with docker's words.
std::expected<std::string, HttpError> path_stat(int root, const ContainerRecord& c, const std::string& path) {
    auto not_found = [&] {
        return std::unexpected(http_error(404, cat("Could not find the file ", path, " in container ", c.name)));
    };
    auto parent = runtime::open_in_root(root, parent_of(path), O_PATH | O_DIRECTORY);
    if (!parent) return not_found();
    std::string name = name_of(path);
    struct stat st;
    bool self = name == "/";
    if (::fstatat(parent->get(), self ? "" : name.c_str(), &st, self ? AT_EMPTY_PATH : AT_SYMLINK_NOFOLLOW) < 0)
        return not_found();
    std::string target;
    if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        ssize_t n = ::readlinkat(parent->get(), name.c_str(), buf, sizeof buf);
        if (n > 0) target.assign(buf, static_cast<size_t>(n));
    }
    char when[64];
    std::tm tm{};
    ::gmtime_r(&st.st_mtim.tv_sec, &tm);
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    auto v = json::Value::object();
    v.set("name", json::Value::string(name));
    v.set("size", json::Value::number(static_cast<int64_t>(st.st_size)));
    v.set("mode", json::Value::number(go_mode(st.st_mode)));
    v.set("mtime", json::Value::string(when));
    v.set("linkTarget", json::Value::string(target));
    return registry::base64_encode(json::write(v));
}

// The container, its files and the query's path, which every archive
// request names.
struct Target {
    ContainerRecord rec;
    std::unique_ptr<RootView> root;
    std::string path;
};
std::expected<Target, HttpError> target(Call& c) {
    auto rec = TRY(find_container(c, c.args.at(0)));
    Engine* e = TRY(c.engine());
    std::string path = c.req.param("path");
    if (path.empty()) return std::unexpected(http_error(400, "path is needed"));
    auto root = TRY(open_root(*e, rec));
    return Target{std::move(rec), std::move(root), std::move(path)};
}

}  // namespace

ApiResult archive_stat(Call& c) {
    auto [rec, root, path] = TRY(target(c));
    auto stat = TRY(path_stat(root->fd.get(), rec, path));
    return send(c, 200, "", "", {{"X-Docker-Container-Path-Stat", stat}});
}

ApiResult archive_get(Call& c) {
    auto [rec, root, path] = TRY(target(c));
    auto stat = TRY(path_stat(root->fd.get(), rec, path));
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return std::unexpected(http_error(500, "pipe"));
    UniqueFd r(p[0]), w(p[1]);
    int rootfd = root->fd.get();
    auto ch = spawn_on(w.get(), STDOUT_FILENO, [&]() { return copy_out(rootfd, clean_path(path), "-", CopyOptions{}); });
    w.reset();
    if (ch.pid < 0) return std::unexpected(http_error(500, "fork"));
    if (!stream_from(c, std::move(r), ch, {{"Content-Type", "application/x-tar"}, {"X-Docker-Container-Path-Stat", stat}}))
        c.close = true;
    return {};
}

ApiResult archive_put(Call& c) {
    auto [rec, root, path] = TRY(target(c));
    auto dir = runtime::open_in_root(root->fd.get(), path, O_PATH | O_DIRECTORY);
    if (!dir) {
        c.close = true;  // the body is not read
        return std::unexpected(http_error(404, cat("Could not find the file ", path, " in container ", rec.name)));
    }
    dir->reset();
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return std::unexpected(http_error(500, "pipe"));
    UniqueFd r(p[0]), w(p[1]);
    int rootfd = root->fd.get();
    auto ch = spawn_on(r.get(), STDIN_FILENO, [&]() { return copy_in("-", rootfd, clean_path(path), CopyOptions{}); });
    r.reset();
    if (ch.pid < 0) return std::unexpected(http_error(500, "fork"));
    auto body = body_to(c, w.get());
    w.reset();
    std::string err = ch.end();
    if (!body) {
        c.close = true;
        return std::unexpected(body.error());
    }
    if (!err.empty()) return std::unexpected(http_error(400, err));
    return send(c, 200, "", "");
}

}  // namespace berth::manager::serve
