#include "libutil/fd.hpp"

#include <sys/socket.h>

#include <cstring>

namespace berth {

Result<void> send_fd(int socket, int fd, std::string_view payload) {
    struct msghdr msg {};
    struct iovec iov {const_cast<char*>(payload.data()), payload.size()};
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
    ssize_t w;
    do {
        w = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
    } while (w < 0 && errno == EINTR);
    if (w < 0) return ErrnoErr("send fd");
    if (static_cast<size_t>(w) != payload.size()) return Err("send fd: short write");
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
    ssize_t r;
    do {
        r = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return ErrnoErr("receive fd");
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS) return Err("receive fd: no fd in the message");
    int fd;
    std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return UniqueFd(fd);
}

}  // namespace berth
