// Container verbs that read or tidy: top, stats, rename, diff, container prune.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "libutil/json.hpp"
#include "libutil/strings.hpp"
#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"
#include "manager/containers/lifecycle.hpp"
#include "manager/containers/process.hpp"
#include "manager/containers/stats.hpp"
#include "manager/containers/tidy.hpp"

namespace berth::manager {

namespace {

Result<std::pair<std::unique_ptr<Engine>, ContainerRecord>> running_container(const GlobalOptions& g,
                                                                              const std::string& name) {
    auto e = TRY(Engine::open(g));
    auto c = TRY(e->containers.find(name));
    TRY(refresh(*e, c));
    if (c.state != "running" && c.state != "paused") return Err("container ", c.name, " is not running");
    return std::make_pair(std::move(e), std::move(c));
}

// The container's processes, from the runtime (`ps --format json`).
Result<std::set<std::string>> container_pids(Engine& e, const ContainerRecord& c) {
    auto o = TRY(container_options(c));
    std::string rt = TRY(e.runtime_path(o.runtime));
    auto out = TRY(run_program({rt, "--root", e.paths.runtime_root(), "ps", "--format", "json", c.id}));
    if (out.status != 0) return Err(last_line(out.err));
    auto v = TRY_CTX(json::parse(out.out), "the runtime's ps");
    std::set<std::string> pids;
    for (const auto& p : v.items()) pids.insert(p.raw_number());
    return pids;
}

}  // namespace

int cmd_top(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {}, true);
    if (!a) return fail(a.error());
    if (a->positional.empty()) return fail(Error{0, "top: a container is needed"});
    auto ec = running_container(g, a->positional[0]);
    if (!ec) return fail(ec.error());
    auto pids = container_pids(*ec->first, ec->second);
    if (!pids) return fail(pids.error());
    std::vector<std::string> ps = {"ps"};
    if (a->positional.size() > 1)
        ps.insert(ps.end(), a->positional.begin() + 1, a->positional.end());
    else
        ps.push_back("-ef");
    auto out = run_program(ps);
    if (!out) return fail(out.error());
    if (out->status != 0) return fail(Error{0, cat("ps: ", last_line(out->err))});
    auto lines = split(out->out, '\n');
    if (lines.empty()) return 0;
    // The PID column of ps's header says which field to match.
    auto header = split(lines[0], ' ');
    std::erase(header, "");
    auto col = std::find(header.begin(), header.end(), "PID");
    if (col == header.end()) return fail(Error{0, "top: ps's output has no PID column"});
    size_t idx = static_cast<size_t>(col - header.begin());
    std::printf("%s\n", lines[0].c_str());
    for (size_t i = 1; i < lines.size(); ++i) {
        auto f = split(lines[i], ' ');
        std::erase(f, "");
        if (f.size() > idx && pids->count(f[idx])) std::printf("%s\n", lines[i].c_str());
    }
    return 0;
}

