// /containers/{id}/top (the host's ps, kept to the container's processes,
// as `berth top`) and /containers/{id}/stats (the cgroup's counters in
// docker's shape, once or every second).
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "libutil/strings.hpp"
#include "manager/containers/process.hpp"
#include "manager/containers/stats.hpp"
#include "manager/serve/call.hpp"

namespace berth::manager::serve {

namespace {

std::vector<std::string> fields(const std::string& line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    std::string f;
    while (in >> f) out.push_back(f);
    return out;
}

// The container's pids, from the runtime (`ps --format json`).
std::expected<std::set<std::string>, HttpError> container_pids(Engine& e, const ContainerRecord& c) {
    auto o = container_options(c);
    if (!o) return std::unexpected(api_error(o.error()));
    auto rt = e.runtime_path(o->runtime);
    if (!rt) return std::unexpected(api_error(rt.error()));
    auto out = run_program({*rt, "--root", e.paths.runtime_root(), "ps", "--format", "json", c.id});
    if (!out) return std::unexpected(api_error(out.error()));
    if (out->status != 0) return std::unexpected(http_error(500, last_line(out->err)));
    auto v = json::parse(out->out);
    if (!v) return std::unexpected(http_error(500, cat("the runtime's ps: ", v.error().what())));
    std::set<std::string> pids;
    for (const auto& p : v->items()) pids.insert(p.raw_number());
    return pids;
}

// All CPUs' time since boot in ns (/proc/stat's first line), as docker's
// system_cpu_usage.
uint64_t system_cpu_ns() {
    std::ifstream f("/proc/stat");
    std::string cpu;
    f >> cpu;
    uint64_t sum = 0, v;
    for (int i = 0; i < 8 && (f >> v); ++i) sum += v;
    long hz = ::sysconf(_SC_CLK_TCK);
    return hz > 0 ? sum * (1000000000ULL / static_cast<uint64_t>(hz)) : 0;
}

struct Sample {
    CgroupSample cg;
    uint64_t system = 0;
    std::string read;
};

Sample take(int64_t pid) {
    return Sample{sample_container(pid), system_cpu_ns(), now_rfc3339_nano()};
}

json::Value cpu_json(const Sample& s) {
    auto usage = json::Value::object();
    usage.set("total_usage", json::Value::number(s.cg.cpu_ns));
    usage.set("usage_in_kernelmode", json::Value::number(0));
    usage.set("usage_in_usermode", json::Value::number(0));
    auto cpu = json::Value::object();
    cpu.set("cpu_usage", std::move(usage));
    cpu.set("system_cpu_usage", json::Value::number(s.system));
    cpu.set("online_cpus", json::Value::number(static_cast<int64_t>(std::thread::hardware_concurrency())));
    return cpu;
}

json::Value stats_json(const ContainerRecord& c, const Sample& pre, const Sample& now) {
    auto v = json::Value::object();
    v.set("read", str(now.read));
    v.set("preread", str(pre.read));
    v.set("name", str("/" + c.name));
    v.set("id", str(c.id));
    auto pids = json::Value::object();
    pids.set("current", json::Value::number(now.cg.pids));
    v.set("pids_stats", std::move(pids));
    v.set("cpu_stats", cpu_json(now));
    v.set("precpu_stats", cpu_json(pre));
    auto mem = json::Value::object();
    mem.set("usage", json::Value::number(now.cg.memory));
    long pages = ::sysconf(_SC_PHYS_PAGES), size = ::sysconf(_SC_PAGE_SIZE);
    uint64_t ram = pages > 0 && size > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(size) : 0;
    mem.set("limit", json::Value::number(now.cg.memory_limit ? now.cg.memory_limit : ram));
    mem.set("stats", json::Value::object());
    v.set("memory_stats", std::move(mem));
    return v;
}

}  // namespace

ApiResult container_top(Call& c) {
    auto rec = TRY(find_container(c, c.args.at(0)));
    Engine* e = TRY(c.engine());
    if (auto lock = ContainerLock::try_take(e->paths, rec.id); lock && *lock) (void)refresh(*e, rec);
    if (rec.state != "running" && rec.state != "paused")
        return std::unexpected(http_error(409, cat("Container ", rec.id, " is not running")));
    auto pids = TRY(container_pids(*e, rec));
    std::vector<std::string> ps = {"ps"};
    std::string args = c.req.param("ps_args");
    auto extra = fields(args.empty() ? std::string("-ef") : args);
    ps.insert(ps.end(), extra.begin(), extra.end());
    auto out = run_program(ps);
    if (!out) return std::unexpected(api_error(out.error()));
    if (out->status != 0) return std::unexpected(http_error(500, cat("ps: ", last_line(out->err))));
    auto lines = split(out->out, '\n');
    std::erase(lines, "");
    if (lines.empty()) return std::unexpected(http_error(500, "ps printed nothing"));
    auto titles = fields(lines[0]);
    auto col = std::find(titles.begin(), titles.end(), "PID");
    if (col == titles.end()) return std::unexpected(http_error(500, "ps's output has no PID column"));
    size_t idx = static_cast<size_t>(col - titles.begin());
    auto procs = json::Value::array();
    for (size_t i = 1; i < lines.size(); ++i) {
        auto f = fields(lines[i]);
        if (f.size() <= idx || !pids.count(f[idx])) continue;
        // The last column (the command) keeps its spaces.
        while (f.size() > titles.size()) {
            f[f.size() - 2] += " " + f.back();
            f.pop_back();
        }
        auto row = json::Value::array();
        for (const auto& x : f) row.push(str(x));
        procs.push(std::move(row));
    }
    auto t = json::Value::array();
    for (const auto& x : titles) t.push(str(x));
    auto v = json::Value::object();
    v.set("Titles", std::move(t));
    v.set("Processes", std::move(procs));
    return send_json(c, 200, v);
}

ApiResult container_stats(Call& c) {
    auto rec = TRY(find_container(c, c.args.at(0)));
    Engine* e = TRY(c.engine());
    if (auto lock = ContainerLock::try_take(e->paths, rec.id); lock && *lock) (void)refresh(*e, rec);
    bool stream = !c.req.has_param("stream") || c.req.flag("stream");
    bool running = rec.state == "running" || rec.state == "paused";
    Sample pre = running ? take(rec.pid) : Sample{{}, system_cpu_ns(), now_rfc3339_nano()};
    if (!stream) {
        // A CPU percentage needs two samples (docker's one-shot=false).
        if (running && !c.req.flag("one-shot")) std::this_thread::sleep_for(std::chrono::milliseconds(500));
        Sample now = running ? take(rec.pid) : pre;
        return send_json(c, 200, stats_json(rec, pre, now));
    }
    if (!send_stream_head(c, {{"Content-Type", "application/json"}})) return {};
    ChunkedWriter w(c.conn);
    for (;;) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        auto now_rec = e->containers.get(rec.id);
        bool alive = now_rec && *now_rec && ((*now_rec)->state == "running" || (*now_rec)->state == "paused") &&
                     ::access(e->paths.exit_file(rec.id).c_str(), F_OK) != 0;
        Sample now = alive ? take(rec.pid) : Sample{{}, system_cpu_ns(), now_rfc3339_nano()};
        if (!w.write(json::write(stats_json(rec, pre, now)) + "\n")) {
            c.close = true;
            return {};
        }
        if (!alive) break;
        pre = now;
    }
    if (!w.finish()) c.close = true;
    return {};
}

}  // namespace berth::manager::serve
