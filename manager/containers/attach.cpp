#include "manager/containers/attach.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "libutil/json.hpp"
#include "shim/protocol.hpp"

namespace berth::manager {

namespace {

namespace proto = shim::proto;

Result<void> send_packet(int sock, unsigned char type, const char* data, size_t n) {
    char buf[proto::kMaxPayload + 1];
    buf[0] = static_cast<char>(type);
    if (n) std::memcpy(buf + 1, data, n);
    if (::send(sock, buf, n + 1, MSG_NOSIGNAL) < 0) return ErrnoErr("send to the shim");
    return {};
}

void send_window_size(int sock) {
    winsize ws{};
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0) return;
    std::string size = std::to_string(ws.ws_row) + " " + std::to_string(ws.ws_col);
    (void)send_packet(sock, proto::kResize, size.data(), size.size());
}

bool write_all(int fd, const char* p, size_t n) {
    while (n) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

// The user's terminal in raw mode while attached, restored on every return.
struct RawTerminal {
    termios saved{};
    bool active = false;
    void enter() {
        if (!::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &saved) < 0) return;
        termios raw = saved;
        ::cfmakeraw(&raw);
        active = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    ~RawTerminal() {
        if (active) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    }
};

}  // namespace

Result<UniqueFd> connect_attach(const std::string& run_dir) {
    UniqueFd dir(::open(run_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return ErrnoErr("open ", run_dir);
    UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!s) return ErrnoErr("socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dir.get(), proto::kAttachSocket);
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        return ErrnoErr("connect to ", run_dir, "/", proto::kAttachSocket);
    char buf[16];
    ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
    if (n < 1 || buf[0] != static_cast<char>(proto::kAttached)) return Err("the shim did not accept the attach");
    return s;
}

Result<AttachEnd> attach_stream(int sock, const AttachOptions& o) {
    RawTerminal term;
    bool tty_in = o.tty && ::isatty(STDIN_FILENO);
    if (tty_in) {
        term.enter();
        send_window_size(sock);
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGWINCH);
    if (o.proxy_signal && !o.tty)
        for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) sigaddset(&sigs, s);
    sigset_t old;
    ::sigprocmask(SIG_BLOCK, &sigs, &old);
    UniqueFd sfd(::signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK));
    struct Restore {
        sigset_t m;
        ~Restore() { ::sigprocmask(SIG_SETMASK, &m, nullptr); }
    } restore{old};

    bool stdin_open = o.forward_stdin;
    char buf[proto::kMaxPayload + 1];
    for (;;) {
        pollfd fds[3] = {{sock, POLLIN, 0}, {sfd.get(), POLLIN, 0}, {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
        if (::poll(fds, 3, -1) < 0) {
            if (errno == EINTR) continue;
            return ErrnoErr("poll");
        }
        if (fds[0].revents) {
            ssize_t n = ::recv(sock, buf, sizeof buf, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return Err("the connection to the container's shim was lost");
            switch (static_cast<unsigned char>(buf[0])) {
            case proto::kStdout: write_all(STDOUT_FILENO, buf + 1, static_cast<size_t>(n - 1)); break;
            case proto::kStderr: write_all(STDERR_FILENO, buf + 1, static_cast<size_t>(n - 1)); break;
            case proto::kDetached: return AttachEnd{true, std::nullopt};
            case proto::kExit: {
                AttachEnd end;
                auto v = json::parse(std::string_view(buf + 1, static_cast<size_t>(n - 1)));
                if (v)
                    if (auto* c = v->find("exit_code"); c && c->is_number()) end.exit_code = c->as_int64();
                if (!end.exit_code) end.exit_code = 255;
                return end;
            }
            default: break;
            }
            continue;
        }
        if (fds[1].revents) {
            signalfd_siginfo si;
            while (::read(sfd.get(), &si, sizeof si) == sizeof si) {
                if (si.ssi_signo == SIGWINCH) {
                    if (tty_in) send_window_size(sock);
                } else if (o.proxy_signal) {
                    o.proxy_signal(static_cast<int>(si.ssi_signo));
                }
            }
        }
        if (stdin_open && fds[2].revents) {
            ssize_t n = ::read(STDIN_FILENO, buf, proto::kMaxPayload);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                stdin_open = false;
                if (!o.tty) TRY(send_packet(sock, proto::kStdinEof, nullptr, 0));
                continue;
            }
            TRY(send_packet(sock, proto::kStdin, buf, static_cast<size_t>(n)));
        }
    }
}

}  // namespace berth::manager
