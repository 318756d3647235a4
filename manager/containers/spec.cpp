#include "manager/containers/spec.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>

#include <algorithm>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <set>

#include "libutil/fd.hpp"
#include "libutil/signals.hpp"
#include "libutil/strings.hpp"
#include "manager/containers/run_options.hpp"
#include "runtime/linux/safe_path.hpp"

namespace berth::manager {

namespace {

using json::Value;

constexpr const char* kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

Value strs(const std::vector<std::string>& v) {
    Value out = Value::array();
    for (const auto& s : v) out.push(Value::string(s));
    return out;
}

// The image's "config" object (or the document itself when it is one).
const Value& image_cfg(const Value& image_config) {
    static const Value empty = Value::object();
    if (const Value* c = image_config.find("config"); c && c->is_object()) return *c;
    if (image_config.is_object() && !image_config.find("rootfs")) return image_config;
    return empty;
}

std::vector<std::string> cfg_strings(const Value& cfg, std::string_view key) {
    std::vector<std::string> out;
    if (const Value* v = cfg.find(key); v && v->is_array())
        for (const auto& i : v->items())
            if (i.is_string()) out.push_back(i.as_string());
    return out;
}

std::string cfg_string(const Value& cfg, std::string_view key) {
    const Value* v = cfg.find(key);
    return v && v->is_string() ? v->as_string() : "";
}

void set_env(std::vector<std::string>& env, const std::string& kv) {
    auto key = kv.substr(0, kv.find('=') + 1);
    for (auto& e : env)
        if (e.starts_with(key)) {
            e = kv;
            return;
        }
    env.push_back(kv);
}

bool has_env(const std::vector<std::string>& env, std::string_view key) {
    for (const auto& e : env)
        if (e.starts_with(key) && e.size() > key.size() && e[key.size()] == '=') return true;
    return false;
}

// A file of the image's /etc, read inside the rootfs; "" when it is absent.
Result<std::string> read_etc_file(int root, const std::string& path) {
    auto fd = runtime::open_in_root(root, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
    if (!fd) {
        if (fd.error().code == ENOENT) return std::string();
        return std::unexpected(fd.error());
    }
    struct stat st {};
    if (::fstat(fd->get(), &st) < 0) return ErrnoErr("stat ", path, " in the container rootfs");
    if (!S_ISREG(st.st_mode)) return Err(path, " in the container rootfs: not a regular file");
    if (st.st_size > (16 << 20)) return Err(path, " in the container rootfs: larger than 16 MiB");
    std::string out(static_cast<size_t>(st.st_size), '\0');
    size_t got = 0;
    while (got < out.size()) {
        ssize_t n = ::read(fd->get(), out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return ErrnoErr("read ", path, " in the container rootfs");
        if (n == 0) break;
        got += static_cast<size_t>(n);
    }
    out.resize(got);
    return out;
}

// name:x:uid:gid:... (passwd) or name:x:gid:members (group) lines.
std::vector<std::vector<std::string>> colon_lines(const std::string& text) {
    std::vector<std::vector<std::string>> out;
    for (auto& line : split(text, '\n')) {
        if (line.empty() || line[0] == '#') continue;
        out.push_back(split(line, ':'));
    }
    return out;
}

std::optional<uint32_t> id_number(std::string_view s) {
    auto n = parse_u64(s);
    if (!n || *n > UINT32_MAX) return std::nullopt;
    return static_cast<uint32_t>(*n);
}

// docker's 1048576, or berth's own hard limit when that is lower: raising
// a hard limit needs CAP_SYS_RESOURCE, which a confined berth may lack.
uint64_t nofile_limit() {
    constexpr uint64_t docker = 1048576;
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max < docker) return rl.rlim_max;
    return docker;
}

bool cgroup2_host() {
    struct statfs fs {};
    return ::statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

Value mount(const std::string& dst, const std::string& type, const std::string& src,
            const std::vector<std::string>& options) {
    Value m = Value::object();
    m.set("destination", Value::string(dst));
    m.set("type", Value::string(type));
    m.set("source", Value::string(src));
    if (!options.empty()) m.set("options", strs(options));
    return m;
}

Value mounts(const SpecInputs& in) {
    const RunOptions& o = in.opts;
    std::set<std::string> taken;
    for (const auto& m : in.mounts) taken.insert(m.destination);
    Value out = Value::array();
    auto add = [&](const std::string& dst, const std::string& type, const std::string& src,
                   const std::vector<std::string>& options) {
        // A user mount on the same path replaces the default one, as docker.
        if (!taken.count(dst)) out.push(mount(dst, type, src, options));
    };
    const char* ro = o.privileged ? "rw" : "ro";
    add("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"});
    add("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"});
    add("/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"});
    add("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=67108864"});
    add("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"});
    add("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", ro});
    add("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", ro});
    if (!in.container_dir.empty())
        for (const char* f : {"hostname", "hosts", "resolv.conf"})
            add(cat("/etc/", f), "bind", path_join(in.container_dir, f), {"rbind", "rprivate"});
    if (!in.init_path.empty()) add(kInitPath, "bind", in.init_path, {"rbind", "ro", "nosuid", "nodev"});
    // Shallower destinations first (docker's order), so that /a is mounted
    // before /a/b and does not hide it; otherwise the order given.
    std::vector<const ResolvedMount*> user;
    for (const auto& m : in.mounts) user.push_back(&m);
    auto depth = [](const ResolvedMount* m) { return std::count(m->destination.begin(), m->destination.end(), '/'); };
    std::stable_sort(user.begin(), user.end(), [&](auto* a, auto* b) { return depth(a) < depth(b); });
    for (const auto* m : user) out.push(mount(m->destination, m->type, m->source, m->options));
    return out;
}

