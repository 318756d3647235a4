#include "shim/exit_record.hpp"

#include <sys/wait.h>

#include "libutil/json.hpp"
#include "libutil/signals.hpp"
#include "libutil/strings.hpp"
#include "shim/cri_log.hpp"

namespace berth::shim {

int ExitRecord::exit_code() const {
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

int ExitRecord::signal() const { return WIFSIGNALED(status) ? WTERMSIG(status) : 0; }

std::string ExitRecord::json() const {
    char t1[32], t2[32];
    format_rfc3339nano(started, t1);
    format_rfc3339nano(exited, t2);
    auto v = json::Value::object();
    v.set("id", json::Value::string(id));
    if (!exec_id.empty()) v.set("exec_id", json::Value::string(exec_id));
    v.set("pid", json::Value::number(int64_t(pid)));
    v.set("exit_code", json::Value::number(exit_code()));
    v.set("signal", json::Value::number(signal()));
    v.set("signal_name", signal() ? json::Value::string(signal_name(signal())) : json::Value::null());
    v.set("oom_killed", json::Value::boolean(oom_killed));
    v.set("started_at", json::Value::string(t1));
    v.set("exited_at", json::Value::string(t2));
    return json::write(v) + "\n";
}

namespace {

struct Mount {
    std::string root, point;
};

// The cgroup2 mount, or the v1 mount carrying the memory controller.
Mount find_cgroup_mount(bool v2) {
    auto text = read_file("/proc/self/mountinfo");
    if (!text) return {};
    for (const auto& line : split(*text, '\n')) {
        auto f = split(line, ' ');
        size_t dash = 0;
        while (dash < f.size() && f[dash] != "-") ++dash;
        if (dash < 6 || dash + 3 >= f.size()) continue;
        const std::string& type = f[dash + 1];
        if (v2 && type == "cgroup2") return {f[3], f[4]};
        if (!v2 && type == "cgroup") {
            for (const auto& opt : split(f[dash + 3], ','))
                if (opt == "memory") return {f[3], f[4]};
        }
    }
    return {};
}

}  // namespace

std::string oom_counter_path(pid_t pid) {
    auto text = read_file(cat("/proc/", pid, "/cgroup"));
    if (!text) return "";
    std::string v1, v2;
    for (const auto& line : split(*text, '\n')) {
        auto f = split(line, ':');
        if (f.size() < 3) continue;
        if (f[0] == "0" && f[1].empty()) v2 = f[2];
        for (const auto& c : split(f[1], ','))
            if (c == "memory") v1 = f[2];
    }
    // Hybrid hosts: memory is a v1 controller even with cgroup2 mounted.
    bool use_v2 = v1.empty();
    const std::string& rel = use_v2 ? v2 : v1;
    Mount m = find_cgroup_mount(use_v2);
    if (m.point.empty() || rel.empty()) return "";
    std::string sub = rel;
    if (m.root != "/" && sub.rfind(m.root, 0) == 0) sub = sub.substr(m.root.size());
    return path_join(path_join(m.point, sub), use_v2 ? "memory.events" : "memory.oom_control");
}

uint64_t read_oom_kills(const std::string& path) {
    if (path.empty()) return 0;
    auto text = read_file(path);
    if (!text) return 0;
    for (const auto& line : split(*text, '\n')) {
        if (line.rfind("oom_kill ", 0) == 0) return parse_u64(trim(line.substr(9))).value_or(0);
    }
    return 0;
}

}  // namespace berth::shim
