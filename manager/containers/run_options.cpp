#include "manager/containers/run_options.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <set>

#include "libutil/ip.hpp"
#include "libutil/signals.hpp"
#include "libutil/strings.hpp"
#include "manager/cli/args.hpp"
#include "manager/containers/spec.hpp"

namespace berth::manager {

namespace {

using json::Value;

std::unexpected<Error> bad(std::string_view flag, std::string_view value, std::string_view why) {
    return Err("invalid value ", quote(value), " for ", flag, ": ", why);
}

void note(std::vector<std::string>* notes, std::string msg) {
    if (notes)
        notes->push_back(std::move(msg));
    else
        std::cerr << "berth: note: " << msg << '\n';
}

bool is_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

// docker's [a-zA-Z0-9][a-zA-Z0-9_.-]+ (container and volume names).
bool valid_name(std::string_view s) {
    if (s.size() < 2 || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
    for (char c : s)
        if (!is_name_char(c)) return false;
    return true;
}

std::optional<bool> parse_bool(std::string_view s) {
    if (s == "true" || s == "1") return true;
    if (s == "false" || s == "0") return false;
    return std::nullopt;
}

// An absolute, clean container path other than "/".
Result<std::string> container_path(std::string_view flag, std::string_view whole, std::string_view p) {
    if (p.empty() || p[0] != '/') return bad(flag, whole, cat(quote(p), " is not an absolute path"));
    std::string c = clean_path(p);
    if (c == "/") return bad(flag, whole, "the destination must not be /");
    return c;
}

const std::set<std::string_view> kPropagations = {"rprivate", "private", "rshared", "shared", "rslave", "slave"};

// KEY=VALUE, or KEY alone: the host's value (nullopt when unset).
Result<std::optional<std::string>> env_entry(std::string_view flag, std::string_view v) {
    auto eq = v.find('=');
    std::string_view key = v.substr(0, eq);
    if (key.empty()) return bad(flag, v, "the variable name is empty");
    for (char c : key)
        if (std::isspace(static_cast<unsigned char>(c))) return bad(flag, v, "the variable name contains whitespace");
    std::string entry(v);
    if (eq == std::string_view::npos) {
        const char* host = std::getenv(entry.c_str());
        if (!host) return std::optional<std::string>();
        entry = cat(key, "=", host);
    }
    // Kept in JSON (the record, config.json), which holds UTF-8 only.
    if (!json::is_utf8(entry)) return bad(flag, key, "the value is not valid UTF-8");
    return std::optional<std::string>(std::move(entry));
}

Result<int64_t> positive_size(std::string_view flag, std::string_view v) {
    auto n = parse_docker_size(v);
    if (!n) return bad(flag, v, "not a size (bytes, or a number with b, k, m or g)");
    return *n;
}

Result<RestartPolicy> parse_restart(std::string_view v) {
    RestartPolicy p;
    std::string_view kind = v.substr(0, v.find(':'));
    bool has_count = kind.size() != v.size();
    if (kind == "no")
        p.kind = RestartPolicy::Kind::No;
    else if (kind == "always")
        p.kind = RestartPolicy::Kind::Always;
    else if (kind == "unless-stopped")
        p.kind = RestartPolicy::Kind::UnlessStopped;
    else if (kind == "on-failure")
        p.kind = RestartPolicy::Kind::OnFailure;
    else
        return bad("--restart", v, "not no, on-failure[:N], always or unless-stopped");
    if (has_count) {
        if (p.kind != RestartPolicy::Kind::OnFailure) return bad("--restart", v, "only on-failure takes a retry count");
        auto n = parse_u64(v.substr(kind.size() + 1));
        if (!n || *n > INT32_MAX) return bad("--restart", v, "the retry count is not a number");
        p.max_retries = static_cast<int>(*n);
    }
    return p;
}

Result<void> parse_security_opt(std::string_view v, RunOptions& o) {
    auto eq = v.find_first_of("=:");
    std::string_view key = v.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : v.substr(eq + 1);
    if (key == "no-new-privileges") {
        auto b = eq == std::string_view::npos ? std::optional<bool>(true) : parse_bool(value);
        if (!b) return bad("--security-opt", v, "no-new-privileges takes true or false");
        o.no_new_privileges = *b;
        return {};
    }
    if (key == "seccomp") {
        if (value.empty()) return bad("--security-opt", v, "seccomp takes unconfined or a profile file");
        if (value == "unconfined") {
            o.seccomp = "unconfined";
            return {};
        }
        std::string path(value);
        if (path[0] != '/') {
            char* cwd = ::getcwd(nullptr, 0);
            if (cwd) path = path_join(cwd, path);
            std::free(cwd);
        }
        // Checked now, so that a bad profile fails create, not start.
        TRY_CTX(load_seccomp_profile(path), "--security-opt seccomp");
        o.seccomp = path;
        return {};
    }
    return bad("--security-opt", v, "not supported (seccomp=unconfined|FILE, no-new-privileges[=true|false])");
}

Result<void> parse_log_opt(std::string_view v, RunOptions& o) {
    auto eq = v.find('=');
    std::string_view key = v.substr(0, eq);
    if (key != "max-size" || eq == std::string_view::npos) return bad("--log-opt", v, "only max-size=SIZE is supported");
    auto n = parse_docker_size(v.substr(eq + 1), false);
    if (!n || *n <= 0) return bad("--log-opt", v, "max-size is not a size (bytes, or a number with k, m or g)");
    o.log_max_size = static_cast<uint64_t>(*n);
    return {};
}

Result<std::map<std::string, std::string>::value_type> label_entry(std::string_view flag, std::string_view v) {
    auto eq = v.find('=');
    std::string key(v.substr(0, eq));
    if (key.empty()) return bad(flag, v, "the label name is empty");
    return std::pair<const std::string, std::string>(key, eq == std::string_view::npos ? "" : std::string(v.substr(eq + 1)));
}

// Lines of an env or label file: trimmed, without blanks and # comments.
Result<std::vector<std::pair<int, std::string>>> file_lines(const std::string& path, std::string_view flag) {
    auto text = TRY_CTX(read_file(path), flag, " ", path);
    std::vector<std::pair<int, std::string>> out;
    int n = 0;
    for (auto& line : split(text, '\n')) {
        ++n;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        // Leading whitespace goes, as docker does; the value keeps the rest.
        size_t start = line.find_first_not_of(" \t");
        if (start == std::string::npos || line[start] == '#') continue;
        out.emplace_back(n, line.substr(start));
    }
    return out;
}

}  // namespace

std::optional<int64_t> parse_docker_size(std::string_view s, bool binary) {
    // docker's units: ^(\d+(\.\d+)?) ?([kmgtp])?i?b?$, case-insensitive.
    std::string_view num = s;
    size_t end = 0;
    while (end < s.size() && (std::isdigit(static_cast<unsigned char>(s[end])) || s[end] == '.')) ++end;
    num = s.substr(0, end);
    std::string_view unit = s.substr(end);
    if (num.empty() || num[0] == '.' || num.back() == '.' || num.find('.') != num.rfind('.')) return std::nullopt;
    if (!unit.empty() && unit[0] == ' ') unit.remove_prefix(1);
    std::string u = to_upper(unit);
    if (!u.empty() && u.back() == 'B') u.pop_back();
    if (!u.empty() && u.back() == 'I') {
        u.pop_back();
        if (u.empty()) return std::nullopt;
    }
    if (u.size() > 1) return std::nullopt;
    int power = 0;
    if (!u.empty()) {
        auto p = std::string_view("KMGTP").find(u[0]);
        if (p == std::string_view::npos) return std::nullopt;
        power = static_cast<int>(p) + 1;
    }
    double value = std::strtod(std::string(num).c_str(), nullptr);
    double mult = std::pow(binary ? 1024.0 : 1000.0, power);
    double bytes = value * mult;
    if (!std::isfinite(bytes) || bytes >= 9.2e18) return std::nullopt;
    if (num.find('.') == std::string_view::npos) {
        auto n = parse_u64(num);
        if (!n) return std::nullopt;
        auto m = static_cast<uint64_t>(mult);
        if (*n > static_cast<uint64_t>(INT64_MAX) / m) return std::nullopt;
        return static_cast<int64_t>(*n * m);
    }
    return static_cast<int64_t>(bytes);
}

const std::vector<std::string>& all_capabilities() {
    static const std::vector<std::string> caps = {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
        "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"};
    return caps;
}

std::optional<std::string> normalize_capability(std::string_view s) {
    std::string up = to_upper(s);
    if (up == "ALL") return up;
    if (!up.starts_with("CAP_")) up = "CAP_" + up;
    for (const auto& c : all_capabilities())
        if (c == up) return up;
    return std::nullopt;
}

Result<MountRequest> parse_volume_flag(std::string_view v, std::vector<std::string>* notes) {
    constexpr std::string_view flag = "--volume";
    auto parts = split(v, ':');
    if (parts.size() > 3 || v.empty()) return bad(flag, v, "not SRC:DST[:OPTS] or DST");
    MountRequest m;
    if (parts.size() == 1) {
        m.type = MountRequest::Type::Volume;  // anonymous
        m.destination = TRY(container_path(flag, v, parts[0]));
        return m;
    }
    const std::string& src = parts[0];
    if (src.empty()) return bad(flag, v, "the source is empty");
    if (src[0] == '/') {
        m.type = MountRequest::Type::Bind;
        m.source = clean_path(src);
    } else if (valid_name(src)) {
        m.type = MountRequest::Type::Volume;
        m.source = src;
    } else {
        return bad(flag, v, cat(quote(src), " is neither an absolute path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)"));
    }
    m.destination = TRY(container_path(flag, v, parts[1]));
    if (parts.size() < 3) return m;
    bool saw_mode = false;
    for (const auto& opt : split(parts[2], ',')) {
        if (opt == "ro" || opt == "rw") {
            if (saw_mode) return bad(flag, v, "ro and rw given more than once");
            saw_mode = true;
            m.read_only = opt == "ro";
        } else if (opt == "z" || opt == "Z") {
            note(notes, cat("volume option ", opt, " ignored (no SELinux labels)"));
        } else if (kPropagations.count(opt)) {
            if (m.type != MountRequest::Type::Bind) return bad(flag, v, cat("propagation ", opt, " applies to bind mounts only"));
            if (!m.propagation.empty()) return bad(flag, v, "more than one propagation");
            m.propagation = opt;
        } else if (opt == "nocopy") {
            if (m.type != MountRequest::Type::Volume) return bad(flag, v, "nocopy applies to volumes only");
            m.nocopy = true;
        } else {
            return bad(flag, v, cat("unknown option ", quote(opt)));
        }
    }
    return m;
}

Result<MountRequest> parse_mount_flag(std::string_view v) {
    constexpr std::string_view flag = "--mount";
    MountRequest m;
    std::string type = "volume";
    bool has_target = false, bind_opt = false, volume_opt = false, tmpfs_opt = false;
    std::string target;
    for (const auto& field : split(v, ',')) {
        auto eq = field.find('=');
        std::string key = field.substr(0, eq);
        bool has_value = eq != std::string::npos;
        std::string value = has_value ? field.substr(eq + 1) : "";
        auto need_value = [&]() -> Result<void> {
            if (!has_value || value.empty()) return bad(flag, v, cat(key, " needs a value"));
            return {};
        };
        if (key == "type") {
            TRY(need_value());
            if (value != "bind" && value != "volume" && value != "tmpfs")
                return bad(flag, v, cat("type ", quote(value), " is not bind, volume or tmpfs"));
            type = value;
        } else if (key == "source" || key == "src") {
            TRY(need_value());
            m.source = value;
        } else if (key == "target" || key == "destination" || key == "dst") {
            TRY(need_value());
            target = value;
            has_target = true;
        } else if (key == "readonly" || key == "ro") {
            auto b = has_value ? parse_bool(value) : std::optional<bool>(true);
            if (!b) return bad(flag, v, cat(key, " takes true or false"));
            m.read_only = *b;
        } else if (key == "bind-propagation") {
            if (!kPropagations.count(value)) return bad(flag, v, cat("bind-propagation ", quote(value), " is not a propagation"));
            m.propagation = value;
            bind_opt = true;
        } else if (key == "volume-nocopy") {
            auto b = has_value ? parse_bool(value) : std::optional<bool>(true);
            if (!b) return bad(flag, v, "volume-nocopy takes true or false");
            m.nocopy = *b;
            volume_opt = true;
        } else if (key == "tmpfs-size") {
            auto n = parse_docker_size(value);
            if (!n || *n <= 0) return bad(flag, v, cat("tmpfs-size ", quote(value), " is not a size"));
            m.tmpfs_size = static_cast<uint64_t>(*n);
            tmpfs_opt = true;
        } else if (key == "tmpfs-mode") {
            uint32_t mode = 0;
            auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), mode, 8);
            if (value.empty() || ec != std::errc() || p != value.data() + value.size() || mode > 07777)
                return bad(flag, v, cat("tmpfs-mode ", quote(value), " is not an octal mode"));
            m.tmpfs_mode = mode;
            tmpfs_opt = true;
        } else if (key == "consistency") {
            // docker accepts and ignores it on Linux.
        } else {
            return bad(flag, v, cat("unknown field ", quote(key)));
        }
    }
    if (!has_target) return bad(flag, v, "target is missing");
    m.destination = TRY(container_path(flag, v, target));
    if ((bind_opt && type != "bind") || (volume_opt && type != "volume") || (tmpfs_opt && type != "tmpfs"))
        return bad(flag, v, cat("options of another type given with type=", type));
    if (type == "bind") {
        m.type = MountRequest::Type::Bind;
        if (m.source.empty() || m.source[0] != '/') return bad(flag, v, "a bind mount needs an absolute source");
        m.source = clean_path(m.source);
    } else if (type == "volume") {
        m.type = MountRequest::Type::Volume;
        if (!m.source.empty() && !valid_name(m.source))
            return bad(flag, v, cat(quote(m.source), " is not a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)"));
    } else {
        m.type = MountRequest::Type::Tmpfs;
        if (!m.source.empty()) return bad(flag, v, "a tmpfs mount takes no source");
    }
    return m;
}

