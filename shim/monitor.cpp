#include "shim/monitor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "libutil/log.hpp"
#include "libutil/strings.hpp"
#include "shim/protocol.hpp"
#include "shim/runtime_cmd.hpp"

namespace berth::shim {

namespace {

enum Tag : uint64_t { kSignal = 1, kOut, kErr, kMaster, kStdinPipe, kAttachListen, kCtlListen, kClient = 100 };

// The read buffer for output: one read, logged and fanned out from here.
// Byte 0 is the attach packet's type, so a packet needs no copy.
char g_buf[1 + proto::kMaxPayload];

// How much of the runtime's own output is kept for its error message: the
// end, where the error is.
constexpr size_t kErrorTail = 4096;

void keep_tail(std::string& tail, const char* data, size_t len) {
    tail.append(data, len);
    if (tail.size() > kErrorTail) tail.erase(0, tail.size() - kErrorTail);
}

std::string in_dir(const UniqueFd& dir, const char* name) {
    return cat("/proc/self/fd/", dir.get(), "/", name);
}

// A listening SOCK_SEQPACKET socket at DIR/NAME. Bound through
// /proc/self/fd/N/NAME so a run dir deeper than sun_path's 108 bytes works.
Result<UniqueFd> listen_unix(const UniqueFd& dir, const char* name, int backlog) {
    UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s) return ErrnoErr("socket");
    ::unlinkat(dir.get(), name, 0);
    std::string path = in_dir(dir, name);
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) return ErrnoErr("bind ", name);
    ::fchmodat(dir.get(), name, 0600, 0);
    if (::listen(s.get(), backlog) < 0) return ErrnoErr("listen ", name);
    return s;
}

// The console socket the runtime connects to is a SOCK_STREAM socket (runc's
// recvtty protocol: one message carrying the master fd).
Result<UniqueFd> listen_console(const UniqueFd& dir) {
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) return ErrnoErr("socket");
    ::unlinkat(dir.get(), proto::kConsoleSocket, 0);
    std::string path = in_dir(dir, proto::kConsoleSocket);
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) return ErrnoErr("bind console socket");
    if (::listen(s.get(), 1) < 0) return ErrnoErr("listen console socket");
    return s;
}

Result<UniqueFd> recv_fd(int sock) {
    char buf[256];
    struct msghdr msg {};
    struct iovec iov {buf, sizeof buf};
    alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))] = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof ctrl;
    if (::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) < 0) return ErrnoErr("receive the pty master");
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS) return Err("receive the pty master: no fd in the message");
    int fd;
    std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return UniqueFd(fd);
}

Result<void> set_nonblock(int fd) {
    int fl = ::fcntl(fd, F_GETFL);
    if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return ErrnoErr("fcntl O_NONBLOCK");
    return {};
}

struct Pipe {
    UniqueFd r, w;
};
Result<Pipe> make_pipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return ErrnoErr("pipe");
    return Pipe{UniqueFd(p[0]), UniqueFd(p[1])};
}

}  // namespace

Result<std::string> parse_detach_keys(const std::string& spec) {
    std::string keys;
    if (spec.empty()) return keys;
    for (const auto& k : split(spec, ',')) {
        if (k.size() == 1) {
            keys.push_back(k[0]);
        } else if (k.size() == 6 && k.rfind("ctrl-", 0) == 0) {
            char c = k[5];
            if (c >= 'a' && c <= 'z') keys.push_back(char(c - 'a' + 1));
            else if (c >= '@' && c <= '_') keys.push_back(char(c - '@'));
            else return Err("--detach-keys: invalid key ", quote(k));
        } else {
            return Err("--detach-keys: invalid key ", quote(k));
        }
    }
    return keys;
}

void Monitor::watch(int fd, uint32_t events, uint64_t tag) {
    struct epoll_event ev {};
    ev.events = events;
    ev.data.u64 = tag;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0 && errno == EEXIST)
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
}

void Monitor::unwatch(int fd) { ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr); }

