// seccomp-agent SOCKET LOG ERRNO: a seccomp notify agent for the tests.
//
// Listens on the unix stream socket SOCKET for runtimes handing over a
// listener fd (linux.seccomp.listenerPath): each connection's message is the
// ContainerProcessState JSON with the fd in SCM_RIGHTS. Writes that JSON as
// one line "state JSON" to LOG, then answers every notified syscall on the fd
// with the error ERRNO and logs "notif NR PID". Runs until killed (SIGTERM).
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "seccomp-agent: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

void log_line(FILE* log, const std::string& line) {
    std::fprintf(log, "%s\n", line.c_str());
    std::fflush(log);
}

// One handed-over listener: the payload and the fd, or -1 on a bad message.
int receive(int conn, FILE* log) {
    char buf[65536];
    char ctrl[CMSG_SPACE(sizeof(int))] = {};
    struct iovec iov {buf, sizeof buf - 1};
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof ctrl;
    ssize_t n = ::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    if (n <= 0) return -1;
    buf[n] = 0;
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS) {
        log_line(log, std::string("bad-message ") + buf);
        return -1;
    }
    int fd;
    std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    log_line(log, std::string("state ") + buf);
    return fd;
}

void answer(int fd, int err, FILE* log) {
    struct seccomp_notif req {};
    if (::ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) return;  // e.g. the caller died
    log_line(log, "notif " + std::to_string(req.data.nr) + " " + std::to_string(req.pid));
    struct seccomp_notif_resp resp {};
    resp.id = req.id;
    resp.error = -err;
    (void)::ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: seccomp-agent SOCKET LOG ERRNO\n");
        return 2;
    }
    int err = std::atoi(argv[3]);
    FILE* log = std::fopen(argv[2], "a");
    if (!log) die(argv[2]);
    int ls = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0) die("socket");
    struct sockaddr_un sa {};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", argv[1]);
    if (::bind(ls, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) die(argv[1]);
    if (::listen(ls, 16) < 0) die("listen");

    std::vector<pollfd> fds{{ls, POLLIN, 0}};
    for (;;) {
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) continue;
            die("poll");
        }
        if (fds[0].revents & POLLIN) {
            int conn = ::accept4(ls, nullptr, nullptr, SOCK_CLOEXEC);
            if (conn >= 0) {
                int fd = receive(conn, log);
                ::close(conn);
                if (fd >= 0) fds.push_back({fd, POLLIN, 0});
            }
        }
        for (size_t i = 1; i < fds.size();) {
            if (fds[i].revents & POLLIN) answer(fds[i].fd, err, log);
            if (fds[i].revents & (POLLHUP | POLLERR | POLLNVAL)) {
                // Every process under the filter is gone.
                ::close(fds[i].fd);
                fds.erase(fds.begin() + static_cast<long>(i));
                continue;
            }
            ++i;
        }
    }
}