Result<MountRequest> parse_tmpfs_flag(std::string_view v) {
    constexpr std::string_view flag = "--tmpfs";
    auto colon = v.find(':');
    MountRequest m;
    m.type = MountRequest::Type::Tmpfs;
    m.destination = TRY(container_path(flag, v, v.substr(0, colon)));
    if (colon == std::string_view::npos) return m;
    static const std::set<std::string_view> flags = {
        "noexec", "exec", "nosuid", "suid", "nodev", "dev", "sync", "async", "dirsync", "atime", "noatime",
        "relatime", "norelatime", "strictatime", "nostrictatime", "diratime", "nodiratime"};
    for (const auto& opt : split(v.substr(colon + 1), ',')) {
        auto eq = opt.find('=');
        std::string key = opt.substr(0, eq);
        std::string value = eq == std::string::npos ? "" : opt.substr(eq + 1);
        if (opt == "ro" || opt == "rw") {
            m.read_only = opt == "ro";
        } else if (flags.count(opt)) {
            m.extra_options.push_back(opt);
        } else if (key == "size") {
            auto n = parse_docker_size(value);
            if (!n || *n <= 0) return bad(flag, v, cat("size ", quote(value), " is not a size"));
            m.tmpfs_size = static_cast<uint64_t>(*n);
        } else if (key == "mode") {
            uint32_t mode = 0;
            auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), mode, 8);
            if (value.empty() || ec != std::errc() || p != value.data() + value.size() || mode > 07777)
                return bad(flag, v, cat("mode ", quote(value), " is not an octal mode"));
            m.tmpfs_mode = mode;
        } else if ((key == "uid" || key == "gid" || key == "nr_inodes") && eq != std::string::npos && parse_u64(value)) {
            m.extra_options.push_back(opt);
        } else {
            return bad(flag, v, cat("unknown option ", quote(opt)));
        }
    }
    return m;
}

