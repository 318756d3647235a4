#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "libutil/strings.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/container/state.hpp"

namespace berth::runtime {

namespace {

// Runs the host's ps with `args` and returns its output.
Result<std::string> run_ps(const std::vector<std::string>& args) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return ErrnoErr("pipe");
    pid_t pid = ::fork();
    if (pid < 0) return ErrnoErr("fork");
    if (pid == 0) {
        ::dup2(p[1], 1);
        std::vector<char*> argv{const_cast<char*>("ps")};
        for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execvp("ps", argv.data());
        ::_exit(127);
    }
    ::close(p[1]);
    std::string out;
    char buf[8192];
    ssize_t n;
    while ((n = ::read(p[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0) out.append(buf, static_cast<size_t>(n));
    ::close(p[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return Err("ps ", join(args, " "), ": exit status ", WIFEXITED(status) ? WEXITSTATUS(status) : 128);
    return out;
}

}  // namespace

// runc's ps: the host's `ps` (default -ef) filtered to the container's pids,
// or --format json: the pids as a JSON array.
int cmd_ps(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"format", "f", true}}, true);
    if (!a) return fail(a.error());
    if (a->positional.empty()) return fail({0, "\"ps\" requires a minimum of 1 argument"});
    std::string format = a->get("format", "table");
    if (format != "table" && format != "json") return fail({0, "invalid format option " + quote(format)});
    auto st = load_state(g.root, a->positional[0]);
    if (!st) return fail(st.error());
    auto pids = Cgroup::from_json(st->cgroup).pids();
    std::sort(pids.begin(), pids.end());
    if (format == "json") {
        auto arr = json::Value::array();
        for (pid_t p : pids) arr.push(json::Value::number(static_cast<int64_t>(p)));
        std::puts(json::write(arr).c_str());
        return 0;
    }
    std::vector<std::string> args(a->positional.begin() + 1, a->positional.end());
    if (args.empty()) args = {"-ef"};
    auto out = run_ps(args);
    if (!out) return fail(out.error());
    auto lines = split(*out, '\n');
    if (lines.empty()) return 0;
    // The PID column, from the header.
    auto header = split(std::string(trim(lines[0])), ' ');
    header.erase(std::remove(header.begin(), header.end(), ""), header.end());
    auto col = std::find(header.begin(), header.end(), "PID");
    if (col == header.end()) return fail({0, "ps: no PID column in the output of ps " + join(args, " ")});
    size_t idx = static_cast<size_t>(col - header.begin());
    std::string result = lines[0] + "\n";
    for (size_t i = 1; i < lines.size(); ++i) {
        auto f = split(std::string(trim(lines[i])), ' ');
        f.erase(std::remove(f.begin(), f.end(), ""), f.end());
        if (f.size() <= idx) continue;
        auto v = parse_u64(f[idx]);
        if (v && std::binary_search(pids.begin(), pids.end(), static_cast<pid_t>(*v))) result += lines[i] + "\n";
    }
    std::fwrite(result.data(), 1, result.size(), stdout);
    return 0;
}

}  // namespace berth::runtime