int cmd_stats(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"no-stream", 0, false}, {"all", 'a', false}, {"format", 0, true}});
    if (!a) return fail(a.error());
    auto e = Engine::open(g);
    if (!e) return fail(e.error());
    std::vector<ContainerRecord> shown;
    auto all = (*e)->containers.list();
    if (!all) return fail(all.error());
    for (auto& c : *all) {
        (void)refresh(**e, c);
        bool named = a->positional.empty();
        for (const auto& n : a->positional)
            if (n == c.name || (n.size() >= 3 && c.id.starts_with(n))) named = true;
        if (named && (a->has("all") || c.state == "running" || c.state == "paused" || !a->positional.empty()))
            shown.push_back(c);
    }
    for (const auto& n : a->positional)
        if (std::none_of(shown.begin(), shown.end(), [&](const ContainerRecord& c) {
                return n == c.name || (n.size() >= 3 && c.id.starts_with(n));
            }))
            return fail(Error{0, cat("no such container: ", n)});
    bool json_out = a->get("format") == "json";
    for (;;) {
        // Two samples a second apart give the CPU share, as docker's first line.
        std::map<std::string, CgroupSample> before;
        for (const auto& c : shown) before[c.id] = sample_container(c.pid);
        auto t0 = std::chrono::steady_clock::now();
        std::this_thread::sleep_for(std::chrono::milliseconds(1000));
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::string text;
        auto arr = json::Value::array();
        if (!json_out)
            text += cat("CONTAINER ID   NAME                 CPU %     MEM USAGE / LIMIT       MEM %     PIDS\n");
        for (const auto& c : shown) {
            auto now = sample_container(c.pid);
            double cpu = now.cpu_ns >= before[c.id].cpu_ns
                             ? static_cast<double>(now.cpu_ns - before[c.id].cpu_ns) / (secs * 1e9) * 100.0
                             : 0;
            double mem_pct = now.memory_limit ? 100.0 * static_cast<double>(now.memory) / static_cast<double>(now.memory_limit) : 0;
            if (json_out) {
                auto v = json::Value::object();
                v.set("ID", json::Value::string(c.id.substr(0, 12)));
                v.set("Name", json::Value::string(c.name));
                v.set("CPUPerc", json::Value::string(cat(static_cast<int64_t>(cpu * 100) / 100.0, "%")));
                v.set("MemUsage", json::Value::number(now.memory));
                v.set("MemLimit", json::Value::number(now.memory_limit));
                v.set("PIDs", json::Value::number(now.pids));
                arr.push(std::move(v));
                continue;
            }
            char line[256];
            std::snprintf(line, sizeof line, "%-12s   %-20s %6.2f%%   %-23s %6.2f%%   %lld\n", c.id.substr(0, 12).c_str(),
                          c.name.c_str(), cpu,
                          (human_size(static_cast<int64_t>(now.memory)) + " / " +
                           (now.memory_limit ? human_size(static_cast<int64_t>(now.memory_limit)) : std::string("unlimited")))
                              .c_str(),
                          mem_pct, static_cast<long long>(now.pids));
            text += line;
        }
        if (json_out) text = json::write(arr, true) + "\n";
        if (!a->has("no-stream") && ::isatty(1)) std::fputs("\033[2J\033[H", stdout);
        std::fputs(text.c_str(), stdout);
        std::fflush(stdout);
        if (a->has("no-stream")) return 0;
    }
}

int cmd_rename(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {});
    if (!a) return fail(a.error());
    if (a->positional.size() != 2) return fail(Error{0, "rename: a container and its new name are needed"});
    auto e = Engine::open(g);
    if (!e) return fail(e.error());
    auto c = (*e)->containers.find(a->positional[0]);
    if (!c) return fail(c.error());
    if (auto r = rename_container(**e, *c, a->positional[1]); !r) return fail(r.error());
    return 0;
}

int cmd_diff(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {});
    if (!a) return fail(a.error());
    if (a->positional.size() != 1) return fail(Error{0, "diff: exactly one container is needed"});
    auto e = Engine::open(g);
    if (!e) return fail(e.error());
    auto c = (*e)->containers.find(a->positional[0]);
    if (!c) return fail(c.error());
    auto changes = container_changes(**e, *c);
    if (!changes) return fail(changes.error());
    for (const auto& [path, kind] : *changes) std::printf("%c %s\n", kind, path.c_str());
    return 0;
}

int cmd_container_prune(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"force", 'f', false}});
    if (!a) return fail(a.error());
    auto e = Engine::open(g);
    if (!e) return fail(e.error());
    auto pruned = prune_containers(**e);
    if (!pruned) return fail(pruned.error());
    std::printf("Deleted Containers:\n");
    for (const auto& id : pruned->removed) std::printf("%s\n", id.c_str());
    return pruned->error ? fail(*pruned->error) : 0;
}

}  // namespace berth::manager
