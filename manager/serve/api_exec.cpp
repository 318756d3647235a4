// /containers/{id}/exec and /exec/{id}/start|json|resize. An exec instance
// is a file (RUNROOT/api-exec/ID.json: what to run, then its pid and exit
// code), since create, start and inspect come on different connections,
// served by different processes. start runs `RUNTIME exec` as `berth exec`
// does, its stdio on pipes relayed to the hijacked connection (docker's
// multiplexed frames unless Tty). With Tty the runtime hands the pty's
// master over a console socket (as to berth-shim); the serving process
// relays it and notes its pid and the master's fd number in the file, and
// /exec/ID/resize (another connection, another process) takes that fd with
// pidfd_getfd(2) to set the window size.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "libutil/strings.hpp"
#include "manager/containers/process.hpp"
#include "manager/containers/spec.hpp"
#include "manager/serve/call.hpp"

namespace berth::manager::serve {

namespace {

std::string exec_file(Engine& e, const std::string& id) {
    return e.paths.runroot + "/api-exec/" + id + ".json";
}

bool flag_of(const json::Value& v, std::string_view key) {
    const json::Value* f = v.find(key);
    return f && f->is_bool() && f->as_bool();
}

std::expected<json::Value, HttpError> load_exec(Call& c, Engine& e, const std::string& id) {
    bool ok = !id.empty() && id.find_first_not_of("0123456789abcdef") == std::string::npos;
    auto text = ok ? read_file(exec_file(e, id)) : Result<std::string>(std::unexpected(Error{ENOENT, ""}));
    if (!text) return std::unexpected(http_error(404, cat("No such exec instance: ", id)));
    auto v = json::parse(*text);
    if (!v) return std::unexpected(http_error(500, cat("exec instance ", id, ": ", v.error().what())));
    (void)c;
    return std::move(*v);
}

Result<void> save_exec(Engine& e, const std::string& id, const json::Value& v) {
    return write_file_atomic(exec_file(e, id), json::write(v), 0600);
}

// `RUNTIME exec` for the instance, as `berth exec` builds it.
std::expected<std::vector<std::string>, HttpError> exec_argv(Engine& e, const ContainerRecord& ct,
                                                             const json::Value& x, bool detach,
                                                             const std::string& console_socket) {
    auto o = container_options(ct);
    if (!o) return std::unexpected(api_error(o.error()));
    auto rt = e.runtime_path(o->runtime);
    if (!rt) return std::unexpected(api_error(rt.error()));
    std::vector<std::string> args = {*rt, "--root", e.paths.runtime_root(), "exec"};
    if (flag_of(x, "Tty")) args.push_back("--tty");
    if (!console_socket.empty()) args.insert(args.end(), {"--console-socket", console_socket});
    if (detach) args.push_back("--detach");
    if (flag_of(x, "Privileged")) args.push_back("--cap=ALL");
    if (const json::Value* u = x.find("User"); u && u->is_string() && !u->as_string().empty()) {
        auto user = resolve_user(e.storage.merged_dir(ct.id), u->as_string());
        if (!user) return std::unexpected(http_error(400, user.error().what()));
        args.insert(args.end(), {"--user", cat(user->uid, ":", user->gid)});
        for (uint32_t gid : user->additional_gids) args.insert(args.end(), {"--additional-gids", std::to_string(gid)});
    }
    for (const auto& env : strings_of(x.find("Env")))
        if (env.find('=') != std::string::npos) args.insert(args.end(), {"--env", env});
    if (const json::Value* w = x.find("WorkingDir"); w && w->is_string() && !w->as_string().empty())
        args.insert(args.end(), {"--cwd", w->as_string()});
    args.push_back(ct.id);
    auto cmd = strings_of(x.find("Cmd"));
    args.insert(args.end(), cmd.begin(), cmd.end());
    return args;
}

struct Pipe {
    UniqueFd r, w;
};
Pipe make_pipe() {
    int fds[2] = {-1, -1};
    if (::pipe2(fds, O_CLOEXEC) < 0) return {};
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Result<UniqueFd> listen_console(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return Err("console socket path too long: ", path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) return ErrnoErr("console socket");
    ::unlink(path.c_str());
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) return ErrnoErr("bind ", path);
    if (::listen(s.get(), 1) < 0) return ErrnoErr("listen ", path);
    return s;
}

// The master the runtime sends, or none when it exits first (its error is
// on the output pipe) or takes more than 10 s.
UniqueFd receive_console(int listener, pid_t runtime) {
    for (int i = 0; i < 1000; ++i) {
        struct pollfd p {listener, POLLIN, 0};
        if (::poll(&p, 1, 10) > 0) {
            UniqueFd conn(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
            if (!conn) return {};
            auto fd = recv_fd(conn.get());
            return fd ? std::move(*fd) : UniqueFd();
        }
        if (::waitpid(runtime, nullptr, WNOHANG | WNOWAIT | __WALL) == runtime) return {};
    }
    return {};
}

}  // namespace

ApiResult exec_create(Call& c) {
    auto rec = TRY(find_container(c, c.args.at(0)));
    Engine* e = TRY(c.engine());
    auto body = TRY(read_json(c));
    if (!body.is_object()) return std::unexpected(http_error(400, "the body is not a JSON object"));
    if (strings_of(body.find("Cmd")).empty()) return std::unexpected(http_error(400, "No exec command specified"));
    if (auto lock = ContainerLock::try_take(e->paths, rec.id); lock && *lock) (void)refresh(*e, rec);
    if (rec.state != "running")
        return std::unexpected(http_error(409, cat("Container ", rec.id, " is not running")));
    auto id = random_hex_id();
    if (!id) return std::unexpected(api_error(id.error()));
    body.set("ContainerID", str(rec.id));
    body.set("Running", json::Value::boolean(false));
    body.set("ExitCode", json::Value::null());
    body.set("Pid", json::Value::number(0));
    if (auto r = mkdir_all(e->paths.runroot + "/api-exec", 0700); !r) return std::unexpected(api_error(r.error()));
    if (auto r = save_exec(*e, *id, body); !r) return std::unexpected(api_error(r.error()));
    auto v = json::Value::object();
    v.set("Id", str(*id));
    return send_json(c, 201, v);
}

ApiResult exec_inspect(Call& c) {
    Engine* e = TRY(c.engine());
    auto x = TRY(load_exec(c, *e, c.args.at(0)));
    auto cmd = strings_of(x.find("Cmd"));
    auto v = json::Value::object();
    v.set("ID", str(c.args.at(0)));
    v.set("Running", json::Value::boolean(flag_of(x, "Running")));
    v.set("ExitCode", x.find("ExitCode") ? *x.find("ExitCode") : json::Value::null());
    auto pc = json::Value::object();
    pc.set("entrypoint", str(cmd.empty() ? "" : cmd[0]));
    auto rest = json::Value::array();
    for (size_t i = 1; i < cmd.size(); ++i) rest.push(str(cmd[i]));
    pc.set("arguments", std::move(rest));
    pc.set("tty", json::Value::boolean(flag_of(x, "Tty")));
    pc.set("privileged", json::Value::boolean(flag_of(x, "Privileged")));
    pc.set("user", x.find("User") ? *x.find("User") : str(""));
    v.set("ProcessConfig", std::move(pc));
    v.set("OpenStdin", json::Value::boolean(flag_of(x, "AttachStdin")));
    v.set("OpenStdout", json::Value::boolean(flag_of(x, "AttachStdout")));
    v.set("OpenStderr", json::Value::boolean(flag_of(x, "AttachStderr")));
    v.set("ContainerID", x.find("ContainerID") ? *x.find("ContainerID") : str(""));
    v.set("Pid", x.find("Pid") ? *x.find("Pid") : json::Value::number(0));
    return send_json(c, 200, v);
}

// The window size of a running exec's pty; one without a pty (or not
// running any more) has none to set, as dockerd answers 200 then too.
ApiResult exec_resize(Call& c) {
    Engine* e = TRY(c.engine());
    auto x = TRY(load_exec(c, *e, c.args.at(0)));
    auto size = TRY(window_size(c));
    const json::Value* server = x.find("ConsoleServer");
    const json::Value* fd = x.find("ConsoleFd");
    if (!flag_of(x, "Running") || !server || !fd || server->is_null()) return send(c, 200, "", "");
    pid_t pid = static_cast<pid_t>(server->as_int64().value_or(0));
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    UniqueFd master(pidfd ? static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), fd->as_int64().value_or(-1), 0)) : -1);
    struct winsize ws {size.rows, size.cols, 0, 0};
    // The exec ended meanwhile: nothing to resize.
    if (master && ::ioctl(master.get(), TIOCSWINSZ, &ws) < 0 && errno != ENOTTY)
        return std::unexpected(http_error(500, cat("resize exec ", c.args.at(0), ": ", std::strerror(errno))));
    return send(c, 200, "", "");
}

