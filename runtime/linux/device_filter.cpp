#include "runtime/linux/device_filter.hpp"

#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "libutil/fd.hpp"
#include "libutil/strings.hpp"

namespace berth::runtime {

namespace {

BpfInsn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    return BpfInsn{code, static_cast<uint8_t>((dst & 0xf) | (src << 4)), off, imm};
}
BpfInsn ldx_w(uint8_t dst, uint8_t src, int16_t off) { return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0); }
BpfInsn alu32_imm(uint8_t op, uint8_t dst, int32_t imm) { return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm); }
BpfInsn mov32_reg(uint8_t dst, uint8_t src) { return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0); }
BpfInsn mov64_imm(uint8_t dst, int32_t imm) { return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
BpfInsn jne_imm(uint8_t dst, int32_t imm, int16_t off) { return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm); }
BpfInsn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

// The rules every container gets after the spec's (runc's list): mknod of
// anything, the standard character devices, ptys and tun.
std::vector<oci::DeviceCgroupRule> default_allowed() {
    auto rule = [](const char* type, int64_t major, int64_t minor, const char* access) {
        oci::DeviceCgroupRule r;
        r.allow = true;
        r.type = type;
        if (major >= 0) r.major = major;
        if (minor >= 0) r.minor = minor;
        r.access = access;
        return r;
    };
    return {rule("c", -1, -1, "m"),   rule("b", -1, -1, "m"),   rule("c", 1, 3, "rwm"), rule("c", 1, 8, "rwm"),
            rule("c", 1, 7, "rwm"),   rule("c", 5, 0, "rwm"),   rule("c", 1, 5, "rwm"), rule("c", 1, 9, "rwm"),
            rule("c", 5, 1, "rwm"),   rule("c", 136, -1, "rwm"), rule("c", 5, 2, "rwm"), rule("c", 10, 200, "rwm")};
}

}  // namespace

Result<std::vector<BpfInsn>> device_filter_program(const std::vector<oci::DeviceCgroupRule>& spec_rules) {
    std::vector<oci::DeviceCgroupRule> rules = spec_rules;
    for (auto& r : default_allowed()) rules.push_back(r);

    // r1 = ctx: {u32 access_type (access << 16 | type), u32 major, u32 minor}
    std::vector<BpfInsn> p = {
        ldx_w(2, 1, 0), alu32_imm(BPF_AND, 2, 0xffff),  // r2 = type
        ldx_w(3, 1, 0), alu32_imm(BPF_RSH, 3, 16),      // r3 = access
        ldx_w(4, 1, 4),                                  // r4 = major
        ldx_w(5, 1, 8),                                  // r5 = minor
    };
    // The last matching rule decides: test them from the last one back.
    for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
        const auto& r = *it;
        std::vector<BpfInsn> block;
        std::vector<size_t> jumps;  // indexes of "goto next rule"
        if (!r.type.empty() && r.type != "a") {
            int t = r.type == "b" ? BPF_DEVCG_DEV_BLOCK : r.type == "c" ? BPF_DEVCG_DEV_CHAR : -1;
            if (t < 0) return Err("linux.resources.devices: unknown type ", quote(r.type));
            jumps.push_back(block.size());
            block.push_back(jne_imm(2, t, 0));
        }
        int acc = 0;
        for (char c : r.access.empty() ? std::string("rwm") : r.access) {
            if (c == 'r') acc |= BPF_DEVCG_ACC_READ;
            else if (c == 'w') acc |= BPF_DEVCG_ACC_WRITE;
            else if (c == 'm') acc |= BPF_DEVCG_ACC_MKNOD;
            else return Err("linux.resources.devices: unknown access ", quote(r.access));
        }
        if (acc != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
            // Every requested access must be in the rule's.
            block.push_back(mov32_reg(0, 3));
            block.push_back(alu32_imm(BPF_AND, 0, ~acc));
            jumps.push_back(block.size());
            block.push_back(jne_imm(0, 0, 0));
        }
        if (r.major && *r.major >= 0) {
            jumps.push_back(block.size());
            block.push_back(jne_imm(4, static_cast<int32_t>(*r.major), 0));
        }
        if (r.minor && *r.minor >= 0) {
            jumps.push_back(block.size());
            block.push_back(jne_imm(5, static_cast<int32_t>(*r.minor), 0));
        }
        block.push_back(mov64_imm(0, r.allow ? 1 : 0));
        block.push_back(exit_insn());
        for (size_t j : jumps) block[j].off = static_cast<int16_t>(block.size() - j - 1);
        p.insert(p.end(), block.begin(), block.end());
        // A rule matching everything ends the program: the verifier refuses
        // unreachable instructions.
        if (jumps.empty()) return p;
    }
    p.push_back(mov64_imm(0, 0));  // nothing matched: deny
    p.push_back(exit_insn());
    return p;
}

Result<void> attach_device_filter(const std::string& cgroup_dir, const std::vector<BpfInsn>& prog) {
    static_assert(sizeof(BpfInsn) == sizeof(struct bpf_insn));
    union bpf_attr load;
    std::memset(&load, 0, sizeof load);
    load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    load.insns = reinterpret_cast<uint64_t>(prog.data());
    load.insn_cnt = static_cast<uint32_t>(prog.size());
    static const char kLicense[] = "Apache";
    load.license = reinterpret_cast<uint64_t>(kLicense);
    UniqueFd fd(static_cast<int>(::syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load)));
    if (!fd) return ErrnoErr("load the device filter (eBPF)");
    UniqueFd cg(::open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cg) return ErrnoErr("open ", cgroup_dir);
    union bpf_attr att;
    std::memset(&att, 0, sizeof att);
    att.target_fd = static_cast<uint32_t>(cg.get());
    att.attach_bpf_fd = static_cast<uint32_t>(fd.get());
    att.attach_type = BPF_CGROUP_DEVICE;
    att.attach_flags = BPF_F_ALLOW_MULTI;
    if (::syscall(SYS_bpf, BPF_PROG_ATTACH, &att, sizeof att) < 0)
        return ErrnoErr("attach the device filter to ", cgroup_dir);
    return {};
}

}  // namespace berth::runtime
