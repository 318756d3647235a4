// The long requests: wait (the head goes out at once, the body when the
// condition is met: the docker CLI sends `start` only after it got the
// head), attach (the connection is hijacked and becomes the container's
// stdio, through the shim's attach socket) and logs (docker's multiplexed
// stream unless the container has a terminal).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "libutil/log.hpp"
#include "libutil/strings.hpp"
#include "manager/containers/attach.hpp"
#include "manager/containers/logs.hpp"
#include "manager/serve/call.hpp"

namespace berth::manager::serve {

namespace {

namespace fs = std::filesystem;

bool running(const std::string& state) {
    return state == "running" || state == "paused";
}

void sleep_ms(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

std::string waiters_dir(Engine& e, const std::string& id) {
    return e.paths.runroot + "/api-attach/" + id;
}

// The attach that waits for the container's start: a file named by our pid
// (a dead waiter's file does not count).
struct Waiter {
    std::string path;
    ~Waiter() {
        if (!path.empty()) ::unlink(path.c_str());
    }
};

std::vector<pid_t> live_waiters(Engine& e, const std::string& id) {
    std::vector<pid_t> out;
    std::error_code ec;
    for (const auto& ent : fs::directory_iterator(waiters_dir(e, id), ec)) {
        auto pid = parse_i64(ent.path().filename().string());
        if (pid && (::kill(static_cast<pid_t>(*pid), 0) == 0 || errno == EPERM))
            out.push_back(static_cast<pid_t>(*pid));
        else
            ::unlink(ent.path().c_str());
    }
    return out;
}

// Exit code of a container's last run: its exit file, or what an
// auto-remove kept of it (ID.removed).
std::optional<ExitInfo> exit_info(Engine& e, const std::string& id, bool removed) {
    auto info = read_exit_file(e.paths.exit_file(id) + (removed ? ".removed" : ""));
    return info ? *info : std::nullopt;
}

ApiResult write_wait_result(ChunkedWriter& w, int64_t code) {
    auto v = json::Value::object();
    v.set("StatusCode", json::Value::number(code));
    v.set("Error", json::Value::null());
    if (auto r = w.write(json::write(v) + "\n"); !r) return std::unexpected(http_error(500, r.error().what()));
    if (auto r = w.finish(); !r) return std::unexpected(http_error(500, r.error().what()));
    return {};
}

}  // namespace

bool has_attach_waiters(Engine& e, const std::string& id) {
    return !live_waiters(e, id).empty();
}

void drop_attach_waiters(Engine& e, const std::string& id) {
    std::error_code ec;
    fs::remove_all(waiters_dir(e, id), ec);
}

void wait_attachers_connected(Engine& e, const std::string& id, int timeout_ms) {
    for (int t = 0; t < timeout_ms && has_attach_waiters(e, id); t += 2) sleep_ms(2);
}

ApiResult container_wait(Call& c) {
    auto rec = TRY(find_container(c, c.args.at(0)));
    Engine* e = TRY(c.engine());
    std::string cond = c.req.param("condition");
    if (cond.empty()) cond = "not-running";
    if (cond != "not-running" && cond != "next-exit" && cond != "removed")
        return std::unexpected(http_error(400, cat("invalid condition: \"", cond, "\"")));
    // The exit before this wait does not count for next-exit and removed.
    auto before = exit_info(*e, rec.id, false);
    std::string old_finish = before ? before->finished_at : "";
    if (!send_stream_head(c, {{"Content-Type", "application/json"}})) return {};
    ChunkedWriter w(c.conn);
    if (cond == "not-running" && !running(rec.state) && rec.state != "created") return write_wait_result(w, rec.exit_code);
    std::optional<int64_t> code;
    for (;;) {
        auto now = e->containers.get(rec.id);
        bool gone = !now || !*now;
        if (!code) {
            auto info = exit_info(*e, rec.id, false);
            if (info && info->finished_at != old_finish) code = info->exit_code;
        }
        if (gone) {
            if (!code)
                if (auto info = exit_info(*e, rec.id, true)) code = info->exit_code;
            return write_wait_result(w, code.value_or(0));
        }
        if (code && cond != "removed") return write_wait_result(w, *code);
        if (cond == "not-running" && (*now)->state == "exited") return write_wait_result(w, (*now)->exit_code);
        // The client went away: nothing to wait for.
        struct pollfd p {c.conn.fd(), POLLRDHUP, 0};
        if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
            c.close = true;
            return {};
        }
        // Woken by the exit file as it appears (inotify), not by a tick: the
        // end of `docker run` waits on this. An old one there (next-exit) or
        // the removal still to come: short naps.
        bool old_file = ::access(e->paths.exit_file(rec.id).c_str(), F_OK) == 0;
        if (code || old_file) sleep_ms(5);
        else (void)wait_for_exit(*e, rec.id, 200);
    }
}

ApiResult container_attach(Call& c) {
    auto rec = TRY(find_container(c, c.args.at(0)));
    Engine* e = TRY(c.engine());
    if (!running(rec.state) && rec.state != "created")
        return std::unexpected(http_error(409, "You cannot attach to a stopped container, start it first"));
    auto o = container_options(rec);
    if (!o) return std::unexpected(api_error(o.error()));
    bool want_stdin = c.req.flag("stdin"), want_out = c.req.flag("stdout"), want_err = c.req.flag("stderr");
    if (!c.req.has_param("stdout") && !c.req.has_param("stderr")) want_out = want_err = true;
    Waiter waiter;
    if (!running(rec.state)) {
        std::string dir = waiters_dir(*e, rec.id);
        if (auto r = mkdir_all(dir, 0700); !r) return std::unexpected(api_error(r.error()));
        waiter.path = cat(dir, "/", ::getpid());
        if (auto r = write_file(waiter.path, ""); !r) return std::unexpected(api_error(r.error()));
    }
    std::string up = c.req.header("upgrade");
    for (auto& ch : up) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    bool upgrade = up == "tcp";
    ResponseHead h;
    h.status = upgrade ? 101 : 200;
    h.headers = {{"Content-Type", o->tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream"}};
    if (upgrade) h.headers.insert(h.headers.end(), {{"Connection", "Upgrade"}, {"Upgrade", "tcp"}});
    h.raw_stream = true;
    c.responded = true;
    c.close = true;
    if (auto r = c.conn.write_all(format_head(h)); !r) return std::unexpected(http_error(500, r.error().what()));

    // Until the shim's attach socket is there (start makes it), or the
    // client goes, or the container was removed.
    std::optional<UniqueFd> sock;
    for (int t = 0;; ++t) {
        auto now = e->containers.get(rec.id);
        if (!now || !*now) return {};
        // A failed start took our waiter away.
        if (!waiter.path.empty() && ::access(waiter.path.c_str(), F_OK) != 0) return {};
        std::string sock_path = e->paths.shim_dir(rec.id) + "/attach";
        if (::access(sock_path.c_str(), F_OK) == 0) {
            if (auto s = connect_attach(e->paths.shim_dir(rec.id))) {
                sock = std::move(*s);
                break;
            }
        }
        if ((*now)->state == "exited" && t > 250) return {};
        // Not POLLRDHUP: a client without stdin shuts its side down at once.
        // The poll is the nap: `start` is on its way (2 ms, the run waits).
        struct pollfd p {c.conn.fd(), 0, 0};
        if (::poll(&p, 1, 2) > 0 && (p.revents & (POLLHUP | POLLERR))) return {};
    }
    ::unlink(waiter.path.c_str());
    waiter.path.clear();
    log::debug(cat("serve: attached to ", rec.id));
    // logs=1: what the log holds up to now goes first; anything later comes
    // through the attach socket, connected already, so nothing twice.
    if (c.req.flag("logs") && (want_out || want_err)) {
        LogOptions lo;
        lo.until = now_rfc3339_nano();
        bool broken = false;
        lo.sink = [&](bool is_stderr, std::string_view text) {
            if (broken || (is_stderr ? !want_err : !want_out)) return;
            if (!c.conn.write_all(o->tty ? std::string(text) : frame(is_stderr ? 2 : 1, text))) broken = true;
        };
        (void)print_logs(e->paths.log(rec.id), lo, [] { return false; });
        if (broken) return {};
    }
    if (c.req.has_param("stream") && !c.req.flag("stream")) return {};  // the log only

    std::string pending = c.conn.take_buffered();
    int shim = sock->get(), client = c.conn.fd();
    bool client_open = want_stdin;
    auto send_stdin = [&](std::string_view data) {
        std::string pkt(1, '\0');
        pkt.append(data);
        return ::send(shim, pkt.data(), pkt.size(), MSG_NOSIGNAL) >= 0;
    };
    if (want_stdin && !pending.empty()) send_stdin(pending);
    std::string buf(16385, '\0');
    for (;;) {
        struct pollfd p[2] = {{shim, POLLIN, 0}, {client, static_cast<short>(client_open ? POLLIN : 0), 0}};
        if (::poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return {};
        }
        if (p[0].revents) {
            ssize_t n = ::recv(shim, buf.data(), buf.size(), 0);
            if (n <= 0) return {};
            int type = static_cast<unsigned char>(buf[0]);
            std::string_view data(buf.data() + 1, static_cast<size_t>(n - 1));
            if (type == 3 || type == 4) return {};  // exit or detached: the stream ends
            if ((type == 1 && want_out) || (type == 2 && want_err)) {
                std::string out = o->tty ? std::string(data) : frame(type, data);
                if (!c.conn.write_all(out)) return {};
            }
        }
        if (p[1].revents) {
            if (!client_open) return {};  // hung up
            ssize_t n = ::read(client, buf.data(), buf.size() - 1);
            if (n > 0) {
                if (!send_stdin(std::string_view(buf.data(), static_cast<size_t>(n)))) return {};
            } else {
                // The client closed its side: stdin ends (docker's CloseWrite).
                char eof = 2;
                (void)::send(shim, &eof, 1, MSG_NOSIGNAL);
                client_open = false;
            }
        }
    }
}

// The shim's control socket: "resize ROWS COLS" sets the pty's size.
ApiResult container_resize(Call& c) {
    auto rec = TRY(find_container(c, c.args.at(0)));
    Engine* e = TRY(c.engine());
    auto size = TRY(window_size(c));
    if (!running(rec.state)) return std::unexpected(http_error(409, cat("Container ", rec.id, " is not running")));
    struct sockaddr_un sa {};
    sa.sun_family = AF_UNIX;
    std::string path = e->paths.shim_dir(rec.id) + "/ctl";
    if (path.size() >= sizeof sa.sun_path) return std::unexpected(http_error(500, "control socket path too long"));
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!s || ::connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
        return std::unexpected(http_error(500, cat("connect ", path, ": ", std::strerror(errno))));
    std::string cmd = cat("resize ", size.rows, " ", size.cols);
    char reply[512];
    ssize_t n = -1;
    if (::send(s.get(), cmd.data(), cmd.size(), MSG_NOSIGNAL) >= 0) n = ::recv(s.get(), reply, sizeof reply, 0);
    std::string r = n > 0 ? std::string(reply, static_cast<size_t>(n)) : std::string("error no reply");
    if (r != "ok") return std::unexpected(http_error(500, cat("resize: ", r.starts_with("error ") ? r.substr(6) : r)));
    return send(c, 200, "", "");
}

ApiResult container_logs(Call& c) {
    auto rec = TRY(find_container(c, c.args.at(0)));
    Engine* e = TRY(c.engine());
    auto o = container_options(rec);
    if (!o) return std::unexpected(api_error(o.error()));
    bool out = c.req.flag("stdout"), err = c.req.flag("stderr");
    if (!out && !err) return std::unexpected(http_error(400, "Bad parameters: you must choose at least one stream"));
    LogOptions lo;
    lo.follow = c.req.flag("follow");
    lo.timestamps = c.req.flag("timestamps");
    if (std::string t = c.req.param("tail"); !t.empty() && t != "all") {
        auto n = parse_i64(t);
        if (!n || *n < 0) return std::unexpected(http_error(400, cat("invalid value for tail: ", t)));
        lo.tail = *n;
    }
    for (auto [key, field] : {std::pair{"since", &lo.since}, std::pair{"until", &lo.until}}) {
        std::string v = c.req.param(key);
        if (v.empty() || v == "0") continue;
        auto t = parse_log_time(v, key);
        if (!t) return std::unexpected(http_error(400, t.error().what()));
        *field = *t;
    }
    if (!send_stream_head(
            c, {{"Content-Type", o->tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream"}}))
        return {};
    ChunkedWriter w(c.conn);
    bool broken = false;
    lo.sink = [&](bool is_stderr, std::string_view text) {
        if (broken || (is_stderr ? !err : !out)) return;
        if (!w.write(o->tty ? std::string(text) : frame(is_stderr ? 2 : 1, text))) broken = true;
    };
    std::string id = rec.id;
    auto still = [&]() {
        if (broken) return false;
        struct pollfd p {c.conn.fd(), POLLRDHUP, 0};
        if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) return false;
        auto now = e->containers.get(id);
        if (!now || !*now || !running((*now)->state)) return false;
        return ::access(e->paths.exit_file(id).c_str(), F_OK) != 0;
    };
    if (auto r = print_logs(e->paths.log(id), lo, still); !r) {
        c.close = true;
        return std::unexpected(http_error(500, r.error().what()));
    }
    if (broken || !w.finish()) c.close = true;
    return {};
}

}  // namespace berth::manager::serve