Value linux_section(const SpecInputs& in) {
    const RunOptions& o = in.opts;
    Value l = Value::object();
    Value resources = Value::object();
    Value devices = Value::array();
    Value rule = Value::object();
    rule.set("allow", Value::boolean(o.privileged));
    rule.set("access", Value::string("rwm"));
    devices.push(std::move(rule));
    resources.set("devices", std::move(devices));
    if (o.memory) {
        Value m = Value::object();
        m.set("limit", Value::number(*o.memory));
        if (o.memory_swap) m.set("swap", Value::number(*o.memory_swap));
        resources.set("memory", std::move(m));
    }
    if (o.cpus) {
        constexpr uint64_t period = 100000;
        Value c = Value::object();
        c.set("quota", Value::number(static_cast<int64_t>(std::llround(*o.cpus * period))));
        c.set("period", Value::number(period));
        resources.set("cpu", std::move(c));
    }
    if (o.pids_limit) {
        Value p = Value::object();
        p.set("limit", Value::number(*o.pids_limit));
        resources.set("pids", std::move(p));
    }
    l.set("resources", std::move(resources));
    // Absolute, whatever cgroup berth itself runs in; and without a shared
    // parent: removing the container's cgroup leaves nothing behind (a
    // common parent would stay, empty, or race a concurrent create's mkdir
    // if removed).
    l.set("cgroupsPath", Value::string("/berth-" + in.id));

    Value namespaces = Value::array();
    std::vector<const char*> types = {"pid", "ipc", "uts", "mount"};
    if (o.network != "host") types.push_back("network");
    if (cgroup2_host()) types.push_back("cgroup");  // docker's private cgroupns on v2
    for (const char* t : types) {
        Value ns = Value::object();
        ns.set("type", Value::string(t));
        if (std::string_view(t) == "network" && !in.netns_path.empty()) ns.set("path", Value::string(in.netns_path));
        namespaces.push(std::move(ns));
    }
    l.set("namespaces", std::move(namespaces));
    if (!o.privileged) {
        l.set("maskedPaths", strs({"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                                   "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                                   "/sys/firmware", "/sys/devices/virtual/powercap"}));
        l.set("readonlyPaths", strs({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}));
    }
    return l;
}

}  // namespace

