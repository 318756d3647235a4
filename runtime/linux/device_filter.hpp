// Device rules on cgroup v2: an eBPF BPF_PROG_TYPE_CGROUP_DEVICE program
// generated from the rules (the semantics of the v1 devices controller and of
// runc's and crun's filters: the last matching rule decides, nothing matching
// is denied), attached to the container's cgroup.
#pragma once
#include <linux/bpf.h>

#include <vector>

#include "libutil/error.hpp"
#include "libutil/oci/spec.hpp"

namespace berth::runtime {

struct BpfInsn {
    uint8_t code;
    uint8_t regs;  // dst (low 4 bits) | src (high 4 bits)
    int16_t off;
    int32_t imm;
};

// The program for `rules` (spec rules, then the default allowed devices).
Result<std::vector<BpfInsn>> device_filter_program(const std::vector<oci::DeviceCgroupRule>& rules);
// Loads the program and attaches it to the cgroup directory `cgroup_dir`.
Result<void> attach_device_filter(const std::string& cgroup_dir, const std::vector<BpfInsn>& prog);

}  // namespace berth::runtime