Result<void> Monitor::setup_io() {
    detach_keys_ = TRY(parse_detach_keys(o_.detach_keys));
    run_dir_ = UniqueFd(::open(o_.run_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!run_dir_) return ErrnoErr("open ", o_.run_dir);
    // SIGCHLD (and the signals that must not kill the shim) are read from a
    // signalfd; they are blocked before the first fork so none is missed.
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) sigaddset(&set, s);
    if (::sigprocmask(SIG_BLOCK, &set, nullptr) < 0) return ErrnoErr("sigprocmask");
    ::signal(SIGPIPE, SIG_IGN);
    signals_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!signals_) return ErrnoErr("signalfd");
    epoll_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_) return ErrnoErr("epoll_create1");
    attach_l_ = TRY(listen_unix(run_dir_, proto::kAttachSocket, 16));
    ctl_l_ = TRY(listen_unix(run_dir_, proto::kCtlSocket, 4));
    TRY(log_.open(o_.log_path, o_.log_size_max));
    return {};
}

Result<pid_t> Monitor::run_create() {
    std::string log = path_join(o_.run_dir, proto::kRuntimeLog);
    std::string pid_file = o_.container_pid_file;
    ::unlink(pid_file.c_str());
    ::truncate(log.c_str(), 0);

    Pipe out = TRY(make_pipe()), err = TRY(make_pipe()), in;
    Stdio io;
    std::vector<std::string> args;
    if (o_.exec) {
        args = {"exec", "--detach", "--process", o_.process_file, "--pid-file", pid_file};
    } else if (!o_.restore_dir.empty()) {
        args = {"restore", "--detach", "--bundle", o_.bundle, "--image-path", o_.restore_dir, "--pid-file", pid_file};
        args.insert(args.end(), o_.restore_args.begin(), o_.restore_args.end());
    } else {
        args = {"create", "--bundle", o_.bundle, "--pid-file", pid_file};
    }
    if (o_.terminal) {
        console_l_ = TRY(listen_console(run_dir_));
        args.insert(args.end(), {"--console-socket", path_join(o_.run_dir, proto::kConsoleSocket)});
        io = Stdio{-1, err.w.get(), err.w.get()};
    } else {
        if (o_.stdin_open) in = TRY(make_pipe());
        io = Stdio{in.r.get(), out.w.get(), err.w.get()};
    }
    args.push_back(o_.id);
    const char* verb = o_.exec ? "exec" : o_.restore_dir.empty() ? "create" : "restore";

    pid_t rt = TRY_CTX(spawn(runtime_argv(o_, log, args), io), verb, " ", o_.label());
    out.w.reset();
    err.w.reset();
    in.r.reset();
    out_r_ = std::move(out.r);
    err_r_ = std::move(err.r);
    in_w_ = std::move(in.w);
    TRY(set_nonblock(out_r_.get()));
    TRY(set_nonblock(err_r_.get()));
    std::string err_tail;
    int st = TRY(wait_runtime(rt, nullptr, err_tail));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        std::string msg = last_log_error(log);
        // No JSON log line: what the runtime printed on stderr.
        if (msg.empty()) msg = std::string(trim(err_tail));
        if (msg.empty()) msg = cat(o_.runtime, " ", describe_status(st));
        return Err(verb, " ", o_.label(), ": ", msg);
    }
    auto text = read_file(pid_file);
    auto pid = text ? parse_i64(trim(*text)) : std::nullopt;
    if (!pid || *pid <= 0) return Err(verb, " ", o_.label(), ": the runtime wrote no pid to ", pid_file);
    return pid_t(*pid);
}

Result<void> Monitor::run_start() {
    std::string log = path_join(o_.run_dir, proto::kRuntimeLog);
    ::truncate(log.c_str(), 0);
    Pipe cap = TRY(make_pipe());
    pid_t rt = TRY_CTX(spawn(runtime_argv(o_, log, {"start", o_.id}), Stdio{-1, cap.w.get(), cap.w.get()}), "start ",
                       o_.id);
    cap.w.reset();
    TRY(set_nonblock(cap.r.get()));
    std::string captured;
    int st = TRY(wait_runtime(rt, &cap.r, captured));
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return {};
    std::string msg = last_log_error(log);
    if (msg.empty()) msg = std::string(trim(captured));
    if (msg.empty()) msg = cat(o_.runtime, " ", describe_status(st));
    return Err("start ", o_.id, ": ", msg);
}

