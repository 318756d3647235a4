// `criu swrk FD`, CRIU's RPC service on a SOCK_SEQPACKET socket we hand it,
// spoken directly for what libcriu has no setter for (--lazy-pages): one
// request per process, CRIU's notifications answered as they come, the
// final reply, then CRIU exits (as libcriu drives it). The messages are
// built and parsed by criu_request.hpp.
#pragma once
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/fd.hpp"
#include "runtime/container/criu_request.hpp"

namespace berth::runtime {

// A notification ("status-ready", "orphan-pts-master", "post-dump", ...)
// and the fd CRIU sent with it (the new pty master), if any.
struct CriuNotice {
    std::string script;
    UniqueFd fd;
    int pid = 0;  // the root task, with "setup-namespaces"
};
using CriuNoticeHandler = std::function<Result<void>(CriuNotice&)>;

// Sends `request` on `sock`, answers each notification after `on_notice`
// (whose failure is answered as a failed script, which makes CRIU give up,
// and returned) and returns CRIU's final reply. EOF before it is an error.
Result<CriuReply> criu_converse(int sock, const std::string& request, const CriuNoticeHandler& on_notice);

class CriuSwrk {
public:
    // Starts `criu swrk N` as our child. It keeps fds 0-2 and `inherit`, at
    // their numbers (inherit_fd names them so); nothing else of ours.
    // SIGCHLD is unblocked in it, as libcriu does: CRIU catches its
    // children's failures with it.
    static Result<CriuSwrk> start(const std::string& criu, const std::vector<int>& inherit);

    CriuSwrk(CriuSwrk&& o) noexcept;
    CriuSwrk& operator=(CriuSwrk&&) = delete;
    CriuSwrk(const CriuSwrk&) = delete;
    // Hangs up and reaps it if wait() was not called: CRIU sees the socket
    // close and gives up (never a SIGKILL mid-dump, which would leave the
    // container frozen).
    ~CriuSwrk();

    int socket() const { return sock_.get(); }
    // Hangs up and waits for it to exit; its wait status.
    Result<int> wait();

private:
    CriuSwrk(pid_t pid, UniqueFd sock) : pid_(pid), sock_(std::move(sock)) {}
    pid_t pid_ = -1;
    UniqueFd sock_;
};

}  // namespace berth::runtime
