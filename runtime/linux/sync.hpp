// The whole parent <-> container-init protocol: named messages over one
// SOCK_SEQPACKET socketpair (message boundaries kept, EOF when a side dies).
//
//   parent                              init
//   clone3 ------------------------->   (blocked in recv)
//   cgroups, id maps, oom_score_adj
//   Go ----------------------------->   join/unshare namespaces, mounts
//                                 <--   CreateRuntimeHooks   (only with hooks)
//   prestart+createRuntime hooks
//   HooksDone ---------------------->   createContainer hooks, pivot_root,
//                                       /dev, hostname, sysctl, terminal,
//                                       resolve the executable, credentials
//                                 <--   SeccompListener + the fd (SCM_RIGHTS)
//   send it to the seccomp agent          (only with SCMP_ACT_NOTIFY rules)
//                                 <--   Ready | Error(errno, message)
//   write state.json, exit              open exec fifo (blocks until start)
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "libutil/error.hpp"

namespace berth::runtime {

enum class SyncMsg : uint8_t {
    Go = 1,
    CreateRuntimeHooks,
    HooksDone,
    Ready,
    Error,
    SeccompListener,  // followed by a message carrying the listener fd
};

struct SyncPacket {
    SyncMsg type{};
    int code = 0;      // errno, for Error
    std::string text;  // message, for Error
};

Result<void> sync_send(int fd, SyncMsg type, int code = 0, std::string_view text = {});
// Receives one message; EOF gives an error "container init exited unexpectedly".
Result<SyncPacket> sync_recv(int fd);
// Receives one message and checks its type; an Error message becomes the
// returned error (with the init's errno and text).
Result<void> sync_expect(int fd, SyncMsg want);

}  // namespace berth::runtime
