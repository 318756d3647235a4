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

// Runs `fn` in a child with `fd` as its stdin (`in`) or stdout; its exit
// status says whether it worked, its stderr the error.
struct Child {
    pid_t pid = -1;
    UniqueFd err;
};
Child spawn(int fd, bool in, const std::function<Result<void>()>& fn) {
    int e[2];
    if (::pipe2(e, O_CLOEXEC) < 0) return {};
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(fd, in ? STDIN_FILENO : STDOUT_FILENO);
        auto r = fn();
        if (!r) {
            std::string m = r.error().what();
            (void)!::write(e[1], m.data(), m.size());
        }
        ::_exit(r ? 0 : 1);
    }
    ::close(e[1]);
    return Child{pid, UniqueFd(e[0])};
}

// The child's end: "" when it worked, else its error.
std::string reap(Child& ch) {
    std::string msg;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(ch.err.get(), buf, sizeof buf)) > 0) msg.append(buf, static_cast<size_t>(n));
    int st = 0;
    while (::waitpid(ch.pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return "";
    return msg.empty() ? std::string("the copy failed") : msg;
}

}  // namespace

ApiResult archive_stat(Call& c) {
    auto rec = TRY(find_container(c, c.args.at(0)));
    Engine* e = TRY(c.engine());
    std::string path = c.req.param("path");
    if (path.empty()) return std::unexpected(http_error(400, "path is needed"));
    auto root = TRY(open_root(*e, rec));
    auto stat = TRY(path_stat(root->fd.get(), rec, path));
    return send(c, 200, "", "", {{"X-Docker-Container-Path-Stat", stat}});
}

ApiResult archive_get(Call& c) {
    auto rec = TRY(find_container(c, c.args.at(0)));
    Engine* e = TRY(c.engine());
    std::string path = c.req.param("path");
    if (path.empty()) return std::unexpected(http_error(400, "path is needed"));
    auto root = TRY(open_root(*e, rec));
    auto stat = TRY(path_stat(root->fd.get(), rec, path));
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return std::unexpected(http_error(500, "pipe"));
    UniqueFd r(p[0]), w(p[1]);
    int rootfd = root->fd.get();
    auto ch = spawn(w.get(), false, [&]() { return copy_out(rootfd, clean_path(path), "-", CopyOptions{}); });
    w.reset();
    if (ch.pid < 0) return std::unexpected(http_error(500, "fork"));
    ResponseHead h;
    h.headers = {{"Content-Type", "application/x-tar"}, {"X-Docker-Container-Path-Stat", stat}, {"Api-Version", kApiVersion}};
    h.close = !c.req.keep_alive;
    c.responded = true;
    bool ok = bool(c.conn.write_all(format_head(h)));
    ChunkedWriter out(c.conn);
    char buf[65536];
    ssize_t n;
    while (ok && (n = ::read(r.get(), buf, sizeof buf)) > 0) ok = bool(out.write(std::string_view(buf, static_cast<size_t>(n))));
    r.reset();
    std::string err = reap(ch);
    // A failure after the head cannot change the status: the stream ends
    // without its last chunk, which the client sees as an error.
    if (!ok || !err.empty() || !out.finish()) c.close = true;
    return {};
}

ApiResult archive_put(Call& c) {
    auto rec = TRY(find_container(c, c.args.at(0)));
    Engine* e = TRY(c.engine());
    std::string path = c.req.param("path");
    if (path.empty()) return std::unexpected(http_error(400, "path is needed"));
    auto root = TRY(open_root(*e, rec));
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
    auto ch = spawn(r.get(), true, [&]() { return copy_in("-", rootfd, clean_path(path), CopyOptions{}); });
    r.reset();
    if (ch.pid < 0) return std::unexpected(http_error(500, "fork"));
    auto body = c.conn.read_body_to(c.req, [&](std::string_view piece) -> Result<void> {
        size_t off = 0;
        while (off < piece.size()) {
            ssize_t n = ::write(w.get(), piece.data() + off, piece.size() - off);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return ErrnoErr("write to the copy");
            off += static_cast<size_t>(n);
        }
        return {};
    });
    w.reset();
    std::string err = reap(ch);
    if (!body) {
        c.close = true;
        return std::unexpected(body.error());
    }
    if (!err.empty()) return std::unexpected(http_error(400, err));
    return send(c, 200, "", "");
}

}  // namespace berth::manager::serve
