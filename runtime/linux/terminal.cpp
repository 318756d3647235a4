#include "runtime/linux/terminal.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "libutil/strings.hpp"
#include "runtime/linux/devices.hpp"

namespace berth::runtime {

Result<UniqueFd> connect_console_socket(const std::string& path) {
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) return ErrnoErr("socket");
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return Err("--console-socket ", path, ": path too long");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        return ErrnoErr("connect to --console-socket ", path);
    return s;
}

Result<Console> open_console(const std::string& socket_path) {
    Console c;
    if (!socket_path.empty()) {
        c.fd = TRY(connect_console_socket(socket_path));
        return c;
    }
    int cp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cp) < 0) return ErrnoErr("socketpair");
    c.peer.reset(cp[0]);
    c.fd.reset(cp[1]);
    return c;
}

Result<void> send_fd(int socket, int fd, const std::string& name) {
    struct msghdr msg {};
    struct iovec iov {const_cast<char*>(name.data()), name.size()};
    char ctrl[CMSG_SPACE(sizeof(int))] = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof ctrl;
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    if (::sendmsg(socket, &msg, MSG_NOSIGNAL) < 0) return ErrnoErr("send fd ", quote(name));
    return {};
}

Result<UniqueFd> recv_fd(int socket) {
    char buf[4096];
    struct msghdr msg {};
    struct iovec iov {buf, sizeof buf};
    char ctrl[CMSG_SPACE(sizeof(int))] = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof ctrl;
    if (::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC) < 0) return ErrnoErr("receive fd");
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS) return Err("receive fd: no fd in the message");
    int fd;
    std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return UniqueFd(fd);
}

Result<void> setup_terminal(int socket, const oci::Process& p, bool console) {
    UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master) return ErrnoErr("open /dev/ptmx");
    if (::unlockpt(master.get()) < 0) return ErrnoErr("unlockpt");
    char name[64];
    if (::ptsname_r(master.get(), name, sizeof name) != 0) return ErrnoErr("ptsname");
    // The peer straight from the master (no path lookup in the container's
    // /dev/pts); by name only on kernels without TIOCGPTPEER.
    UniqueFd slave(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) slave.reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) return ErrnoErr("open ", name);
    if (p.console_size) {
        struct winsize ws {};
        ws.ws_row = static_cast<unsigned short>(p.console_size->height);
        ws.ws_col = static_cast<unsigned short>(p.console_size->width);
        if (::ioctl(slave.get(), TIOCSWINSZ, &ws) < 0) return ErrnoErr("set console size");
    }
    if (console) TRY(mount_console(slave.get()));
    TRY(send_fd(socket, master.get(), name));
    for (int i = 0; i < 3; ++i)
        if (::dup3(slave.get(), i, 0) < 0) return ErrnoErr("dup pty slave to ", i);
    if (::ioctl(0, TIOCSCTTY, 0) < 0) return ErrnoErr("set the controlling terminal");
    return {};
}

}  // namespace berth::runtime