Result<std::vector<std::string>> read_env_file(const std::string& path, std::string_view flag) {
    std::vector<std::string> out;
    for (const auto& [n, line] : TRY(file_lines(path, flag))) {
        auto e = env_entry(flag, line);
        if (!e) return Err(flag, " ", path, ": line ", n, ": ", e.error().message);
        if (*e) out.push_back(std::move(**e));
    }
    return out;
}

namespace {

// "80" or "8000-8010" (1..65535); nullopt when it is neither.
std::optional<std::pair<uint16_t, uint16_t>> port_range(std::string_view s) {
    auto one = [](std::string_view p) -> std::optional<uint16_t> {
        auto n = parse_u64(p);
        if (!n || *n < 1 || *n > 65535 || p.empty() || p[0] == '+') return std::nullopt;
        return static_cast<uint16_t>(*n);
    };
    auto dash = s.find('-');
    auto lo = one(s.substr(0, dash));
    auto hi = dash == std::string_view::npos ? lo : one(s.substr(dash + 1));
    if (!lo || !hi || *hi < *lo) return std::nullopt;
    return std::pair{*lo, *hi};
}

// A network name (docker's rule for them: [a-zA-Z0-9][a-zA-Z0-9_.-]*).
bool valid_network_name(std::string_view s) {
    if (s.empty() || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
    for (char c : s)
        if (!is_name_char(c)) return false;
    return true;
}

}  // namespace

Result<std::vector<PublishRequest>> parse_publish_flag(std::string_view v) {
    auto fail = [&](std::string_view why) { return bad("--publish", v, why); };
    std::string_view rest = v;
    std::string proto = "tcp";
    if (auto slash = rest.rfind('/'); slash != std::string_view::npos) {
        proto = std::string(rest.substr(slash + 1));
        if (proto != "tcp" && proto != "udp") return fail(cat("protocol ", quote(proto), " is not tcp or udp"));
        rest = rest.substr(0, slash);
    }
    std::string host_ip;
    // "[v6]:HOST:CONTAINER" or "IP:HOST:CONTAINER" (IPv4 has no colon).
    if (rest.starts_with('[')) {
        auto close = rest.find("]:");
        if (close == std::string_view::npos) return fail("an IPv6 host address is written [ADDRESS]:HOSTPORT:PORT");
        host_ip = std::string(rest.substr(1, close - 1));
        rest = rest.substr(close + 2);
        if (rest.find(':') == std::string_view::npos) return fail("an IPv6 host address is written [ADDRESS]:HOSTPORT:PORT");
    }
    auto parts = split(rest, ':');
    if (parts.size() > 3 || (!host_ip.empty() && parts.size() != 2))
        return fail("not [IP:][HOSTPORT:]PORT[/PROTOCOL]");
    if (parts.size() == 3) host_ip = parts[0];
    if (!host_ip.empty()) {
        auto ip = parse_ip(host_ip);
        if (!ip) return fail(cat(quote(host_ip), " is not an IP address"));
        host_ip = ip->str();
        // 127.0.0.1 works through route_localnet; IPv6 has no such switch.
        if (host_ip == "::1") return fail("::1 cannot be published (the kernel routes no ::1 traffic into a container); use 127.0.0.1");
    }
    std::string cport = parts.back();
    std::string hport = parts.size() >= 2 ? parts[parts.size() - 2] : "";
    auto c = port_range(cport);
    if (!c) return fail(cat(quote(cport), " is not a port (1-65535) or a range of them"));
    std::pair<uint16_t, uint16_t> h{0, 0};
    if (!hport.empty()) {
        auto r = port_range(hport);
        if (!r) return fail(cat(quote(hport), " is not a port (1-65535) or a range of them"));
        h = *r;
        if (h.second - h.first != c->second - c->first)
            return fail("the host and container port ranges differ in length");
    }
    std::vector<PublishRequest> out;
    for (unsigned i = 0; i <= static_cast<unsigned>(c->second - c->first); ++i)
        out.push_back({host_ip, static_cast<uint16_t>(h.first ? h.first + i : 0), static_cast<uint16_t>(c->first + i), proto});
    return out;
}

static Result<void> parse_network_flags(const Args& a, RunOptions& o, std::vector<std::string>* notes) {
    std::vector<std::string> nets = a.get_all("network");
    for (auto& n : a.get_all("net")) nets.push_back(n);
    if (!nets.empty()) {
        o.networks.clear();
        for (const auto& n : nets) {
            bool special = n == "none" || n == "host" || n.starts_with("container:");
            if (n.starts_with("container:") && n.size() == 10)
                return bad("--network", n, "container: needs a container's name or id");
            if (!special && !valid_network_name(n))
                return bad("--network", n, "not none, host, container:NAME or a network's name");
            if (special && nets.size() > 1)
                return bad("--network", n, "cannot be combined with other networks");
            if (std::find(o.networks.begin(), o.networks.end(), n) != o.networks.end())
                return bad("--network", n, "given twice");
            o.networks.push_back(n);
        }
        o.network = nets[0];
        if (o.network == "none" || o.network == "host" || o.network.starts_with("container:")) o.networks.clear();
    }
    bool own = !o.networks.empty();  // an interface of its own on a bridge
    auto needs_own = [&](std::string_view flag, const std::string& v) -> Result<void> {
        if (!own) return bad(flag, v, cat("needs a bridge or user network, not --network ", o.network));
        return {};
    };
    for (const char* flag : {"ip", "ip6"})
        if (a.values.count(flag)) {
            auto v = a.get(flag);
            auto ip = parse_ip(v);
            if (!ip || ip->is_v4() != (std::string_view(flag) == "ip"))
                return bad(cat("--", flag), v, std::string_view(flag) == "ip" ? "not an IPv4 address" : "not an IPv6 address");
            TRY(needs_own(cat("--", flag), v));
            (std::string_view(flag) == "ip" ? o.ip : o.ip6) = ip->str();
        }
    for (const auto& al : a.get_all("network-alias")) {
        if (!valid_network_name(al)) return bad("--network-alias", al, "names are [a-zA-Z0-9][a-zA-Z0-9_.-]*");
        TRY(needs_own("--network-alias", al));
        o.aliases.push_back(al);
    }
    for (const auto& d : a.get_all("dns")) {
        auto ip = parse_ip(d);
        if (!ip) return bad("--dns", d, "not an IP address");
        if (o.network == "host" || o.network.starts_with("container:"))
            return bad("--dns", d, cat("cannot be used with --network ", o.network));
        o.dns.push_back(ip->str());
    }
    for (const auto& d : a.get_all("dns-search")) {
        if (d.empty() || d.find_first_of(" \t\n") != std::string::npos) return bad("--dns-search", d, "not a domain");
        o.dns_search.push_back(d);
    }
    for (const auto& d : a.get_all("dns-option")) {
        if (d.empty() || d.find_first_of(" \t\n") != std::string::npos) return bad("--dns-option", d, "not a resolver option");
        o.dns_options.push_back(d);
    }
    for (const auto& h : a.get_all("add-host")) {
        // NAME:IP or NAME=IP; IPv6 addresses have colons, so split at the first.
        auto sep = h.find_first_of(":=");
        if (sep == std::string::npos || sep == 0) return bad("--add-host", h, "not NAME:IP");
        std::string name = h.substr(0, sep), addr = h.substr(sep + 1);
        if (addr.starts_with('[') && addr.ends_with(']')) addr = addr.substr(1, addr.size() - 2);
        for (char ch : name)
            if (!is_name_char(ch)) return bad("--add-host", h, cat(quote(name), " is not a host name"));
        if (addr != "host-gateway") {
            auto ip = parse_ip(addr);
            if (!ip) return bad("--add-host", h, cat(quote(addr), " is not an IP address or host-gateway"));
            addr = ip->str();
        } else if (!own) {
            return bad("--add-host", h, cat("host-gateway needs a bridge or user network, not --network ", o.network));
        }
        o.add_hosts.push_back(cat(name, " ", addr));
    }
    for (const auto& p : a.get_all("publish")) {
        auto reqs = TRY(parse_publish_flag(p));
        if (o.network == "host") {
            note(notes, cat("-p ", p, ": published ports are not needed with --network host (ignored)"));
            continue;
        }
        if (!own) return bad("--publish", p, cat("ports cannot be published with --network ", o.network));
        o.publish.insert(o.publish.end(), reqs.begin(), reqs.end());
    }
    o.publish_all = a.has("publish-all");
    if (o.publish_all && !own && o.network != "host")
        return Err("--publish-all: ports cannot be published with --network ", o.network);
    if (o.network == "host") o.publish_all = false;
    return {};
}

Result<RunOptions> parse_run_options(int argc, char** argv, int start, std::vector<std::string>* notes) {
    auto a = TRY(parse_args(argc, argv, start,
                            {{"detach", 'd', false},      {"interactive", 'i', false}, {"tty", 't', false},
                             {"rm", 0, false},            {"name", 0, true},           {"env", 'e', true},
                             {"env-file", 0, true},       {"workdir", 'w', true},      {"user", 'u', true},
                             {"entrypoint", 0, true},     {"hostname", 'h', true},     {"label", 'l', true},
                             {"label-file", 0, true},     {"volume", 'v', true},       {"mount", 0, true},
                             {"tmpfs", 0, true},          {"read-only", 0, false},     {"memory", 'm', true},
                             {"memory-swap", 0, true},    {"cpus", 0, true},           {"pids-limit", 0, true},
                             {"cap-add", 0, true},        {"cap-drop", 0, true},       {"privileged", 0, false},
                             {"security-opt", 0, true},   {"restart", 0, true},        {"stop-signal", 0, true},
                             {"stop-timeout", 0, true},   {"init", 0, false},          {"runtime", 0, true},
                             {"log-opt", 0, true},        {"network", 0, true},        {"net", 0, true},
                             {"publish", 'p', true},      {"pull", 0, true},           {"tls-verify", 0, false},
                             {"publish-all", 'P', false}, {"ip", 0, true},             {"ip6", 0, true},
                             {"network-alias", 0, true},  {"dns", 0, true},            {"dns-search", 0, true},
                             {"dns-option", 0, true},     {"add-host", 0, true}},
                            true));
    // The options end up in JSON (the record, config.json), which holds
    // UTF-8 only; -e KEY and the files are checked where they are read.
    for (int i = start; i < argc; ++i)
        if (!json::is_utf8(argv[i])) return Err("argument ", i - start + 1, " is not valid UTF-8");
    RunOptions o;
    if (a.positional.empty()) return Err("an image is needed: [OPTIONS] IMAGE [COMMAND] [ARG...]");
    o.image = a.positional[0];
    o.command.assign(a.positional.begin() + 1, a.positional.end());
    o.detach = a.has("detach");
    o.interactive = a.has("interactive");
    o.tty = a.has("tty");
    o.remove = a.has("rm");
    o.read_only = a.has("read-only");
    o.privileged = a.has("privileged");
    o.init = a.has("init");

    if (a.values.count("name")) {
        o.name = a.get("name");
        if (!o.name.empty() && o.name[0] == '/') o.name.erase(0, 1);
        if (!valid_name(o.name)) return bad("--name", a.get("name"), "names are [a-zA-Z0-9][a-zA-Z0-9_.-]+");
    }
    if (a.values.count("hostname")) {
        o.hostname = a.get("hostname");
        bool ok = !o.hostname.empty() && o.hostname.size() <= 64;
        for (char c : o.hostname) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_');
        if (!ok) return bad("--hostname", o.hostname, "a hostname is 1 to 64 of [a-zA-Z0-9._-]");
    }
    if (a.values.count("workdir")) {
        auto w = a.get("workdir");
        if (w.empty() || w[0] != '/') return bad("--workdir", w, "not an absolute path");
        o.workdir = clean_path(w);
    }
    if (a.values.count("user")) {
        o.user = a.get("user");
        auto parts = split(o.user, ':');
        if (o.user.empty() || parts.size() > 2 || parts[0].empty() || (parts.size() == 2 && parts[1].empty()))
            return bad("--user", o.user, "not USER[:GROUP] (a name or a number each)");
    }
    if (a.values.count("entrypoint")) {
        auto e = a.get("entrypoint");
        o.entrypoint = e.empty() ? std::vector<std::string>{} : std::vector<std::string>{e};
    }
    // -e and --env-file in docker's order: the files first, then -e.
    for (const auto& f : a.get_all("env-file"))
        for (auto& e : TRY(read_env_file(f, "--env-file"))) o.env.push_back(std::move(e));
    for (const auto& e : a.get_all("env"))
        if (auto v = TRY(env_entry("--env", e))) o.env.push_back(std::move(*v));
    for (const auto& f : a.get_all("label-file"))
        for (const auto& [n, line] : TRY(file_lines(f, "--label-file"))) {
            if (!json::is_utf8(line)) return Err("--label-file ", f, ": line ", n, ": not valid UTF-8");
            auto l = label_entry("--label-file", line);
            if (!l) return Err("--label-file ", f, ": line ", n, ": ", l.error().message);
            o.labels[l->first] = l->second;
        }
    for (const auto& l : a.get_all("label")) {
        auto kv = TRY(label_entry("--label", l));
        o.labels[kv.first] = kv.second;
    }

    // Mounts in the order given: -v, then --mount, then --tmpfs (each kept in order).
    for (const auto& v : a.get_all("volume")) o.mounts.push_back(TRY(parse_volume_flag(v, notes)));
    for (const auto& v : a.get_all("mount")) o.mounts.push_back(TRY(parse_mount_flag(v)));
    for (const auto& v : a.get_all("tmpfs")) o.mounts.push_back(TRY(parse_tmpfs_flag(v)));
    std::set<std::string> dests;
    for (const auto& m : o.mounts)
        if (!dests.insert(m.destination).second) return Err("duplicate mount point: ", m.destination);

    if (a.values.count("memory")) {
        auto v = a.get("memory");
        o.memory = TRY(positive_size("--memory", v));
        if (*o.memory < (6 << 20)) return bad("--memory", v, "the minimum memory limit is 6m");
    }
    if (a.values.count("memory-swap")) {
        auto v = a.get("memory-swap");
        if (v == "-1")
            o.memory_swap = -1;
        else
            o.memory_swap = TRY(positive_size("--memory-swap", v));
        if (!o.memory) return bad("--memory-swap", v, "needs --memory as well");
        if (*o.memory_swap != -1 && *o.memory_swap < *o.memory)
            return bad("--memory-swap", v, "must not be less than --memory (it counts memory plus swap)");
    }
    if (a.values.count("cpus")) {
        auto v = a.get("cpus");
        char* end = nullptr;
        double d = std::strtod(v.c_str(), &end);
        if (v.empty() || *end || !std::isfinite(d) || d <= 0 || d > 1e6)
            return bad("--cpus", v, "not a decimal number above 0");
        o.cpus = d;
    }
    if (a.values.count("pids-limit")) {
        auto v = a.get("pids-limit");
        auto n = parse_i64(v);
        if (!n) return bad("--pids-limit", v, "not a number");
        o.pids_limit = *n <= 0 ? -1 : *n;  // 0 and -1: unlimited, as docker
    }
    for (const char* flag : {"cap-add", "cap-drop"})
        for (const auto& c : a.get_all(flag)) {
            auto n = normalize_capability(c);
            if (!n) return bad(cat("--", flag), c, cat("unknown capability ", quote(c)));
            (std::string_view(flag) == "cap-add" ? o.cap_add : o.cap_drop).push_back(*n);
        }
    for (const auto& s : a.get_all("security-opt")) TRY(parse_security_opt(s, o));
    if (a.values.count("restart")) o.restart = TRY(parse_restart(a.get("restart")));
    if (o.remove && o.restart.kind != RestartPolicy::Kind::No)
        return Err("--rm and --restart ", a.get("restart"), " conflict: a container removed at exit is not restarted");
    if (a.values.count("stop-signal")) {
        auto v = a.get("stop-signal");
        auto sig = parse_signal(v);
        if (!sig) return bad("--stop-signal", v, "not a signal name or number");
        o.stop_signal = signal_name(*sig);
    }
    if (a.values.count("stop-timeout")) {
        auto v = a.get("stop-timeout");
        auto n = parse_i64(v);
        if (!n || *n < -1 || *n > INT32_MAX) return bad("--stop-timeout", v, "not a number of seconds (-1: no limit)");
        o.stop_timeout = static_cast<int>(*n);
    }
    if (a.values.count("runtime")) {
        o.runtime = a.get("runtime");
        if (o.runtime.empty()) return bad("--runtime", o.runtime, "the runtime path is empty");
    }
    for (const auto& l : a.get_all("log-opt")) TRY(parse_log_opt(l, o));
    TRY(parse_network_flags(a, o, notes));
    if (a.values.count("pull")) {
        o.pull = a.get("pull");
        if (o.pull != "missing" && o.pull != "never" && o.pull != "always")
            return Err("invalid value \"", o.pull, "\" for --pull: want missing, never or always");
    }
    if (a.values.count("tls-verify")) o.tls_verify = a.get("tls-verify") != "false";
    return o;
}

// ---- the JSON record ------------------------------------------------------

namespace {

Value str(const std::string& s) { return Value::string(s); }

Value strs(const std::vector<std::string>& v) {
    Value out = Value::array();
    for (const auto& s : v) out.push(str(s));
    return out;
}

const char* mount_type_name(MountRequest::Type t) {
    switch (t) {
    case MountRequest::Type::Bind: return "bind";
    case MountRequest::Type::Volume: return "volume";
    case MountRequest::Type::Tmpfs: return "tmpfs";
    }
    return "volume";
}

const char* restart_name(RestartPolicy::Kind k) {
    switch (k) {
    case RestartPolicy::Kind::No: return "no";
    case RestartPolicy::Kind::OnFailure: return "on-failure";
    case RestartPolicy::Kind::Always: return "always";
    case RestartPolicy::Kind::UnlessStopped: return "unless-stopped";
    }
    return "no";
}

// Shortest text that reads back as the same double.
Value exact_double(double d) {
    char buf[64];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, d);
    return Value::number_text(std::string(buf, p));
}

// Typed reads of the record; errors name the field.
struct Reader {
    const Value& obj;
    std::string where;