// Waits for the runtime while copying what the container's pipes (or pty)
// carry to the log. Hooks run before create and start return and may write
// there (through the init's /proc/PID/fd/1), and so may the runtime itself
// (its stderr is the container's during create). Once 64 KiB fill a pipe its
// writer, and the runtime waiting for it, would wait for the shim forever.
// `capture` (the runtime's own stdout and stderr, when they are not the
// container's) is read too; its tail, or stderr's, ends up in `captured`.
Result<int> Monitor::wait_runtime(pid_t rt, UniqueFd* capture, std::string& captured) {
    std::string* err_tail = capture ? nullptr : &captured;
    auto read_capture = [&] {
        for (int i = 0; capture && *capture && i < 1024; ++i) {
            ssize_t n = ::read(capture->get(), g_buf, sizeof g_buf);
            if (n > 0) {
                keep_tail(captured, g_buf, size_t(n));
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EINTR)) capture->reset();
            break;
        }
    };
    int st = 0;
    for (;;) {
        pid_t p = ::waitpid(rt, &st, WNOHANG);
        if (p == rt) break;
        if (p < 0 && errno != EINTR) return ErrnoErr("wait for ", o_.runtime);
        // poll skips negative fds; a closed pipe is -1.
        struct pollfd fds[5] = {{signals_.get(), POLLIN, 0},
                                {out_r_.get(), POLLIN, 0},
                                {err_r_.get(), POLLIN, 0},
                                {master_.get(), POLLIN, 0},
                                {capture ? capture->get() : -1, POLLIN, 0}};
        if (::poll(fds, 5, -1) < 0) {
            if (errno == EINTR) continue;
            return ErrnoErr("poll");
        }
        if (fds[0].revents) {
            // SIGCHLD only says "check": the runtime is waited for above, other
            // children by the loop's first reap(). The rest are ignored anyway
            // (a SIGHUP's reopen is moot: the log was opened just now).
            struct signalfd_siginfo si;
            while (::read(signals_.get(), &si, sizeof si) == sizeof si) {
            }
        }
        if (fds[1].revents) copy_to_log(out_r_, Stream::Stdout, nullptr);
        if (fds[2].revents) copy_to_log(err_r_, Stream::Stderr, err_tail);
        if (fds[3].revents) copy_to_log(master_, Stream::Stdout, nullptr);
        if (fds[4].revents) read_capture();
    }
    // What is in the pipes now was written before the runtime exited.
    for (int i = 0; i < 1024 && copy_to_log(out_r_, Stream::Stdout, nullptr); ++i) {
    }
    for (int i = 0; i < 1024 && copy_to_log(err_r_, Stream::Stderr, err_tail); ++i) {
    }
    read_capture();
    return st;
}

// One read of output (non-blocking) into the log, while no attach client can
// be connected yet. False when there was nothing; EOF or an error closes fd.
bool Monitor::copy_to_log(UniqueFd& fd, Stream s, std::string* tail) {
    if (!fd) return false;
    ssize_t n = ::read(fd.get(), g_buf + 1, proto::kMaxPayload);
    if (n > 0) {
        if (auto r = log_.write(s, g_buf + 1, size_t(n)); !r) log::warn(r.error().what());
        if (tail) keep_tail(*tail, g_buf + 1, size_t(n));
        return true;
    }
    // EIO: a pty master whose last slave closed.
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) fd.reset();
    return false;
}