ResolvedMount resolve_mount(const MountRequest& m, const std::string& volume_dir) {
    ResolvedMount r;
    r.destination = m.destination;
    if (m.type == MountRequest::Type::Tmpfs) {
        r.type = r.source = "tmpfs";
        std::vector<std::string> opts = {"nosuid", "nodev", "noexec"};
        for (const auto& o : m.extra_options) {
            // exec, suid, dev lift the matching default; others are added.
            if (o == "exec" || o == "suid" || o == "dev")
                std::erase(opts, "no" + o);
            else if (std::find(opts.begin(), opts.end(), o) == opts.end())
                opts.push_back(o);
        }
        if (m.read_only) opts.push_back("ro");
        if (m.tmpfs_mode) {
            char mode[24];
            std::snprintf(mode, sizeof mode, "mode=%o", m.tmpfs_mode);
            opts.push_back(mode);
        }
        if (m.tmpfs_size) opts.push_back(cat("size=", m.tmpfs_size));
        r.options = std::move(opts);
        return r;
    }
    r.type = "bind";
    r.source = m.type == MountRequest::Type::Bind ? m.source : volume_dir;
    r.options = {"rbind", m.propagation.empty() ? "rprivate" : m.propagation, m.read_only ? "ro" : "rw"};
    return r;
}

Result<std::vector<std::string>> container_args(const RunOptions& o, const json::Value& image_config) {
    const Value& cfg = image_cfg(image_config);
    std::vector<std::string> args = o.entrypoint ? *o.entrypoint : cfg_strings(cfg, "Entrypoint");
    std::vector<std::string> cmd = !o.command.empty() ? o.command
                                   : o.entrypoint     ? std::vector<std::string>{}
                                                      : cfg_strings(cfg, "Cmd");
    args.insert(args.end(), cmd.begin(), cmd.end());
    if (args.empty()) return Err("no command given and the image has neither Entrypoint nor Cmd");
    return args;
}

std::vector<std::string> container_env(const RunOptions& o, const json::Value& image_config,
                                       const std::string& hostname) {
    const Value& cfg = image_cfg(image_config);
    auto image_env = cfg_strings(cfg, "Env");
    std::vector<std::string> env;
    if (!has_env(image_env, "PATH")) env.push_back(kDefaultPath);
    env.push_back("HOSTNAME=" + hostname);
    if (o.tty) env.push_back("TERM=xterm");
    for (const auto& e : image_env) set_env(env, e);
    for (const auto& e : o.env) set_env(env, e);
    return env;
}

const std::vector<std::string>& host_capabilities() {
    // PR_CAPBSET_READ: 1 in berth's bounding set, 0 not, EINVAL unknown to the kernel.
    static const std::vector<std::string> caps = [] {
        std::vector<std::string> out;
        const auto& all = all_capabilities();
        for (size_t i = 0; i < all.size(); ++i)
            if (::prctl(PR_CAPBSET_READ, static_cast<unsigned long>(i), 0, 0, 0) == 1) out.push_back(all[i]);
        return out;
    }();
    return caps;
}

