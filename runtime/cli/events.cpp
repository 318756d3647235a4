#include <poll.h>
#include <unistd.h>

#include <cstdio>

#include "libutil/strings.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/container/state.hpp"

namespace berth::runtime {

namespace {

using json::Value;

std::optional<uint64_t> read_u64(const std::string& path) {
    auto t = read_file(path);
    if (!t) return std::nullopt;
    auto s = trim(*t);
    if (s == "max") return UINT64_MAX;
    return parse_u64(s);
}

// "key value" lines (memory.stat, cpu.stat, memory.events) as a map.
std::map<std::string, uint64_t> read_kv(const std::string& path) {
    std::map<std::string, uint64_t> out;
    if (auto t = read_file(path))
        for (auto& line : split(*t, '\n')) {
            auto sp = line.find(' ');
            if (sp == std::string::npos) continue;
            if (auto v = parse_u64(trim(line.substr(sp + 1)))) out[line.substr(0, sp)] = *v;
        }
    return out;
}

Value num(uint64_t v) { return Value::number(v); }

// runc reports no pids limit ("max") as 0.
uint64_t pids_limit(const std::string& dir) {
    auto v = read_u64(dir + "/pids.max").value_or(0);
    return v == UINT64_MAX ? 0 : v;
}

Value usage_entry(const std::string& dir, const std::string& prefix) {
    auto e = Value::object();
    e.set("limit", num(read_u64(dir + "/" + prefix + "limit_in_bytes").value_or(0)));
    e.set("usage", num(read_u64(dir + "/" + prefix + "usage_in_bytes").value_or(0)));
    e.set("max", num(read_u64(dir + "/" + prefix + "max_usage_in_bytes").value_or(0)));
    e.set("failcnt", num(read_u64(dir + "/" + prefix + "failcnt").value_or(0)));
    return e;
}

Value raw_map(const std::map<std::string, uint64_t>& m) {
    auto o = Value::object();
    for (auto& [k, v] : m) o.set(k, num(v));
    return o;
}

// runc's stats document ("data" of a stats event) from the cgroup files.
Value collect_stats(const Cgroup& cg) {
    auto data = Value::object();
    auto cpu = Value::object(), usage = Value::object(), throttling = Value::object();
    auto memory = Value::object(), pids = Value::object(), hugetlb = Value::object();
    for (auto& d : cg.dirs()) {
        bool v2 = d.v2 && cg.layout() == CgroupLayout::V2;
        if (v2) {
            auto st = read_kv(d.path + "/cpu.stat");
            usage.set("total", num(st["usage_usec"] * 1000));
            usage.set("user", num(st["user_usec"] * 1000));
            usage.set("kernel", num(st["system_usec"] * 1000));
            throttling.set("periods", num(st["nr_periods"]));
            throttling.set("throttled_periods", num(st["nr_throttled"]));
            throttling.set("throttled_time", num(st["throttled_usec"] * 1000));
            auto u = Value::object();
            u.set("usage", num(read_u64(d.path + "/memory.current").value_or(0)));
            u.set("limit", num(read_u64(d.path + "/memory.max").value_or(0)));
            u.set("max", num(read_u64(d.path + "/memory.peak").value_or(0)));
            u.set("failcnt", num(read_kv(d.path + "/memory.events")["max"]));
            memory.set("usage", std::move(u));
            auto sw = Value::object();
            sw.set("usage", num(read_u64(d.path + "/memory.swap.current").value_or(0)));
            sw.set("limit", num(read_u64(d.path + "/memory.swap.max").value_or(0)));
            memory.set("swap", std::move(sw));
            memory.set("raw", raw_map(read_kv(d.path + "/memory.stat")));
            pids.set("current", num(read_u64(d.path + "/pids.current").value_or(0)));
            pids.set("limit", num(pids_limit(d.path)));
        }
        if (d.v2 && ::access((d.path + "/hugetlb.2MB.current").c_str(), F_OK) == 0) {
            for (const char* size : {"2MB", "1GB"}) {
                auto h = Value::object();
                h.set("usage", num(read_u64(d.path + "/hugetlb." + size + ".current").value_or(0)));
                h.set("failcnt", num(read_kv(d.path + "/hugetlb." + size + ".events")["max"]));
                hugetlb.set(size, std::move(h));
            }
        }
        if (d.has("cpuacct")) {
            usage.set("total", num(read_u64(d.path + "/cpuacct.usage").value_or(0)));
            auto percpu = Value::array();
            if (auto t = read_file(d.path + "/cpuacct.usage_percpu"))
                for (auto& f : split(std::string(trim(*t)), ' '))
                    if (auto v = parse_u64(f)) percpu.push(num(*v));
            usage.set("percpu", std::move(percpu));
            // cpuacct.stat is in USER_HZ ticks (100 a second).
            auto st = read_kv(d.path + "/cpuacct.stat");
            usage.set("user", num(st["user"] * 10000000));
            usage.set("kernel", num(st["system"] * 10000000));
        }
        if (d.has("cpu")) {
            auto st = read_kv(d.path + "/cpu.stat");
            throttling.set("periods", num(st["nr_periods"]));
            throttling.set("throttled_periods", num(st["nr_throttled"]));
            throttling.set("throttled_time", num(st["throttled_time"]));
        }
        if (d.has("memory")) {
            memory.set("usage", usage_entry(d.path, "memory."));
            memory.set("swap", usage_entry(d.path, "memory.memsw."));
            memory.set("kernel", usage_entry(d.path, "memory.kmem."));
            memory.set("raw", raw_map(read_kv(d.path + "/memory.stat")));
        }
        if (d.has("pids")) {
            pids.set("current", num(read_u64(d.path + "/pids.current").value_or(0)));
            pids.set("limit", num(pids_limit(d.path)));
        }
    }
    cpu.set("usage", std::move(usage));
    cpu.set("throttling", std::move(throttling));
    data.set("cpu", std::move(cpu));
    data.set("memory", std::move(memory));
    data.set("pids", std::move(pids));
    data.set("hugetlb", std::move(hugetlb));
    return data;
}

// OOM kills so far: v1 memory.oom_control, cgroup2 memory.events.
uint64_t oom_kills(const Cgroup& cg) {
    for (auto& d : cg.dirs()) {
        if (d.has("memory")) return read_kv(d.path + "/memory.oom_control")["oom_kill"];
        if (d.v2 && cg.layout() == CgroupLayout::V2) return read_kv(d.path + "/memory.events")["oom_kill"];
    }
    return 0;
}

void emit(const char* type, const std::string& id, std::optional<Value> data) {
    auto ev = Value::object();
    ev.set("type", Value::string(type));
    ev.set("id", Value::string(id));
    if (data) ev.set("data", std::move(*data));
    std::string line = json::write(ev) + "\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
}

// "5s", "500ms", "1m" (Go durations, the common units).
std::optional<int64_t> parse_duration_ms(std::string_view s) {
    int64_t mult = 0;
    if (s.ends_with("ms")) mult = 1, s.remove_suffix(2);
    else if (s.ends_with("s")) mult = 1000, s.remove_suffix(1);
    else if (s.ends_with("m")) mult = 60000, s.remove_suffix(1);
    else if (s.ends_with("h")) mult = 3600000, s.remove_suffix(1);
    auto v = parse_u64(s);
    if (!mult || !v || *v == 0) return std::nullopt;
    return static_cast<int64_t>(*v) * mult;
}

}  // namespace

// events: runc's JSON events. --stats prints one stats event; otherwise a
// stats event every --interval and an "oom" event for each OOM kill, until
// the container stops.
int cmd_events(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"stats", nullptr, false}, {"interval", nullptr, true}});
    if (!a) return fail(a.error());
    auto id = one_id(*a, "events");
    if (!id) return fail(id.error());
    auto interval = parse_duration_ms(a->get("interval", "5s"));
    if (!interval) return fail({0, "--interval " + quote(a->get("interval")) + ": not a duration (e.g. 5s, 500ms)"});
    auto st = load_state(g.root, *id);
    if (!st) return fail(st.error());
    if (container_status(*st) == Status::Stopped) return fail({0, "container " + quote(*id) + " is not running"});
    Cgroup cg = Cgroup::from_json(st->cgroup);
    if (a->has("stats")) {
        emit("stats", *id, collect_stats(cg));
        return 0;
    }
    uint64_t ooms = oom_kills(cg);
    int64_t since_stats = 0;
    constexpr int kTickMs = 100;  // OOM kills are looked for this often
    while (container_status(*st) != Status::Stopped) {
        uint64_t now = oom_kills(cg);
        for (; ooms < now; ++ooms) emit("oom", *id, std::nullopt);
        if ((since_stats -= kTickMs) <= 0) {
            emit("stats", *id, collect_stats(cg));
            since_stats = *interval;
        }
        ::poll(nullptr, 0, kTickMs);
    }
    uint64_t now = oom_kills(cg);
    for (; ooms < now; ++ooms) emit("oom", *id, std::nullopt);
    return 0;
}

}  // namespace berth::runtime