Result<void> Monitor::receive_console() {
    // The runtime connected and sent the master before it exited.
    set_nonblock(console_l_.get());
    UniqueFd conn(::accept4(console_l_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) return ErrnoErr("the runtime did not connect to the console socket");
    master_ = TRY(recv_fd(conn.get()));
    TRY(set_nonblock(master_.get()));
    console_l_.reset();
    ::unlinkat(run_dir_.get(), proto::kConsoleSocket, 0);
    return {};
}

void Monitor::cleanup_failed_create() {
    if (o_.exec) {
        if (pid_ > 0) ::kill(pid_, SIGKILL);
        return;
    }
    auto r = run_captured(runtime_argv(o_, path_join(o_.run_dir, proto::kRuntimeLog), {"delete", "--force", o_.id}),
                          path_join(o_.run_dir, proto::kRuntimeLog));
    if (!r) log::warn(cat("delete ", o_.id, " after a failed start: ", r.error().what()));
}

Result<pid_t> Monitor::launch() {
    TRY(setup_io());
    pid_ = TRY(run_create());
    auto rest = [&]() -> Result<void> {
        if (o_.terminal) TRY(receive_console());
        oom_path_ = oom_counter_path(pid_);
        oom_before_ = read_oom_kills(oom_path_);
        if (o_.start) TRY(run_start());
        return {};
    }();
    if (!rest) {
        cleanup_failed_create();
        return std::unexpected(rest.error());
    }
    ::clock_gettime(CLOCK_REALTIME, &record_.started);
    record_.id = o_.id;
    record_.exec_id = o_.exec_id;
    record_.pid = pid_;
    watch(signals_.get(), EPOLLIN, kSignal);
    watch(attach_l_.get(), EPOLLIN, kAttachListen);
    watch(ctl_l_.get(), EPOLLIN, kCtlListen);
    if (master_) {
        watch(master_.get(), EPOLLIN, kMaster);
        err_r_.reset();  // only the runtime's own messages went there
    } else if (out_r_) {
        watch(out_r_.get(), EPOLLIN, kOut);
    }
    if (err_r_) watch(err_r_.get(), EPOLLIN, kErr);
    if (in_w_) set_nonblock(in_w_.get());
    return pid_;
}

int Monitor::run() {
    reap();  // a process that exited before the loop started
    struct epoll_event evs[16];
    while (!done_) {
        int n = ::epoll_wait(epoll_.get(), evs, 16, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            log::error(cat("epoll_wait: ", std::strerror(errno)));
            return 1;
        }
        for (int i = 0; i < n && !done_; ++i) {
            uint64_t tag = evs[i].data.u64;
            uint32_t ev = evs[i].events;
            switch (tag) {
            case kSignal: on_signal(); break;
            case kOut: on_output(out_r_, Stream::Stdout, ev); break;
            case kErr: on_output(err_r_, Stream::Stderr, ev); break;
            case kMaster:
                if (ev & EPOLLOUT) flush_stdin();
                if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_output(master_, Stream::Stdout, ev);
                break;
            case kStdinPipe: flush_stdin(); break;
            case kAttachListen: on_accept(attach_l_.get(), false); break;
            case kCtlListen: on_accept(ctl_l_.get(), true); break;
            default:
                if (tag >= kClient && tag < kClient + kMaxClients) on_client(size_t(tag - kClient));
            }
        }
    }
    return 0;
}

void Monitor::on_signal() {
    struct signalfd_siginfo si;
    while (::read(signals_.get(), &si, sizeof si) == sizeof si) {
        switch (si.ssi_signo) {
        case SIGCHLD: reap(); break;
        case SIGHUP:  // like a `reopen-log` control message
            if (auto r = log_.reopen(); !r) log::warn(r.error().what());
            break;
        default:
            // SIGTERM/SIGINT/...: the shim keeps watching; nothing is forwarded.
            log::info(cat("ignoring ", strsignal(int(si.ssi_signo))));
        }
    }
}

void Monitor::reap() {
    int st;
    pid_t p;
    // Every child: the container, and orphans reparented to the subreaper.
    while ((p = ::waitpid(-1, &st, WNOHANG)) > 0) {
        if (p == pid_ && !exited_) {
            exited_ = true;
            record_.status = st;
            ::clock_gettime(CLOCK_REALTIME, &record_.exited);
        }
    }
    if (exited_ && !done_) finish();
}

void Monitor::on_output(UniqueFd& fd, Stream s, uint32_t events) {
    ssize_t n = ::read(fd.get(), g_buf + 1, proto::kMaxPayload);
    if (n > 0) {
        if (auto r = log_.write(s, g_buf + 1, size_t(n)); !r) log::warn(r.error().what());
        broadcast(s == Stream::Stdout ? proto::kStdout : proto::kStderr, g_buf + 1, size_t(n));
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR) && !(events & (EPOLLHUP | EPOLLERR))) return;
    // EOF, or EIO from a pty master whose last slave closed.
    unwatch(fd.get());
    if (&fd == &master_) pending_len_ = 0;
    fd.reset();
}