std::vector<std::string> container_capabilities(const RunOptions& o) {
    const auto& all = host_capabilities();
    if (o.privileged) return all;
    auto has = [](const std::vector<std::string>& v, std::string_view c) {
        return std::find(v.begin(), v.end(), c) != v.end();
    };
    std::vector<std::string> caps;
    if (has(o.cap_add, "ALL"))
        caps = all;
    else if (!has(o.cap_drop, "ALL"))
        caps = {"CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",         "CAP_MKNOD",
                "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID", "CAP_SETFCAP",        "CAP_SETPCAP",
                "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};
    for (const auto& c : o.cap_add)
        if (c != "ALL" && !has(caps, c)) caps.push_back(c);
    std::erase_if(caps, [&](const std::string& c) { return has(o.cap_drop, c) && !has(o.cap_add, c) ; });
    return caps;
}

Result<int> stop_signal(const RunOptions& o, const json::Value& image_config) {
    std::string name = !o.stop_signal.empty() ? o.stop_signal : cfg_string(image_cfg(image_config), "StopSignal");
    if (name.empty()) return SIGTERM;
    auto sig = parse_signal(name);
    if (!sig) return Err("the image's StopSignal ", quote(name), " is not a signal");
    return *sig;
}

Result<ResolvedUser> resolve_user(const std::string& rootfs, const std::string& user) {
    ResolvedUser out;
    auto parts = split(user.empty() ? "0" : user, ':');
    if (parts.size() > 2 || parts[0].empty()) return Err("invalid user ", quote(user));
    int root = ::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) return ErrnoErr("open ", rootfs);
    UniqueFd root_fd(root);
    auto passwd = colon_lines(TRY(read_etc_file(root, "/etc/passwd")));
    const std::string& who = parts[0];
    auto uid_num = id_number(who);
    std::string name;
    bool found = false;
    for (const auto& f : passwd) {
        if (f.size() < 4) continue;
        bool match = uid_num ? id_number(f[2]) == uid_num : f[0] == who;
        if (!match) continue;
        auto uid = id_number(f[2]);
        auto gid = id_number(f[3]);
        if (!uid || !gid) continue;
        out.uid = *uid;
        out.gid = *gid;
        if (f.size() > 5 && !f[5].empty()) out.home = f[5];
        name = f[0];
        found = true;
        break;
    }
    if (!found) {
        if (!uid_num) return Err("unable to find user ", who, ": no matching entries in passwd file");
        out.uid = *uid_num;
        out.gid = 0;
    }
    // /etc/group is read only when needed: a group by name, or memberships.
    if (parts.size() == 2 && id_number(parts[1])) out.gid = *id_number(parts[1]);
    bool need_groups = (parts.size() == 2 && !id_number(parts[1])) || found;
    if (!need_groups) return out;
    auto groups = colon_lines(TRY(read_etc_file(root, "/etc/group")));
    if (parts.size() == 2 && !id_number(parts[1])) {
        bool gfound = false;
        for (const auto& g : groups)
            if (g.size() >= 3 && g[0] == parts[1] && id_number(g[2])) {
                out.gid = *id_number(g[2]);
                gfound = true;
                break;
            }
        if (!gfound) return Err("unable to find group ", parts[1], ": no matching entries in group file");
    }
    if (found)
        for (const auto& g : groups) {
            if (g.size() < 4) continue;
            auto gid = id_number(g[2]);
            if (!gid || *gid == out.gid) continue;
            auto members = split(g[3], ',');
            if (std::find(members.begin(), members.end(), name) != members.end() &&
                std::find(out.additional_gids.begin(), out.additional_gids.end(), *gid) == out.additional_gids.end())
                out.additional_gids.push_back(*gid);
        }
    return out;
}