    Result<const Value*> get(std::string_view key, Value::Type t) const {
        const Value* v = obj.find(key);
        if (!v || v->is_null()) return nullptr;
        if (v->type() != t)
            return Err(where, ".", key, ": expected ", Value::type_name(t), ", got ", Value::type_name(v->type()));
        return v;
    }
    Result<void> read(std::string_view key, std::string& out) const {
        if (auto v = TRY(get(key, Value::Type::String))) out = v->as_string();
        return {};
    }
    Result<void> read(std::string_view key, bool& out) const {
        if (auto v = TRY(get(key, Value::Type::Bool))) out = v->as_bool();
        return {};
    }
    Result<void> read(std::string_view key, std::vector<std::string>& out) const {
        auto v = TRY(get(key, Value::Type::Array));
        if (!v) return {};
        out.clear();
        for (const auto& i : v->items()) {
            if (!i.is_string()) return Err(where, ".", key, ": expected an array of strings");
            out.push_back(i.as_string());
        }
        return {};
    }
    template <class T>
    Result<std::optional<T>> integer(std::string_view key) const {
        auto v = TRY(get(key, Value::Type::Number));
        if (!v) return std::optional<T>();
        if constexpr (std::is_unsigned_v<T>) {
            auto n = v->as_uint64();
            if (!n || *n > std::numeric_limits<T>::max()) return Err(where, ".", key, ": out of range");
            return std::optional<T>(static_cast<T>(*n));
        } else {
            auto n = v->as_int64();
            if (!n || *n > std::numeric_limits<T>::max() || *n < std::numeric_limits<T>::min())
                return Err(where, ".", key, ": out of range");
            return std::optional<T>(static_cast<T>(*n));
        }
    }
};

}  // namespace