// After the exit, what is still in the pipe was written before it.
void Monitor::drain(UniqueFd& fd, Stream s) {
    for (int i = 0; fd && i < 1024; ++i) {
        ssize_t n = ::read(fd.get(), g_buf + 1, proto::kMaxPayload);
        if (n <= 0) break;
        if (auto r = log_.write(s, g_buf + 1, size_t(n)); !r) log::warn(r.error().what());
        broadcast(s == Stream::Stdout ? proto::kStdout : proto::kStderr, g_buf + 1, size_t(n));
    }
}

void Monitor::broadcast(unsigned char type, const char* data, size_t len) {
    struct iovec iov[2] = {{&type, 1}, {const_cast<char*>(data), len}};
    struct msghdr msg {};
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    for (size_t i = 0; i < kMaxClients; ++i) {
        Client& c = clients_[i];
        if (!c.fd || c.ctl) continue;
        // A client that cannot keep up is dropped: the container never waits.
        if (::sendmsg(c.fd.get(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
            log::warn(cat("attach client dropped: ", std::strerror(errno)));
            drop_client(i);
        }
    }
}

void Monitor::on_accept(int listen_fd, bool ctl) {
    UniqueFd c(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!c) return;
    for (size_t i = 0; i < kMaxClients; ++i) {
        if (clients_[i].fd) continue;
        int sz = 1 << 20;
        ::setsockopt(c.get(), SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
        watch(c.get(), pending_len_ ? 0u : uint32_t(EPOLLIN), kClient + i);
        if (!ctl) {
            unsigned char t = proto::kAttached;
            ::send(c.get(), &t, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        }
        clients_[i] = Client{std::move(c), ctl, 0};
        return;
    }
    log::warn("attach: too many clients");
}

void Monitor::drop_client(size_t i) {
    unwatch(clients_[i].fd.get());
    clients_[i].fd.reset();
}

void Monitor::on_client(size_t i) {
    Client& c = clients_[i];
    if (!c.fd) return;
    static char msg[1 + proto::kMaxPayload];
    ssize_t n = ::recv(c.fd.get(), msg, sizeof msg, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
        drop_client(i);
        return;
    }
    if (c.ctl) {
        on_ctl(c, msg, size_t(n));
        return;
    }
    switch (static_cast<unsigned char>(msg[0])) {
    case proto::kStdin: feed_stdin(c, i, msg + 1, size_t(n - 1)); break;
    case proto::kResize:
        if (auto r = resize(msg + 1, size_t(n - 1)); !r) log::warn(r.error().what());
        break;
    case proto::kStdinEof: close_stdin(); break;
    default: log::warn(cat("attach: unknown message type ", int(msg[0])));
    }
}

void Monitor::on_ctl(Client& c, const char* msg, size_t len) {
    std::string_view cmd = trim(std::string_view(msg, len));
    Result<void> r;
    if (cmd.rfind("resize ", 0) == 0) {
        r = resize(cmd.data() + 7, cmd.size() - 7);
    } else if (cmd == "reopen-log") {
        r = log_.reopen();
    } else if (cmd == "stdin-eof") {
        close_stdin();
    } else if (cmd == "ping") {
    } else {
        r = Err("unknown command ", quote(cmd));
    }
    std::string reply = r ? std::string("ok") : "error " + r.error().what();
    ::send(c.fd.get(), reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

// Stdin from a client, with the detach keys taken out: typing them detaches
// that client (it gets kDetached and is closed); a partial match that breaks
// off is passed on.
void Monitor::feed_stdin(Client& c, size_t i, const char* data, size_t len) {
    if (detach_keys_.empty()) {
        write_stdin(data, len);
        return;
    }
    size_t from = 0;
    for (size_t k = 0; k < len; ++k) {
        if (data[k] == detach_keys_[c.key_match]) {
            if (c.key_match == 0) {
                write_stdin(data + from, k - from);
            }
            if (++c.key_match == detach_keys_.size()) {
                unsigned char t = proto::kDetached;
                ::send(c.fd.get(), &t, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
                drop_client(i);
                return;
            }
            from = k + 1;
            continue;
        }
        if (c.key_match) {
            write_stdin(detach_keys_.data(), c.key_match);
            c.key_match = 0;
            from = k;
            if (data[k] == detach_keys_[0]) {
                --k;  // re-examine it as the start of a new match
                continue;
            }
        }
    }
    if (c.key_match == 0) write_stdin(data + from, len - from);
}

void Monitor::write_stdin(const char* data, size_t len) {
    int fd = master_ ? master_.get() : in_w_.get();
    if (fd < 0 || len == 0) return;
    if (pending_len_) {  // cannot happen while clients are paused; keep order anyway
        len = std::min(len, sizeof pending_ - pending_len_);
        std::memcpy(pending_ + pending_len_, data, len);
        pending_len_ += len;
        return;
    }
    ssize_t n = ::write(fd, data, len);
    if (n < 0) {
        if (errno != EAGAIN) {
            log::warn(cat("write stdin: ", std::strerror(errno)));
            return;
        }
        n = 0;
    }
    if (size_t(n) == len) return;
    len = std::min(len - size_t(n), sizeof pending_);
    std::memcpy(pending_, data + n, len);
    pending_len_ = len;
    pending_off_ = 0;
    pause_clients(true);
    if (master_) watch(master_.get(), EPOLLIN | EPOLLOUT, kMaster);
    else watch(in_w_.get(), EPOLLOUT, kStdinPipe);
}

void Monitor::flush_stdin() {
    int fd = master_ ? master_.get() : in_w_.get();
    if (fd >= 0 && pending_len_) {
        ssize_t n = ::write(fd, pending_ + pending_off_, pending_len_);
        if (n < 0 && errno == EAGAIN) return;
        if (n > 0) {
            pending_off_ += size_t(n);
            pending_len_ -= size_t(n);
            if (pending_len_) return;
        }
        pending_len_ = 0;  // written, or the reader is gone
    }
    if (master_) watch(master_.get(), EPOLLIN, kMaster);
    else if (in_w_) unwatch(in_w_.get());
    pause_clients(false);
}

void Monitor::pause_clients(bool paused) {
    for (size_t i = 0; i < kMaxClients; ++i)
        if (clients_[i].fd && !clients_[i].ctl) watch(clients_[i].fd.get(), paused ? 0u : uint32_t(EPOLLIN), kClient + i);
}

void Monitor::close_stdin() {
    if (!in_w_) return;
    if (pending_len_) unwatch(in_w_.get());
    pending_len_ = 0;
    in_w_.reset();
    pause_clients(false);
}

Result<void> Monitor::resize(const char* text, size_t len) {
    auto f = split(trim(std::string_view(text, len)), ' ');
    if (f.size() != 2) return Err("resize: want \"ROWS COLS\"");
    auto rows = parse_u64(f[0]), cols = parse_u64(f[1]);
    if (!rows || !cols || *rows > 65535 || *cols > 65535) return Err("resize: bad size ", quote(std::string_view(text, len)));
    if (!master_) return Err("resize: the container has no terminal");
    struct winsize ws {};
    ws.ws_row = uint16_t(*rows);
    ws.ws_col = uint16_t(*cols);
    if (::ioctl(master_.get(), TIOCSWINSZ, &ws) < 0) return ErrnoErr("resize: TIOCSWINSZ");
    return {};
}

void Monitor::finish() {
    done_ = true;
    drain(out_r_, Stream::Stdout);
    drain(err_r_, Stream::Stderr);
    drain(master_, Stream::Stdout);
    record_.oom_killed = read_oom_kills(oom_path_) > oom_before_;
    std::string rec = record_.json();
    if (std::string path = o_.exit_path(); !path.empty()) {
        if (auto r = write_file_atomic(path, rec, 0644); !r) log::error(r.error().what());
    }
    // Clients see the whole output, then the exit record, then EOF.
    std::string_view body(rec.data(), rec.size() - 1);
    broadcast(proto::kExit, body.data(), body.size());
    for (size_t i = 0; i < kMaxClients; ++i)
        if (clients_[i].fd) drop_client(i);
    if (o_.remove && !o_.exec) {
        std::string log = path_join(o_.run_dir, proto::kRuntimeLog);
        auto r = run_captured(runtime_argv(o_, log, {"delete", "--force", o_.id}), log);
        if (!r) log::error(cat("delete ", o_.id, ": ", r.error().what()));
    }
    remove_run_files();
}

void Monitor::remove_run_files() {
    if (!run_dir_) return;
    for (const char* f : {proto::kAttachSocket, proto::kCtlSocket, proto::kConsoleSocket, proto::kShimPidFile})
        ::unlinkat(run_dir_.get(), f, 0);
}

}  // namespace berth::shim