Result<json::Value> make_spec(const SpecInputs& in) {
    const RunOptions& o = in.opts;
    const Value& cfg = image_cfg(in.image_config);
    std::string hostname = !o.hostname.empty() ? o.hostname : in.id.substr(0, 12);

    auto args = TRY(container_args(o, in.image_config));
    if (!in.init_path.empty()) args.insert(args.begin(), {kInitPath, "--"});
    auto env = container_env(o, in.image_config, hostname);
    std::string user_spec = !o.user.empty() ? o.user : cfg_string(cfg, "User");
    auto user = TRY(resolve_user(in.rootfs, user_spec));
    if (!has_env(env, "HOME")) env.push_back("HOME=" + user.home);
    auto caps = container_capabilities(o);

    Value process = Value::object();
    process.set("terminal", Value::boolean(o.tty));
    Value u = Value::object();
    u.set("uid", Value::number(user.uid));
    u.set("gid", Value::number(user.gid));
    if (!user.additional_gids.empty()) {
        Value g = Value::array();
        for (auto id : user.additional_gids) g.push(Value::number(id));
        u.set("additionalGids", std::move(g));
    }
    process.set("user", std::move(u));
    process.set("args", strs(args));
    process.set("env", strs(env));
    std::string cwd = !o.workdir.empty() ? o.workdir : cfg_string(cfg, "WorkingDir");
    process.set("cwd", Value::string(cwd.empty() ? "/" : cwd));
    Value capabilities = Value::object();
    for (const char* set : {"bounding", "effective", "permitted"}) capabilities.set(set, strs(caps));
    process.set("capabilities", std::move(capabilities));
    Value nofile = Value::object();
    nofile.set("type", Value::string("RLIMIT_NOFILE"));
    nofile.set("hard", Value::number(nofile_limit()));
    nofile.set("soft", Value::number(nofile_limit()));
    Value rlimits = Value::array();
    rlimits.push(std::move(nofile));
    process.set("rlimits", std::move(rlimits));
    process.set("noNewPrivileges", Value::boolean(o.no_new_privileges));

    Value root = Value::object();
    root.set("path", Value::string(in.rootfs));
    root.set("readonly", Value::boolean(o.read_only));

    Value linux = linux_section(in);
    // --privileged turns the default filter off; an explicit profile stays.
    if (o.seccomp.empty() && !o.privileged)
        linux.set("seccomp", default_seccomp_profile());
    else if (!o.seccomp.empty() && o.seccomp != "unconfined")
        linux.set("seccomp", TRY(load_seccomp_profile(o.seccomp, caps)));

    // As docker: a bind that propagates back to the host (rshared) or from it
    // (rslave) needs the container's root to propagate that way too, or the
    // runtime's private/slave root cuts the bind off from its host peers.
    std::string root_propagation;
    for (const auto& m : in.mounts)
        for (const auto& opt : m.options) {
            if (opt == "rshared" || opt == "shared") root_propagation = "rshared";
            else if ((opt == "rslave" || opt == "slave") && root_propagation.empty()) root_propagation = "rslave";
        }
    if (!root_propagation.empty()) linux.set("rootfsPropagation", Value::string(root_propagation));

    Value spec = Value::object();
    spec.set("ociVersion", Value::string("1.2.0"));
    spec.set("process", std::move(process));
    spec.set("root", std::move(root));
    spec.set("hostname", Value::string(hostname));
    spec.set("mounts", mounts(in));
    spec.set("linux", std::move(linux));
    return spec;
}

Result<void> set_namespace_path(const std::string& config_path, const std::string& type, const std::string& path) {
    auto spec = TRY_CTX(json::parse(TRY(read_file(config_path))), config_path);
    bool found = false, changed = false;
    for (auto& [k, lx] : spec.members()) {
        if (k != "linux") continue;
        for (auto& [lk, nss] : lx.members()) {
            if (lk != "namespaces" || !nss.is_array()) continue;
            for (auto& n : nss.items()) {
                const json::Value* t = n.find("type");
                if (!t || !t->is_string() || t->as_string() != type) continue;
                found = true;
                const json::Value* now = n.find("path");
                if (now && now->is_string() ? now->as_string() == path : path.empty()) continue;
                changed = true;
                std::erase_if(n.members(), [](const auto& m) { return m.first == "path"; });
                if (!path.empty()) n.set("path", json::Value::string(path));
            }
        }
    }
    if (!found) return Err(config_path, ": no ", type, " namespace");
    // Written at create already (or by the start before): no new write.
    if (!changed) return {};
    return write_file_atomic(config_path, json::write(spec, true), 0600);
}

}  // namespace berth::manager
