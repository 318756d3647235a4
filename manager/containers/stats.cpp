#include "manager/containers/stats.hpp"

#include <sys/sysinfo.h>

#include <map>
#include <string>

#include "libutil/strings.hpp"

namespace berth::manager {

namespace {

// The mount point of the cgroup2 hierarchy, or of the v1 hierarchy with `controller`.
std::string cgroup_mount(const std::string& controller) {
    auto info = read_file("/proc/self/mountinfo");
    if (!info) return "";
    for (const auto& line : split(*info, '\n')) {
        auto dash = line.find(" - ");
        if (dash == std::string::npos) continue;
        auto left = split(line.substr(0, dash), ' ');
        auto right = split(line.substr(dash + 3), ' ');
        if (left.size() < 5 || right.size() < 3) continue;
        if (controller.empty() && right[0] == "cgroup2") return left[4];
        if (!controller.empty() && right[0] == "cgroup")
            for (const auto& opt : split(right[2], ','))
                if (opt == controller) return left[4];
    }
    return "";
}

uint64_t read_u64(const std::string& path) {
    auto t = read_file(path);
    if (!t) return 0;
    return parse_u64(trim(*t)).value_or(0);
}

uint64_t read_key(const std::string& path, std::string_view key) {
    auto t = read_file(path);
    if (!t) return 0;
    for (const auto& line : split(*t, '\n'))
        if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == ' ')
            return parse_u64(trim(line.substr(key.size() + 1))).value_or(0);
    return 0;
}

}  // namespace

CgroupSample sample_container(int64_t pid) {
    CgroupSample s;
    if (pid <= 0) return s;
    auto cg = read_file(cat("/proc/", pid, "/cgroup"));
    if (!cg) return s;
    std::string v2path;
    std::map<std::string, std::string> v1;  // controller -> path
    for (const auto& line : split(*cg, '\n')) {
        auto f = split(line, ':');
        if (f.size() < 3) continue;
        if (f[0] == "0" && f[1].empty()) {
            v2path = f[2];
            continue;
        }
        for (const auto& c : split(f[1], ',')) v1[c] = f[2];
    }
    uint64_t ram = 0;
    struct sysinfo si;
    if (::sysinfo(&si) == 0) ram = static_cast<uint64_t>(si.totalram) * si.mem_unit;
    if (v1.count("memory")) {
        std::string m = cgroup_mount("memory") + v1["memory"];
        uint64_t usage = read_u64(m + "/memory.usage_in_bytes");
        uint64_t cache = read_key(m + "/memory.stat", "total_inactive_file");
        s.memory = usage > cache ? usage - cache : usage;
        s.memory_limit = read_u64(m + "/memory.limit_in_bytes");
        if (v1.count("cpuacct")) s.cpu_ns = read_u64(cgroup_mount("cpuacct") + v1["cpuacct"] + "/cpuacct.usage");
        if (v1.count("pids")) s.pids = read_u64(cgroup_mount("pids") + v1["pids"] + "/pids.current");
    } else if (!v2path.empty()) {
        std::string m = cgroup_mount("") + v2path;
        uint64_t usage = read_u64(m + "/memory.current");
        uint64_t cache = read_key(m + "/memory.stat", "inactive_file");
        s.memory = usage > cache ? usage - cache : usage;
        auto max = read_file(m + "/memory.max");
        s.memory_limit = max ? parse_u64(trim(*max)).value_or(0) : 0;
        s.cpu_ns = read_key(m + "/cpu.stat", "usage_usec") * 1000;
        s.pids = read_u64(m + "/pids.current");
    }
    if (s.memory_limit == 0 || s.memory_limit > ram) s.memory_limit = ram;
    return s;
}

}  // namespace berth::manager
