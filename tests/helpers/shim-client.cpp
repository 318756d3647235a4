// shim-client: a small client of berth-shim's attach and control sockets,
// for the integration tests (the manager has its own).
//
//   shim-client attach SOCKET [--stdin] [--no-eof] [--resize ROWS COLS]
//                             [--ready FILE] [--exit-record FILE]
//     Prints the container's stdout/stderr on stdout/stderr. --stdin sends
//     this program's stdin (and, at its EOF, a stdin-EOF message unless
//     --no-eof). --ready FILE is created once the shim
//     has registered the client. Exits 0 after the
//     exit record (written to --exit-record FILE) or after being detached
//     ("detached" on stderr), 1 when the shim closes without either.
//   shim-client ctl SOCKET COMMAND...
//     Sends one control command, prints the reply; exits 0 on "ok".
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "shim/protocol.hpp"

namespace proto = berth::shim::proto;

namespace {

int connect_to(const std::string& path) {
    std::string dir = path.substr(0, path.find_last_of('/'));
    std::string name = path.substr(path.find_last_of('/') + 1);
    int d = ::open(dir.empty() ? "/" : dir.c_str(), O_PATH | O_DIRECTORY);
    if (d < 0) {
        std::perror(dir.c_str());
        std::exit(1);
    }
    std::string via = "/proc/self/fd/" + std::to_string(d) + "/" + name;
    int s = ::socket(AF_UNIX, SOCK_SEQPACKET, 0);
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", via.c_str());
    if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
        std::perror(("connect " + path).c_str());
        std::exit(1);
    }
    ::close(d);
    return s;
}

void write_all(int fd, const char* p, size_t n) {
    while (n) {
        ssize_t w = ::write(fd, p, n);
        if (w <= 0) return;
        p += w;
        n -= size_t(w);
    }
}

int attach(int argc, char** argv) {
    int s = connect_to(argv[0]);
    bool use_stdin = false, eof = true;
    std::string ready, exit_record;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--stdin") use_stdin = true;
        else if (a == "--no-eof") eof = false;
        else if (a == "--ready" && i + 1 < argc) ready = argv[++i];
        else if (a == "--exit-record" && i + 1 < argc) exit_record = argv[++i];
        else if (a == "--resize" && i + 2 < argc) {
            std::string m = std::string(1, char(proto::kResize)) + argv[i + 1] + " " + argv[i + 2];
            i += 2;
            ::send(s, m.data(), m.size(), 0);
        } else {
            std::fprintf(stderr, "shim-client attach: bad argument %s\n", a.c_str());
            return 2;
        }
    }
    static char buf[1 + proto::kMaxPayload];
    struct pollfd fds[2] = {{s, POLLIN, 0}, {use_stdin ? 0 : -1, POLLIN, 0}};
    for (;;) {
        if (::poll(fds, 2, -1) < 0) continue;
        if (fds[1].revents) {
            buf[0] = char(proto::kStdin);
            ssize_t n = ::read(0, buf + 1, proto::kMaxPayload);
            if (n > 0) {
                ::send(s, buf, size_t(n) + 1, MSG_NOSIGNAL);
            } else {
                if (eof) {
                    char t = char(proto::kStdinEof);
                    ::send(s, &t, 1, MSG_NOSIGNAL);
                }
                fds[1].fd = -1;
            }
        }
        if (fds[0].revents) {
            ssize_t n = ::recv(s, buf, sizeof buf, 0);
            if (n <= 0) return 1;
            switch (static_cast<unsigned char>(buf[0])) {
            case proto::kStdout: write_all(1, buf + 1, size_t(n - 1)); break;
            case proto::kStderr: write_all(2, buf + 1, size_t(n - 1)); break;
            case proto::kExit:
                if (!exit_record.empty()) {
                    int fd = ::open(exit_record.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
                    write_all(fd, buf + 1, size_t(n - 1));
                    ::close(fd);
                }
                return 0;
            case proto::kDetached: std::fputs("detached\n", stderr); return 0;
            case proto::kAttached:  // registered: all output from now on reaches us
                if (!ready.empty()) {
                    int fd = ::open(ready.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
                    write_all(fd, "attached\n", 9);
                    ::close(fd);
                }
                break;
            }
        }
    }
}

int ctl(int argc, char** argv) {
    int s = connect_to(argv[0]);
    std::string cmd;
    for (int i = 1; i < argc; ++i) cmd += (i > 1 ? " " : "") + std::string(argv[i]);
    ::send(s, cmd.data(), cmd.size(), 0);
    char buf[4096];
    ssize_t n = ::recv(s, buf, sizeof buf - 1, 0);
    if (n <= 0) return 1;
    buf[n] = 0;
    std::printf("%s\n", buf);
    return std::strcmp(buf, "ok") == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 3 && std::strcmp(argv[1], "attach") == 0) return attach(argc - 2, argv + 2);
    if (argc >= 4 && std::strcmp(argv[1], "ctl") == 0) return ctl(argc - 2, argv + 2);
    std::fprintf(stderr, "usage: shim-client attach SOCKET [...] | ctl SOCKET COMMAND...\n");
    return 2;
}
