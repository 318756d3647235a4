#include "runtime/container/state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <limits>

#include "libutil/strings.hpp"

namespace berth::runtime {

const char* status_name(Status s) {
    switch (s) {
    case Status::Creating: return "creating";
    case Status::Created: return "created";
    case Status::Running: return "running";
    case Status::Paused: return "paused";
    case Status::Stopped: return "stopped";
    }
    return "unknown";
}

Result<void> validate_id(std::string_view id) {
    // runc: ^[\w+-\.]+$ and not "." or "..".
    bool ok = !id.empty() && id != "." && id != ".." && id.size() <= 1024;
    for (char c : id)
        ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '-' || c == '.');
    if (!ok) return Err("invalid container id ", quote(id));
    return {};
}

std::string state_dir(const std::string& root, const std::string& id) { return path_join(root, id); }

Result<ContainerState> load_state(const std::string& root, const std::string& id) {
    TRY(validate_id(id));
    std::string dir = state_dir(root, id);
    auto text = read_file(dir + "/state.json");
    if (!text) {
        if (text.error().code == ENOENT) return Err("container ", quote(id), " does not exist");
        return std::unexpected(text.error());
    }
    return parse_state(*text, dir);
}

Result<ContainerState> parse_state(std::string_view text, const std::string& dir) {
    ContainerState st;
    st.dir = dir;
    auto doc = json::parse(text);
    if (!doc || !doc->is_object()) return Err(st.dir, "/state.json: corrupt state file");
    auto str = [&](const char* k) {
        auto v = doc->find(k);
        return v && v->is_string() ? v->as_string() : std::string();
    };
    auto num = [&](const char* k) -> uint64_t {
        auto v = doc->find(k);
        return v && v->is_number() ? v->as_uint64().value_or(0) : 0;
    };
    st.id = str("id");
    st.bundle = str("bundle");
    st.rootfs = str("rootfs");
    // A pid out of pid_t's range is no pid (not one wrapped to another).
    uint64_t pid = num("pid");
    st.pid = pid <= static_cast<uint64_t>(std::numeric_limits<pid_t>::max()) ? static_cast<pid_t>(pid) : 0;
    st.start_time = num("start_time");
    st.created = str("created");
    if (auto v = doc->find("own_pid_ns"); v && v->is_bool()) st.own_pid_ns = v->as_bool();
    if (auto v = doc->find("cgroup")) st.cgroup = *v;
    if (auto v = doc->find("config")) st.config = *v;
    return st;
}

json::Value state_json(const ContainerState& st) {
    auto doc = json::Value::object();
    doc.set("id", json::Value::string(st.id));
    doc.set("bundle", json::Value::string(st.bundle));
    doc.set("rootfs", json::Value::string(st.rootfs));
    doc.set("pid", json::Value::number(static_cast<int64_t>(st.pid)));
    doc.set("start_time", json::Value::number(st.start_time));
    doc.set("created", json::Value::string(st.created));
    doc.set("own_pid_ns", json::Value::boolean(st.own_pid_ns));
    doc.set("cgroup", st.cgroup);
    doc.set("config", st.config);
    return doc;
}

Result<void> save_state(const ContainerState& st) {
    return write_file_atomic(st.dir + "/state.json", json::write(state_json(st)), 0600);
}

uint64_t process_start_time(pid_t pid) {
    if (pid <= 0) return 0;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buf[1024];
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    // Fields after the command name, which may hold spaces and parens.
    char* p = std::strrchr(buf, ')');
    if (!p) return 0;
    p += 2;
    char state = *p;
    if (state == 'Z' || state == 'X') return 0;
    // p points at field 3; start time is field 22.
    for (int field = 3; field < 22 && *p; ++p)
        if (*p == ' ') ++field;
    return std::strtoull(p, nullptr, 10);
}

Status container_status(const ContainerState& st) {
    uint64_t t = process_start_time(st.pid);
    if (t == 0 || t != st.start_time) return Status::Stopped;
    // Frozen through the freezer: paused.
    if (st.cgroup.is_object()) {
        auto c = Cgroup::from_json(st.cgroup);
        for (auto& d : c.dirs()) {
            if (d.has("freezer")) {
                auto s = read_file(d.path + "/freezer.state");
                if (s && trim(*s) == "FROZEN") return Status::Paused;
            } else if (d.v2 && c.layout() == CgroupLayout::V2) {
                auto s = read_file(d.path + "/cgroup.freeze");
                if (s && trim(*s) == "1") return Status::Paused;
            }
        }
    }
    struct stat sb;
    if (::stat((st.dir + "/exec.fifo").c_str(), &sb) == 0) return Status::Created;
    return Status::Running;
}

json::Value oci_state(const ContainerState& st, Status status) {
    auto doc = json::Value::object();
    doc.set("ociVersion", json::Value::string(oci::kSpecVersion));
    doc.set("id", json::Value::string(st.id));
    doc.set("status", json::Value::string(status_name(status)));
    if (status != Status::Stopped) doc.set("pid", json::Value::number(static_cast<int64_t>(st.pid)));
    else doc.set("pid", json::Value::number(0));
    doc.set("bundle", json::Value::string(st.bundle));
    if (auto a = st.config.find("annotations"); a && a->is_object() && !a->members().empty())
        doc.set("annotations", *a);
    return doc;
}

// runc's state document: the OCI state plus rootfs, created and owner.
json::Value runc_state(const ContainerState& st, Status s) {
    auto doc = json::Value::object();
    doc.set("ociVersion", json::Value::string(oci::kSpecVersion));
    doc.set("id", json::Value::string(st.id));
    doc.set("pid", json::Value::number(static_cast<int64_t>(s == Status::Stopped ? 0 : st.pid)));
    doc.set("status", json::Value::string(status_name(s)));
    doc.set("bundle", json::Value::string(st.bundle));
    doc.set("rootfs", json::Value::string(st.rootfs));
    doc.set("created", json::Value::string(st.created));
    if (auto a = st.config.find("annotations"); a && a->is_object() && !a->members().empty())
        doc.set("annotations", *a);
    doc.set("owner", json::Value::string(state_owner(st)));
    return doc;
}

std::string state_owner(const ContainerState& st) {
    struct stat sb;
    if (::stat(st.dir.c_str(), &sb) < 0) return "";
    // Parsed by hand: getpwuid in a static binary would need NSS modules.
    if (auto pw = read_file("/etc/passwd"))
        for (auto& line : split(*pw, '\n')) {
            auto f = split(line, ':');
            if (f.size() >= 3 && parse_u64(f[2]) == sb.st_uid) return f[0];
        }
    return std::to_string(sb.st_uid);
}

std::string now_rfc3339() {
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    // Civil date from days since the epoch (H. Hinnant's algorithm): glibc's
    // gmtime_r would read /etc/localtime on the start path.
    int64_t days = ts.tv_sec / 86400, secs = ts.tv_sec % 86400;
    int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
    char buf[128];
    std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%09ldZ", static_cast<long long>(y),
                  static_cast<long long>(m), static_cast<long long>(d), static_cast<long long>(secs / 3600),
                  static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60), ts.tv_nsec);
    return buf;
}

}  // namespace berth::runtime
