// The attach and control sockets' messages (shim/README.md describes them for
// clients). Both are SOCK_SEQPACKET unix sockets in the run dir, so every
// message is one packet and needs no length prefix.
#pragma once
#include <cstddef>

namespace berth::shim::proto {

// Attach socket, shim -> client: one type byte, then the payload.
enum Out : unsigned char {
    kStdout = 1,    // container output (in terminal mode everything is stdout)
    kStderr = 2,
    kExit = 3,      // the exit record (the exit file's JSON); the shim then closes
    kDetached = 4,  // the client typed the detach keys; the shim then closes
    kAttached = 5,  // first packet: the client is registered and gets all output from here on
};

// Attach socket, client -> shim.
enum In : unsigned char {
    kStdin = 0,      // bytes for the container's stdin (pipe or pty)
    kResize = 1,     // "ROWS COLS" in ASCII: the pty's window size
    kStdinEof = 2,   // close the stdin pipe (pipe mode only)
};

// The largest payload the shim sends or reads in one packet.
constexpr size_t kMaxPayload = 16384;

// File names in the run dir.
constexpr const char* kAttachSocket = "attach";
constexpr const char* kCtlSocket = "ctl";
constexpr const char* kConsoleSocket = "console.sock";
constexpr const char* kShimPidFile = "shim.pid";
constexpr const char* kContainerPidFile = "container.pid";
constexpr const char* kRuntimeLog = "runtime.log";
constexpr const char* kShimLog = "shim.log";

}  // namespace berth::shim::proto