json::Value to_json(const RunOptions& o) {
    Value v = Value::object();
    v.set("image", str(o.image));
    v.set("command", strs(o.command));
    if (o.entrypoint) v.set("entrypoint", strs(*o.entrypoint));
    v.set("detach", Value::boolean(o.detach));
    v.set("interactive", Value::boolean(o.interactive));
    v.set("tty", Value::boolean(o.tty));
    v.set("remove", Value::boolean(o.remove));
    v.set("name", str(o.name));
    v.set("hostname", str(o.hostname));
    v.set("workdir", str(o.workdir));
    v.set("user", str(o.user));
    v.set("env", strs(o.env));
    Value labels = Value::object();
    for (const auto& [k, val] : o.labels) labels.set(k, str(val));
    v.set("labels", std::move(labels));
    Value mounts = Value::array();
    for (const auto& m : o.mounts) {
        Value j = Value::object();
        j.set("type", str(mount_type_name(m.type)));
        j.set("source", str(m.source));
        j.set("destination", str(m.destination));
        j.set("readOnly", Value::boolean(m.read_only));
        j.set("propagation", str(m.propagation));
        j.set("nocopy", Value::boolean(m.nocopy));
        j.set("tmpfsSize", Value::number(m.tmpfs_size));
        j.set("tmpfsMode", Value::number(m.tmpfs_mode));
        j.set("options", strs(m.extra_options));
        mounts.push(std::move(j));
    }
    v.set("mounts", std::move(mounts));
    v.set("readOnly", Value::boolean(o.read_only));
    v.set("privileged", Value::boolean(o.privileged));
    v.set("noNewPrivileges", Value::boolean(o.no_new_privileges));
    v.set("init", Value::boolean(o.init));
    if (o.memory) v.set("memory", Value::number(*o.memory));
    if (o.memory_swap) v.set("memorySwap", Value::number(*o.memory_swap));
    if (o.cpus) v.set("cpus", exact_double(*o.cpus));
    if (o.pids_limit) v.set("pidsLimit", Value::number(*o.pids_limit));
    v.set("capAdd", strs(o.cap_add));
    v.set("capDrop", strs(o.cap_drop));
    v.set("seccomp", str(o.seccomp));
    Value restart = Value::object();
    restart.set("policy", str(restart_name(o.restart.kind)));
    restart.set("maxRetries", Value::number(o.restart.max_retries));
    v.set("restart", std::move(restart));
    v.set("stopSignal", str(o.stop_signal));
    if (o.stop_timeout) v.set("stopTimeout", Value::number(*o.stop_timeout));
    v.set("runtime", str(o.runtime));
    v.set("logMaxSize", Value::number(o.log_max_size));
    v.set("network", str(o.network));
    v.set("networks", strs(o.networks));
    v.set("ip", str(o.ip));
    v.set("ip6", str(o.ip6));
    v.set("aliases", strs(o.aliases));
    v.set("dns", strs(o.dns));
    v.set("dnsSearch", strs(o.dns_search));
    v.set("dnsOptions", strs(o.dns_options));
    v.set("addHosts", strs(o.add_hosts));
    Value publish = Value::array();
    for (const auto& p : o.publish) {
        Value j = Value::object();
        j.set("hostIp", str(p.host_ip));
        j.set("hostPort", Value::number(p.host_port));
        j.set("containerPort", Value::number(p.container_port));
        j.set("protocol", str(p.proto));
        publish.push(std::move(j));
    }
    v.set("publish", std::move(publish));
    v.set("publishAll", Value::boolean(o.publish_all));
    return v;
}