ApiResult exec_start(Call& c) {
    Engine* e = TRY(c.engine());
    const std::string id = c.args.at(0);
    auto x = TRY(load_exec(c, *e, id));
    auto opts = TRY(read_json(c, true));
    bool detach = opts.is_object() && flag_of(opts, "Detach");
    if (flag_of(x, "Running") || (x.find("ExitCode") && !x.find("ExitCode")->is_null()))
        return std::unexpected(http_error(409, cat("exec ", id, " has already been started")));
    auto rec = TRY(find_container(c, x.find("ContainerID") ? x.find("ContainerID")->as_string() : ""));
    if (auto lock = ContainerLock::try_take(e->paths, rec.id); lock && *lock) (void)refresh(*e, rec);
    if (rec.state != "running") return std::unexpected(http_error(409, cat("Container ", rec.id, " is not running")));
    bool tty = flag_of(x, "Tty"), want_in = flag_of(x, "AttachStdin");
    // Short: a unix socket path has 108 bytes.
    std::string console_path = tty && !detach ? cat(e->paths.runroot, "/api-exec/", id.substr(0, 12), ".sock") : "";
    UniqueFd console_l;
    if (!console_path.empty()) {
        auto l = listen_console(console_path);
        if (!l) return std::unexpected(api_error(l.error()));
        console_l = std::move(*l);
    }
    auto argv = TRY(exec_argv(*e, rec, x, detach, console_path));
    Pipe in = want_in && !detach ? make_pipe() : Pipe{}, out = detach ? Pipe{} : make_pipe(),
         err = detach || tty ? Pipe{} : make_pipe();
    std::vector<char*> cargs;
    for (auto& s : argv) cargs.push_back(s.data());
    cargs.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return std::unexpected(http_error(500, cat("fork: ", std::strerror(errno))));
    if (pid == 0) {
        int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        ::dup2(in.r ? in.r.get() : null, 0);
        ::dup2(out.w ? out.w.get() : null, 1);
        ::dup2(err.w ? err.w.get() : (out.w ? out.w.get() : null), 2);
        ::signal(SIGPIPE, SIG_DFL);
        ::execv(cargs[0], cargs.data());
        ::_exit(126);
    }
    in.r.reset();
    out.w.reset();
    err.w.reset();
    UniqueFd master;
    if (console_l) {
        master = receive_console(console_l.get(), pid);
        console_l.reset();
        ::unlink(console_path.c_str());
    }
    x.set("Running", json::Value::boolean(true));
    x.set("Pid", json::Value::number(static_cast<int64_t>(pid)));
    if (master) {
        x.set("ConsoleServer", json::Value::number(static_cast<int64_t>(::getpid())));
        x.set("ConsoleFd", json::Value::number(static_cast<int64_t>(master.get())));
    }
    (void)save_exec(*e, id, x);
    auto finish = [&]() {
        int st = 0;
        while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
        x.set("Running", json::Value::boolean(false));
        x.set("ExitCode", json::Value::number(static_cast<int64_t>(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st))));
        x.set("ConsoleServer", json::Value::null());
        x.set("ConsoleFd", json::Value::null());
        (void)save_exec(*e, id, x);
    };
    if (detach) {
        finish();  // `exec --detach` returns once the process runs
        x.set("Running", json::Value::boolean(true));
        x.set("ExitCode", json::Value::null());
        (void)save_exec(*e, id, x);
        return send(c, 200, "", "");
    }
    std::string up = c.req.header("upgrade");
    for (auto& ch : up) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    ResponseHead h;
    h.status = up == "tcp" ? 101 : 200;
    h.headers = {{"Content-Type", tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream"}};
    if (h.status == 101) h.headers.insert(h.headers.end(), {{"Connection", "Upgrade"}, {"Upgrade", "tcp"}});
    h.raw_stream = true;
    c.responded = true;
    c.close = true;
    if (!c.conn.write_all(format_head(h))) {
        ::kill(pid, SIGKILL);
        finish();
        return {};
    }
    std::string pending = c.conn.take_buffered();
    int client = c.conn.fd();
    bool client_open = want_in;
    std::string buf(65536, '\0');
    // With a pty the client's bytes go to its master, and what the process
    // writes comes from it; the output pipe still carries the runtime's own
    // messages.
    int input = master ? master.get() : (in.w ? in.w.get() : -1);
    if (input >= 0 && !pending.empty()) (void)!::write(input, pending.data(), pending.size());
    while (out.r || err.r || master) {
        std::vector<pollfd> p;
        if (out.r) p.push_back({out.r.get(), POLLIN, 0});
        if (err.r) p.push_back({err.r.get(), POLLIN, 0});
        if (master) p.push_back({master.get(), POLLIN, 0});
        p.push_back({client, static_cast<short>(client_open ? POLLIN : 0), 0});
        if (::poll(p.data(), p.size(), -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        bool gone = false;
        for (auto& q : p) {
            if (!q.revents) continue;
            if (q.fd == client) {
                ssize_t n = client_open ? ::read(client, buf.data(), buf.size()) : 0;
                if (n > 0 && input >= 0) {
                    (void)!::write(input, buf.data(), static_cast<size_t>(n));
                } else if (client_open) {
                    in.w.reset();  // the client's stdin ended
                    client_open = false;
                } else {
                    gone = true;  // hung up
                }
                continue;
            }
            ssize_t n = ::read(q.fd, buf.data(), buf.size());
            if (n <= 0) {  // a pty's master reads EIO once its last process has gone
                (q.fd == (out.r ? out.r.get() : -1) ? out.r : q.fd == (err.r ? err.r.get() : -1) ? err.r : master).reset();
                if (q.fd == input) input = -1;
                continue;
            }
            std::string_view data(buf.data(), static_cast<size_t>(n));
            int stream = err.r && q.fd == err.r.get() ? 2 : 1;
            if (!c.conn.write_all(tty ? std::string(data) : frame(stream, data))) gone = true;
        }
        if (gone) {
            ::kill(pid, SIGKILL);
            break;
        }
    }
    finish();
    ::shutdown(client, SHUT_WR);
    return {};
}

}  // namespace berth::manager::serve
