#include "shim/status.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "libutil/json.hpp"
#include "libutil/strings.hpp"
#include "shim/protocol.hpp"

namespace berth::shim {

namespace {

pid_t read_pid(const std::string& path) {
    auto text = read_file(path);
    if (!text) return 0;
    auto v = parse_i64(trim(*text));
    return v && *v > 0 ? pid_t(*v) : 0;
}

// Alive and not a zombie; with `comm`, also named so (a reused pid is not
// taken for the shim).
bool alive(pid_t pid, const char* comm = nullptr) {
    if (pid <= 0 || (::kill(pid, 0) < 0 && errno != EPERM)) return false;
    auto stat = read_file(cat("/proc/", pid, "/stat"));
    if (!stat) return false;
    size_t close = stat->rfind(')');
    if (close == std::string::npos || close + 2 >= stat->size()) return false;
    char state = (*stat)[close + 2];
    if (state == 'Z' || state == 'X') return false;
    if (comm) {
        size_t open = stat->find('(');
        if (stat->substr(open + 1, close - open - 1) != comm) return false;
    }
    return true;
}

}  // namespace

int status_main(int argc, char** argv) {
    std::string run_dir, exit_file, pid_file;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--run-dir") run_dir = value();
        else if (a == "--exit-file") exit_file = value();
        else if (a == "--pid-file") pid_file = value();
        else {
            std::fprintf(stderr, "berth-shim status: unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    if (run_dir.empty()) {
        std::fprintf(stderr, "berth-shim status: --run-dir is required\n");
        return 2;
    }
    if (pid_file.empty()) pid_file = path_join(run_dir, proto::kContainerPidFile);
    pid_t shim = read_pid(path_join(run_dir, proto::kShimPidFile));
    pid_t ctr = read_pid(pid_file);
    bool shim_up = alive(shim, "berth-shim");
    bool ctr_up = alive(ctr);
    struct stat st;
    bool exited = !exit_file.empty() && ::stat(exit_file.c_str(), &st) == 0;
    // running: the shim watches; exited: the record is written; orphaned:
    // the shim is gone but the process runs (nobody will write its exit
    // file); lost: both gone without a record.
    const char* state = shim_up ? "running" : exited ? "exited" : ctr_up ? "orphaned" : "lost";
    auto v = json::Value::object();
    v.set("state", json::Value::string(state));
    v.set("shim_pid", json::Value::number(int64_t(shim)));
    v.set("shim_alive", json::Value::boolean(shim_up));
    v.set("container_pid", json::Value::number(int64_t(ctr)));
    v.set("container_alive", json::Value::boolean(ctr_up));
    v.set("exit_file", json::Value::boolean(exited));
    std::printf("%s\n", json::write(v).c_str());
    return shim_up || exited ? 0 : 1;
}

}  // namespace berth::shim