Result<RunOptions> run_options_from_json(const json::Value& v) {
    if (!v.is_object()) return Err("run options: expected an object");
    Reader r{v, "run options"};
    RunOptions o;
    TRY(r.read("image", o.image));
    TRY(r.read("command", o.command));
    if (v.find("entrypoint")) {
        o.entrypoint.emplace();
        TRY(r.read("entrypoint", *o.entrypoint));
    }
    TRY(r.read("detach", o.detach));
    TRY(r.read("interactive", o.interactive));
    TRY(r.read("tty", o.tty));
    TRY(r.read("remove", o.remove));
    TRY(r.read("name", o.name));
    TRY(r.read("hostname", o.hostname));
    TRY(r.read("workdir", o.workdir));
    TRY(r.read("user", o.user));
    TRY(r.read("env", o.env));
    if (auto labels = TRY(r.get("labels", Value::Type::Object)))
        for (const auto& [k, val] : labels->members()) {
            if (!val.is_string()) return Err("run options.labels.", k, ": expected string");
            o.labels[k] = val.as_string();
        }
    if (auto mounts = TRY(r.get("mounts", Value::Type::Array)))
        for (size_t i = 0; i < mounts->items().size(); ++i) {
            const auto& j = mounts->items()[i];
            if (!j.is_object()) return Err("run options.mounts[", i, "]: expected object");
            Reader mr{j, cat("run options.mounts[", i, "]")};
            MountRequest m;
            std::string type;
            TRY(mr.read("type", type));
            if (type == "bind")
                m.type = MountRequest::Type::Bind;
            else if (type == "volume")
                m.type = MountRequest::Type::Volume;
            else if (type == "tmpfs")
                m.type = MountRequest::Type::Tmpfs;
            else
                return Err(mr.where, ".type: unknown type ", quote(type));
            TRY(mr.read("source", m.source));
            TRY(mr.read("destination", m.destination));
            TRY(mr.read("readOnly", m.read_only));
            TRY(mr.read("propagation", m.propagation));
            TRY(mr.read("nocopy", m.nocopy));
            m.tmpfs_size = TRY(mr.integer<uint64_t>("tmpfsSize")).value_or(0);
            m.tmpfs_mode = TRY(mr.integer<uint32_t>("tmpfsMode")).value_or(0);
            TRY(mr.read("options", m.extra_options));
            o.mounts.push_back(std::move(m));
        }
    TRY(r.read("readOnly", o.read_only));
    TRY(r.read("privileged", o.privileged));
    TRY(r.read("noNewPrivileges", o.no_new_privileges));
    TRY(r.read("init", o.init));
    o.memory = TRY(r.integer<int64_t>("memory"));
    o.memory_swap = TRY(r.integer<int64_t>("memorySwap"));
    if (auto c = TRY(r.get("cpus", Value::Type::Number))) {
        auto d = c->as_double();
        if (!d || !std::isfinite(*d) || *d <= 0) return Err("run options.cpus: not a number above 0");
        o.cpus = d;
    }
    o.pids_limit = TRY(r.integer<int64_t>("pidsLimit"));
    TRY(r.read("capAdd", o.cap_add));
    TRY(r.read("capDrop", o.cap_drop));
    TRY(r.read("seccomp", o.seccomp));
    if (auto rp = TRY(r.get("restart", Value::Type::Object))) {
        Reader rr{*rp, "run options.restart"};
        std::string policy = "no";
        TRY(rr.read("policy", policy));
        o.restart = TRY(parse_restart(policy));
        o.restart.max_retries = TRY(rr.integer<int>("maxRetries")).value_or(0);
    }
    TRY(r.read("stopSignal", o.stop_signal));
    o.stop_timeout = TRY(r.integer<int>("stopTimeout"));
    TRY(r.read("runtime", o.runtime));
    o.log_max_size = TRY(r.integer<uint64_t>("logMaxSize")).value_or(0);
    // Records made before networks existed ran with no network.
    o.network = "none";
    o.networks.clear();
    TRY(r.read("network", o.network));
    TRY(r.read("networks", o.networks));
    TRY(r.read("ip", o.ip));
    TRY(r.read("ip6", o.ip6));
    TRY(r.read("aliases", o.aliases));
    TRY(r.read("dns", o.dns));
    TRY(r.read("dnsSearch", o.dns_search));
    TRY(r.read("dnsOptions", o.dns_options));
    TRY(r.read("addHosts", o.add_hosts));
    if (auto pub = TRY(r.get("publish", Value::Type::Array)))
        for (size_t i = 0; i < pub->items().size(); ++i) {
            const auto& j = pub->items()[i];
            if (!j.is_object()) return Err("run options.publish[", i, "]: expected object");
            Reader pr{j, cat("run options.publish[", i, "]")};
            PublishRequest p;
            TRY(pr.read("hostIp", p.host_ip));
            p.host_port = TRY(pr.integer<uint16_t>("hostPort")).value_or(0);
            p.container_port = TRY(pr.integer<uint16_t>("containerPort")).value_or(0);
            TRY(pr.read("protocol", p.proto));
            o.publish.push_back(std::move(p));
        }
    TRY(r.read("publishAll", o.publish_all));
    return o;
}

