#include "runtime/linux/cgroup_resources.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "libutil/fd.hpp"
#include "libutil/strings.hpp"
#include "runtime/linux/device_filter.hpp"

namespace berth::runtime {

namespace {

using R = oci::Resources;

// Writes an existing cgroup file (no O_CREAT: cgroupfs would answer EACCES
// for a missing one, hiding that the host lacks the knob).
Result<void> put(const CgroupDir& d, const std::string& file, const std::string& value, const char* field) {
    std::string path = d.path + "/" + file;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd && errno == ENOENT)
        return Err("linux.resources.", field, ": not supported on this host (no ", file, " in ", d.path, ")");
    if (!fd || ::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
        return ErrnoErr("linux.resources.", field, ": set ", file, " to ", quote(value));
    return {};
}

bool exists(const CgroupDir& d, const std::string& file) { return ::access((d.path + "/" + file).c_str(), F_OK) == 0; }

std::string max_or(int64_t v) { return v < 0 ? std::string("max") : std::to_string(v); }

// --- devices (v1; cgroup2 uses device_filter.cpp) ---

std::string device_rule(const oci::DeviceCgroupRule& r) {
    std::string t = r.type.empty() ? "a" : r.type;
    if (t == "a") return "a";
    auto num = [](std::optional<int64_t> v) { return v && *v >= 0 ? std::to_string(*v) : std::string("*"); };
    return t + " " + num(r.major) + ":" + num(r.minor) + " " + (r.access.empty() ? "rwm" : r.access);
}

// The devices every container may use whatever the spec says (runc's list).
constexpr const char* kDefaultAllowed[] = {
    "c *:* m",   "b *:* m",   "c 1:3 rwm", "c 1:8 rwm",   "c 1:7 rwm", "c 5:0 rwm",
    "c 1:5 rwm", "c 1:9 rwm", "c 5:1 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm",
};

Result<void> devices_v1(const CgroupDir& d, const std::vector<oci::DeviceCgroupRule>& rules) {
    for (auto& r : rules) TRY(put(d, r.allow ? "devices.allow" : "devices.deny", device_rule(r), "devices"));
    for (auto* rule : kDefaultAllowed) TRY(put(d, "devices.allow", rule, "devices"));
    return {};
}

// --- memory ---

Result<void> memory_v1(const CgroupDir& d, const R::Memory& m) {
    if (m.limit) {
        // memsw must stay >= the limit: when the new limit is above the old
        // memsw, raise memsw first.
        auto r = put(d, "memory.limit_in_bytes", std::to_string(*m.limit), "memory.limit");
        if (!r && m.swap) {
            TRY(put(d, "memory.memsw.limit_in_bytes", std::to_string(*m.swap), "memory.swap"));
            r = put(d, "memory.limit_in_bytes", std::to_string(*m.limit), "memory.limit");
        }
        TRY(r);
    }
    if (m.swap) {
        if (!exists(d, "memory.memsw.limit_in_bytes"))
            return Err("linux.resources.memory.swap: swap accounting is off on this host (no memory.memsw files)");
        TRY(put(d, "memory.memsw.limit_in_bytes", std::to_string(*m.swap), "memory.swap"));
    }
    if (m.reservation) TRY(put(d, "memory.soft_limit_in_bytes", std::to_string(*m.reservation), "memory.reservation"));
    if (m.kernel_tcp) TRY(put(d, "memory.kmem.tcp.limit_in_bytes", std::to_string(*m.kernel_tcp), "memory.kernelTCP"));
    if (m.swappiness) {
        if (*m.swappiness > 100) return Err("linux.resources.memory.swappiness ", *m.swappiness, ": must be 0..100");
        TRY(put(d, "memory.swappiness", std::to_string(*m.swappiness), "memory.swappiness"));
    }
    if (m.disable_oom_killer && *m.disable_oom_killer) TRY(put(d, "memory.oom_control", "1", "memory.disableOOMKiller"));
    if (m.use_hierarchy) TRY(put(d, "memory.use_hierarchy", *m.use_hierarchy ? "1" : "0", "memory.useHierarchy"));
    return {};
}

Result<void> memory_v2(const CgroupDir& d, const R::Memory& m) {
    if (m.limit) TRY(put(d, "memory.max", max_or(*m.limit), "memory.limit"));
    if (m.swap) {
        // spec swap = memory + swap; cgroup2 swap.max is the swap alone.
        std::string v = "max";
        if (*m.swap >= 0) {
            if (!m.limit || *m.limit < 0)
                return Err("linux.resources.memory.swap: needs memory.limit on cgroup v2");
            if (*m.swap < *m.limit) return Err("linux.resources.memory.swap ", *m.swap, ": below memory.limit");
            v = std::to_string(*m.swap - *m.limit);
        }
        TRY(put(d, "memory.swap.max", v, "memory.swap"));
    }
    if (m.reservation) TRY(put(d, "memory.low", max_or(*m.reservation), "memory.reservation"));
    if (m.swappiness) return Err("linux.resources.memory.swappiness: not available on cgroup v2");
    if (m.disable_oom_killer && *m.disable_oom_killer)
        return Err("linux.resources.memory.disableOOMKiller: not available on cgroup v2");
    if (m.kernel_tcp) return Err("linux.resources.memory.kernelTCP: not available on cgroup v2");
    return {};
}

// --- cpu and cpuset ---

Result<void> cpu_v1(const CgroupDir& d, const R::Cpu& c) {
    if (c.shares && *c.shares) TRY(put(d, "cpu.shares", std::to_string(*c.shares), "cpu.shares"));
    if (c.period && *c.period) TRY(put(d, "cpu.cfs_period_us", std::to_string(*c.period), "cpu.period"));
    if (c.quota && *c.quota) TRY(put(d, "cpu.cfs_quota_us", std::to_string(*c.quota), "cpu.quota"));
    if (c.burst) TRY(put(d, "cpu.cfs_burst_us", std::to_string(*c.burst), "cpu.burst"));
    if (c.realtime_period && *c.realtime_period)
        TRY(put(d, "cpu.rt_period_us", std::to_string(*c.realtime_period), "cpu.realtimePeriod"));
    if (c.realtime_runtime && *c.realtime_runtime)
        TRY(put(d, "cpu.rt_runtime_us", std::to_string(*c.realtime_runtime), "cpu.realtimeRuntime"));
    if (c.idle) TRY(put(d, "cpu.idle", std::to_string(*c.idle), "cpu.idle"));
    return {};
}

Result<void> cpu_v2(const CgroupDir& d, const R::Cpu& c) {
    if (c.shares && *c.shares) {
        // runc's conversion of shares [2, 262144] to weight [1, 10000].
        uint64_t s = std::clamp<uint64_t>(*c.shares, 2, 262144);
        TRY(put(d, "cpu.weight", std::to_string(1 + ((s - 2) * 9999) / 262142), "cpu.shares"));
    }
    if ((c.quota && *c.quota) || (c.period && *c.period)) {
        std::string quota = c.quota && *c.quota > 0 ? std::to_string(*c.quota) : "max";
        std::string period = std::to_string(c.period && *c.period ? *c.period : 100000);
        TRY(put(d, "cpu.max", quota + " " + period, "cpu.quota"));
    }
    if (c.burst) TRY(put(d, "cpu.max.burst", std::to_string(*c.burst), "cpu.burst"));
    if (c.idle) TRY(put(d, "cpu.idle", std::to_string(*c.idle), "cpu.idle"));
    if ((c.realtime_runtime && *c.realtime_runtime) || (c.realtime_period && *c.realtime_period))
        return Err("linux.resources.cpu.realtimeRuntime: not available on cgroup v2");
    return {};
}

Result<void> cpuset(const CgroupDir& d, const R::Cpu& c) {
    if (!c.cpus.empty()) TRY(put(d, "cpuset.cpus", c.cpus, "cpu.cpus"));
    if (!c.mems.empty()) TRY(put(d, "cpuset.mems", c.mems, "cpu.mems"));
    return {};
}

// --- block I/O ---

std::string devnum(const R::BlockIoDevice& dev) { return cat(dev.major, ':', dev.minor); }

Result<void> blkio_v1(const CgroupDir& d, const R::BlockIo& b) {
    // The CFQ files went with CFQ; BFQ's carry the weight on current kernels.
    std::string prefix = exists(d, "blkio.weight") ? "blkio." : "blkio.bfq.";
    if (b.weight) TRY(put(d, prefix + "weight", std::to_string(*b.weight), "blockIO.weight"));
    if (b.leaf_weight) TRY(put(d, "blkio.leaf_weight", std::to_string(*b.leaf_weight), "blockIO.leafWeight"));
    for (auto& w : b.weight_device) {
        if (w.weight) TRY(put(d, prefix + "weight_device", devnum(w) + " " + std::to_string(*w.weight), "blockIO.weightDevice"));
        if (w.leaf_weight)
            TRY(put(d, "blkio.leaf_weight_device", devnum(w) + " " + std::to_string(*w.leaf_weight), "blockIO.weightDevice"));
    }
    auto throttle = [&](const std::vector<R::BlockIoDevice>& v, const char* file, const char* field) -> Result<void> {
        for (auto& t : v) TRY(put(d, file, devnum(t) + " " + std::to_string(t.rate), field));
        return {};
    };
    TRY(throttle(b.throttle_read_bps_device, "blkio.throttle.read_bps_device", "blockIO.throttleReadBpsDevice"));
    TRY(throttle(b.throttle_write_bps_device, "blkio.throttle.write_bps_device", "blockIO.throttleWriteBpsDevice"));
    TRY(throttle(b.throttle_read_iops_device, "blkio.throttle.read_iops_device", "blockIO.throttleReadIOPSDevice"));
    TRY(throttle(b.throttle_write_iops_device, "blkio.throttle.write_iops_device", "blockIO.throttleWriteIOPSDevice"));
    return {};
}

Result<void> io_v2(const CgroupDir& d, const R::BlockIo& b) {
    if (b.weight) {
        if (exists(d, "io.bfq.weight")) {
            TRY(put(d, "io.bfq.weight", std::to_string(*b.weight), "blockIO.weight"));
        } else {
            // runc's conversion of blkio weight [10, 1000] to io.weight [1, 10000].
            uint64_t w = std::clamp<uint64_t>(*b.weight, 10, 1000);
            TRY(put(d, "io.weight", std::to_string(1 + (w - 10) * 9999 / 990), "blockIO.weight"));
        }
    }
    if (b.leaf_weight) return Err("linux.resources.blockIO.leafWeight: not available on cgroup v2");
    for (auto& w : b.weight_device)
        if (w.weight) TRY(put(d, "io.bfq.weight", devnum(w) + " " + std::to_string(*w.weight), "blockIO.weightDevice"));
    auto throttle = [&](const std::vector<R::BlockIoDevice>& v, const char* key, const char* field) -> Result<void> {
        for (auto& t : v) TRY(put(d, "io.max", devnum(t) + " " + key + "=" + std::to_string(t.rate), field));
        return {};
    };
    TRY(throttle(b.throttle_read_bps_device, "rbps", "blockIO.throttleReadBpsDevice"));
    TRY(throttle(b.throttle_write_bps_device, "wbps", "blockIO.throttleWriteBpsDevice"));
    TRY(throttle(b.throttle_read_iops_device, "riops", "blockIO.throttleReadIOPSDevice"));
    TRY(throttle(b.throttle_write_iops_device, "wiops", "blockIO.throttleWriteIOPSDevice"));
    return {};
}

// --- hugetlb, network, rdma, unified ---

Result<void> hugetlb(const CgroupDir& d, const std::vector<R::HugepageLimit>& limits) {
    for (auto& h : limits) {
        std::string file = d.v2 ? "hugetlb." + h.page_size + ".max" : "hugetlb." + h.page_size + ".limit_in_bytes";
        if (!exists(d, file))
            return Err("linux.resources.hugepageLimits: page size ", quote(h.page_size), " is not supported here (no ",
                       file, ")");
        TRY(put(d, file, std::to_string(h.limit), "hugepageLimits"));
    }
    return {};
}

Result<void> rdma(const CgroupDir& d, const std::map<std::string, R::Rdma>& devs) {
    for (auto& [dev, r] : devs) {
        std::string v = dev;
        if (r.hca_handles) v += " hca_handle=" + std::to_string(*r.hca_handles);
        if (r.hca_objects) v += " hca_object=" + std::to_string(*r.hca_objects);
        TRY(put(d, "rdma.max", v, "rdma"));
    }
    return {};
}

}  // namespace

std::vector<std::string> v2_controllers_needed(const oci::Resources& res) {
    std::set<std::string> c;
    if (res.memory) c.insert("memory");
    if (res.cpu && ((res.cpu->shares && *res.cpu->shares) || res.cpu->quota || res.cpu->period || res.cpu->burst ||
                    res.cpu->idle))
        c.insert("cpu");
    if (res.cpu && (!res.cpu->cpus.empty() || !res.cpu->mems.empty())) c.insert("cpuset");
    if (res.pids && res.pids->limit != 0) c.insert("pids");
    if (res.block_io) c.insert("io");
    if (!res.hugepage_limits.empty()) c.insert("hugetlb");
    if (!res.rdma.empty()) c.insert("rdma");
    for (auto& [key, v] : res.unified) {
        std::string ctl = key.substr(0, key.find('.'));
        if (ctl != "cgroup") c.insert(ctl);
    }
    return {c.begin(), c.end()};
}

Result<void> apply_resources(const std::vector<CgroupDir>& dirs, CgroupLayout layout, const oci::Resources& res) {
    bool v2 = layout == CgroupLayout::V2;
    // Which requested groups found their hierarchy.
    bool mem = false, cpu = false, cset = false, pids = false, blk = false, huge = false, net = false, rd = false;
    for (auto& d : dirs) {
        if (d.v2 && !v2) {
            // Hybrid: cgroup2 holds only the controllers v1 left to it.
            if (res.hugepage_limits.empty()) continue;
            auto ctls = read_file(d.path + "/cgroup.controllers");
            if (ctls && ctls->find("hugetlb") != std::string::npos) {
                TRY(hugetlb(d, res.hugepage_limits));
                huge = true;
            }
            continue;
        }
        if (d.v2) {
            if (res.memory) {
                TRY(memory_v2(d, *res.memory));
                mem = true;
            }
            if (res.cpu) {
                TRY(cpu_v2(d, *res.cpu));
                TRY(cpuset(d, *res.cpu));
                cpu = cset = true;
            }
            if (res.pids && res.pids->limit != 0) {
                TRY(put(d, "pids.max", max_or(res.pids->limit), "pids.limit"));
                pids = true;
            }
            if (res.block_io) {
                TRY(io_v2(d, *res.block_io));
                blk = true;
            }
            if (!res.hugepage_limits.empty()) {
                TRY(hugetlb(d, res.hugepage_limits));
                huge = true;
            }
            if (!res.rdma.empty()) {
                TRY(rdma(d, res.rdma));
                rd = true;
            }
            if (!res.devices.empty()) {
                auto prog = TRY(device_filter_program(res.devices));
                TRY(attach_device_filter(d.path, prog));
            }
            for (auto& [key, value] : res.unified) {
                if (key.find('/') != std::string::npos || key.find("..") != std::string::npos)
                    return Err("linux.resources.unified[", quote(key), "]: not a cgroup file name");
                TRY(put(d, key, value, "unified"));
            }
            continue;
        }
        if (d.has("memory") && res.memory) {
            TRY(memory_v1(d, *res.memory));
            mem = true;
        }
        if (d.has("cpu") && res.cpu) {
            TRY(cpu_v1(d, *res.cpu));
            cpu = true;
        }
        if (d.has("cpuset") && res.cpu) {
            TRY(cpuset(d, *res.cpu));
            cset = true;
        }
        if (d.has("pids") && res.pids && res.pids->limit != 0) {
            TRY(put(d, "pids.max", max_or(res.pids->limit), "pids.limit"));
            pids = true;
        }
        if (d.has("blkio") && res.block_io) {
            TRY(blkio_v1(d, *res.block_io));
            blk = true;
        }
        if (d.has("hugetlb") && !res.hugepage_limits.empty()) {
            TRY(hugetlb(d, res.hugepage_limits));
            huge = true;
        }
        if (d.has("devices") && !res.devices.empty()) TRY(devices_v1(d, res.devices));
        if (d.has("rdma") && !res.rdma.empty()) {
            TRY(rdma(d, res.rdma));
            rd = true;
        }
        if (res.network && (d.has("net_cls") || d.has("net_prio"))) {
            if (d.has("net_cls") && res.network->class_id)
                TRY(put(d, "net_cls.classid", std::to_string(*res.network->class_id), "network.classID"));
            if (d.has("net_prio"))
                for (auto& [ifname, prio] : res.network->priorities)
                    TRY(put(d, "net_prio.ifpriomap", ifname + " " + std::to_string(prio), "network.priorities"));
            net = true;
        }
    }
    auto missing = [](const char* field, const char* ctl) {
        return Err("linux.resources.", field, ": no ", ctl, " cgroup hierarchy on this host");
    };
    if (res.memory && !mem) return missing("memory", "memory");
    if (res.cpu && ((res.cpu->shares && *res.cpu->shares) || res.cpu->quota || res.cpu->period) && !cpu)
        return missing("cpu", "cpu");
    if (res.cpu && (!res.cpu->cpus.empty() || !res.cpu->mems.empty()) && !cset) return missing("cpu.cpus", "cpuset");
    if (res.pids && res.pids->limit != 0 && !pids) return missing("pids", "pids");
    if (res.block_io && !blk) return missing("blockIO", "blkio/io");
    if (!res.hugepage_limits.empty() && !huge) return missing("hugepageLimits", "hugetlb");
    if (res.network && (res.network->class_id || !res.network->priorities.empty()) && !net)
        return missing("network", "net_cls/net_prio");
    if (!res.rdma.empty() && !rd) return missing("rdma", "rdma");
    if (!res.unified.empty() && !v2) return Err("linux.resources.unified: needs cgroup v2 (this host's layout is v1 or hybrid)");
    return {};
}

}  // namespace berth::runtime
