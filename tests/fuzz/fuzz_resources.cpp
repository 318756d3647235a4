// `update --resources FILE`: the LinuxResources document
// (parse_resources_update), merged into a stored config
// (config_with_resources) and parsed back as update does; then the cgroup
// files it would write (apply_resources), into fake cgroup2 and cgroup v1
// directories of regular files under /tmp (never a real cgroup, and no
// device filter is attached: update clears the device rules).
#include <cstdint>
#include <fstream>

#include "libutil/oci/spec.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/linux/cgroup_resources.hpp"
#include "runtime/linux/device_filter.hpp"
#include "tests/fuzz/common.hpp"

using namespace berth;
using runtime::CgroupDir;

namespace {

std::vector<CgroupDir> g_v2, g_v1;
json::Value g_config;  // the stored config: runc's default spec

void touch_all(const std::string& dir, std::initializer_list<const char*> files) {
    std::filesystem::create_directory(dir);
    for (auto* f : files) std::ofstream(dir + "/" + f) << "";
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::quiet_logs();
    std::string base = fuzz::temp_dir("resources");
    touch_all(base + "/v2", {"cgroup.controllers", "memory.max", "memory.swap.max", "memory.low", "memory.high",
                             "cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle", "cpuset.cpus", "cpuset.mems",
                             "pids.max", "io.weight", "io.max", "hugetlb.2MB.max", "hugetlb.1GB.max", "rdma.max"});
    touch_all(base + "/v1",
              {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes",
               "memory.kmem.tcp.limit_in_bytes", "memory.swappiness", "memory.oom_control", "memory.use_hierarchy",
               "cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.cfs_burst_us", "cpu.rt_period_us",
               "cpu.rt_runtime_us", "cpu.idle", "cpuset.cpus", "cpuset.mems", "pids.max", "blkio.weight",
               "blkio.leaf_weight", "blkio.weight_device", "blkio.leaf_weight_device",
               "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
               "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device",
               "hugetlb.2MB.limit_in_bytes", "devices.allow", "devices.deny", "rdma.max", "net_cls.classid",
               "net_prio.ifpriomap"});
    g_v2 = {{"", "", true, base + "/v2", true, ""}};
    g_v1 = {{"cpu,cpuacct,memory,cpuset,pids,blkio,hugetlb,devices,rdma,net_cls,net_prio", "", false, base + "/v1",
             true, ""}};
    g_config = oci::default_spec(false, 0, 0);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto update = runtime::parse_resources_update(fuzz::text_of(data, size), "resources.json");
    if (!update) {
        FUZZ_REQUIRE(update.error().message.starts_with("resources.json: "), update.error().message);
        return 0;
    }
    FUZZ_REQUIRE(update->is_object(), json::write(*update));
    auto config = runtime::config_with_resources(g_config, *update);
    auto spec = oci::parse_spec(config, "update");
    if (!spec) {
        FUZZ_REQUIRE(spec.error().message.starts_with("update: "), spec.error().message);
        return 0;
    }
    if (!spec->linux || !spec->linux->resources) return 0;
    auto& res = *spec->linux->resources;
    (void)runtime::v2_controllers_needed(res);
    (void)runtime::device_filter_program(res.devices);
    (void)runtime::apply_resources(g_v1, runtime::CgroupLayout::V1, res);
    res.devices.clear();  // as update does (and no eBPF program is attached)
    (void)runtime::apply_resources(g_v2, runtime::CgroupLayout::V2, res);
    return 0;
}