bool operator==(const MountRequest& a, const MountRequest& b) {
    return a.type == b.type && a.source == b.source && a.destination == b.destination && a.read_only == b.read_only &&
           a.propagation == b.propagation && a.nocopy == b.nocopy && a.tmpfs_size == b.tmpfs_size &&
           a.tmpfs_mode == b.tmpfs_mode && a.extra_options == b.extra_options;
}

bool operator==(const RunOptions& a, const RunOptions& b) {
    return a.image == b.image && a.command == b.command && a.entrypoint == b.entrypoint && a.detach == b.detach &&
           a.interactive == b.interactive && a.tty == b.tty && a.remove == b.remove && a.name == b.name &&
           a.hostname == b.hostname && a.workdir == b.workdir && a.user == b.user && a.env == b.env &&
           a.labels == b.labels && a.mounts == b.mounts && a.read_only == b.read_only &&
           a.privileged == b.privileged && a.no_new_privileges == b.no_new_privileges && a.init == b.init &&
           a.memory == b.memory && a.memory_swap == b.memory_swap && a.cpus == b.cpus &&
           a.pids_limit == b.pids_limit && a.cap_add == b.cap_add && a.cap_drop == b.cap_drop &&
           a.seccomp == b.seccomp && a.restart.kind == b.restart.kind &&
           a.restart.max_retries == b.restart.max_retries && a.stop_signal == b.stop_signal &&
           a.stop_timeout == b.stop_timeout && a.runtime == b.runtime && a.log_max_size == b.log_max_size &&
           a.network == b.network && a.networks == b.networks && a.ip == b.ip && a.ip6 == b.ip6 &&
           a.aliases == b.aliases && a.dns == b.dns && a.dns_search == b.dns_search &&
           a.dns_options == b.dns_options && a.add_hosts == b.add_hosts && a.publish == b.publish &&
           a.publish_all == b.publish_all;
}

}  // namespace berth::manager
