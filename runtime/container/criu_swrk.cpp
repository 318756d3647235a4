#include "runtime/container/criu_swrk.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <utility>

namespace berth::runtime {

namespace {

Result<void> send_message(int sock, const std::string& msg) {
    ssize_t n;
    do {
        n = ::send(sock, msg.data(), msg.size(), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return ErrnoErr("criu swrk: send");
    if (static_cast<size_t>(n) != msg.size()) return Err("criu swrk: short send");
    return {};
}

struct Message {
    std::string bytes;
    UniqueFd fd;
};

// One datagram and the fd that came with it. Its size is peeked first
// (MSG_TRUNC gives the whole length; a peek with no room for control data
// installs no fd).
Result<Message> recv_message(int sock) {
    ssize_t len;
    do {
        len = ::recv(sock, nullptr, 0, MSG_PEEK | MSG_TRUNC);
    } while (len < 0 && errno == EINTR);
    if (len < 0) return ErrnoErr("criu swrk: receive");
    if (len == 0) return Err("criu swrk exited without a reply");
    Message m;
    m.bytes.resize(static_cast<size_t>(len));
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    iovec iov{m.bytes.data(), m.bytes.size()};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = ::recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return ErrnoErr("criu swrk: receive");
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
            m.fd.reset(fd);
        }
    if (mh.msg_flags & MSG_CTRUNC) return Err("criu swrk: a message with more fds than expected");
    m.bytes.resize(static_cast<size_t>(n));
    return m;
}

}  // namespace

Result<CriuReply> criu_converse(int sock, const std::string& request, const CriuNoticeHandler& on_notice) {
    TRY(send_message(sock, request));
    for (;;) {
        auto m = TRY(recv_message(sock));
        auto reply = TRY(parse_criu_reply(m.bytes));
        if (reply.kind != CriuReply::Notify) return reply;
        CriuNotice notice{reply.script, std::move(m.fd), reply.notify_pid};
        Result<void> handled = on_notice ? on_notice(notice) : Result<void>{};
        TRY(send_message(sock, pack_notify_ack(handled.has_value())));
        if (!handled) return Wrap(handled.error(), "criu notification ", reply.script);
    }
}

Result<CriuSwrk> CriuSwrk::start(const std::string& criu, const std::vector<int>& inherit) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return ErrnoErr("socketpair for criu swrk");
    UniqueFd ours(sv[0]), theirs(sv[1]);
    std::string fd_arg = std::to_string(theirs.get());
    const char* argv[] = {criu.c_str(), "swrk", fd_arg.c_str(), nullptr};
    pid_t pid = ::fork();
    if (pid < 0) return ErrnoErr("fork for criu swrk");
    if (pid == 0) {
        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        ::sigprocmask(SIG_UNBLOCK, &chld, nullptr);
        ::syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
        ::fcntl(theirs.get(), F_SETFD, 0);
        for (int fd : inherit)
            ::fcntl(fd, F_SETFD, 0);
        ::execv(argv[0], const_cast<char* const*>(argv));
        ::_exit(127);
    }
    return CriuSwrk(pid, std::move(ours));
}

CriuSwrk::CriuSwrk(CriuSwrk&& o) noexcept : pid_(std::exchange(o.pid_, -1)), sock_(std::move(o.sock_)) {}

CriuSwrk::~CriuSwrk() {
    (void)wait();
}

Result<int> CriuSwrk::wait() {
    if (pid_ <= 0) return Err("criu swrk: already waited for");
    sock_.reset();
    int status = 0;
    pid_t r;
    do {
        r = ::waitpid(pid_, &status, 0);
    } while (r < 0 && errno == EINTR);
    pid_ = -1;
    if (r < 0) return ErrnoErr("wait for criu swrk");
    return status;
}

}  // namespace berth::runtime
