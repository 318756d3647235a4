// What the shim leaves behind when the container exits: the exit file, one
// JSON object written atomically (write PATH.tmp, fsync, rename), so a reader
// sees no file or the whole record. OOM kills are read from the container's
// memory cgroup (memory.events on cgroup v2, memory.oom_control on v1).
#pragma once
#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <string>

#include "libutil/error.hpp"

namespace berth::shim {

struct ExitRecord {
    std::string id;
    std::string exec_id;   // exec mode only
    pid_t pid = 0;
    int status = 0;        // the raw wait status
    bool oom_killed = false;
    struct timespec started{}, exited{};

    int exit_code() const;  // the code, or 128 + signal
    int signal() const;     // 0 when it exited
    std::string json() const;
};

// The file that counts OOM kills in PID's memory cgroup ("" when none).
std::string oom_counter_path(pid_t pid);
// The "oom_kill N" value in that file (0 when unreadable).
uint64_t read_oom_kills(const std::string& path);

}  // namespace berth::shim
