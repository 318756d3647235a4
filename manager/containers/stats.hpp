// A container's resource use for `berth stats`, read from its cgroup (found
// through /proc/PID/cgroup of its init, on cgroup v2, v1 or hybrid hosts).
#pragma once
#include <cstdint>
#include <sys/types.h>

namespace berth::manager {

struct CgroupSample {
    uint64_t cpu_ns = 0;        // CPU time used, all cpus
    uint64_t memory = 0;        // bytes in use (without the page cache docker leaves out too)
    uint64_t memory_limit = 0;  // 0: none (or the machine's RAM)
    uint64_t pids = 0;
};

CgroupSample sample_container(int64_t pid);

}  // namespace berth::manager
