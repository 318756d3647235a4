// The config.json written by `berth-runtime spec`: the same document as
// `runc spec` (and `runc spec --rootless`), keys in the order runc writes
// them, with hostname "berth".
#include <initializer_list>

#include "libutil/oci/spec.hpp"

namespace berth::oci {

namespace {

using json::Value;

Value strings(std::initializer_list<const char*> items) {
    Value out = Value::array();
    for (const char* s : items) out.push(Value::string(s));
    return out;
}

Value mount(const char* destination, const char* type, const char* source, Value options) {
    Value m = Value::object();
    m.set("destination", Value::string(destination));
    m.set("type", Value::string(type));
    m.set("source", Value::string(source));
    if (!options.items().empty()) m.set("options", std::move(options));
    return m;
}

Value process() {
    Value user = Value::object();
    user.set("uid", Value::number(0));
    user.set("gid", Value::number(0));

    auto caps = [] { return strings({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}); };
    Value capabilities = Value::object();
    capabilities.set("bounding", caps());
    capabilities.set("effective", caps());
    capabilities.set("permitted", caps());

    Value nofile = Value::object();
    nofile.set("type", Value::string("RLIMIT_NOFILE"));
    nofile.set("hard", Value::number(1024));
    nofile.set("soft", Value::number(1024));
    Value rlimits = Value::array();
    rlimits.push(std::move(nofile));

    Value p = Value::object();
    p.set("terminal", Value::boolean(true));
    p.set("user", std::move(user));
    p.set("args", strings({"sh"}));
    p.set("env", strings({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                          "TERM=xterm"}));
    p.set("cwd", Value::string("/"));
    p.set("capabilities", std::move(capabilities));
    p.set("rlimits", std::move(rlimits));
    p.set("noNewPrivileges", Value::boolean(true));
    return p;
}

// runc's ToRootless replaces /sys (sysfs cannot be mounted without a network
// namespace of our own) with a read-only rbind and drops uid=/gid= options,
// which would name ids that are not mapped.
Value mounts(bool rootless) {
    Value devpts_opts = strings({"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"});
    if (!rootless) devpts_opts.push(Value::string("gid=5"));

    Value m = Value::array();
    m.push(mount("/proc", "proc", "proc", Value::array()));
    m.push(mount("/dev", "tmpfs", "tmpfs",
                 strings({"nosuid", "strictatime", "mode=755", "size=65536k"})));
    m.push(mount("/dev/pts", "devpts", "devpts", std::move(devpts_opts)));
    m.push(mount("/dev/shm", "tmpfs", "shm",
                 strings({"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"})));
    m.push(mount("/dev/mqueue", "mqueue", "mqueue", strings({"nosuid", "noexec", "nodev"})));
    if (rootless)
        m.push(
            mount("/sys", "none", "/sys", strings({"rbind", "nosuid", "noexec", "nodev", "ro"})));
    else
        m.push(mount("/sys", "sysfs", "sysfs", strings({"nosuid", "noexec", "nodev", "ro"})));
    m.push(mount("/sys/fs/cgroup", "cgroup", "cgroup",
                 strings({"nosuid", "noexec", "nodev", "relatime", "ro"})));
    return m;
}

Value id_mappings(uint32_t host_id) {
    Value m = Value::object();
    m.set("containerID", Value::number(0));
    m.set("hostID", Value::number(host_id));
    m.set("size", Value::number(1));
    Value out = Value::array();
    out.push(std::move(m));
    return out;
}

Value linux_section(bool rootless, uid_t uid, gid_t gid) {
    Value l = Value::object();
    if (rootless) {
        l.set("uidMappings", id_mappings(uid));
        l.set("gidMappings", id_mappings(gid));
    } else {
        // Rootless drops linux.resources: the caller may own no cgroup to
        // apply them in.
        Value deny_all = Value::object();
        deny_all.set("allow", Value::boolean(false));
        deny_all.set("access", Value::string("rwm"));
        Value devices = Value::array();
        devices.push(std::move(deny_all));
        Value resources = Value::object();
        resources.set("devices", std::move(devices));
        l.set("resources", std::move(resources));
    }

    Value namespaces = Value::array();
    auto add_ns = [&](const char* type) {
        Value ns = Value::object();
        ns.set("type", Value::string(type));
        namespaces.push(std::move(ns));
    };
    add_ns("pid");
    if (!rootless) add_ns("network");
    add_ns("ipc");
    add_ns("uts");
    add_ns("mount");
    add_ns("cgroup");
    if (rootless) add_ns("user");
    l.set("namespaces", std::move(namespaces));

    l.set("maskedPaths", strings({"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                                  "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                                  "/proc/sched_debug", "/sys/firmware", "/proc/scsi"}));
    l.set("readonlyPaths",
          strings({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}));
    return l;
}

}  // namespace

json::Value default_spec(bool rootless, uid_t uid, gid_t gid) {
    Value root = Value::object();
    root.set("path", Value::string("rootfs"));
    root.set("readonly", Value::boolean(true));

    Value spec = Value::object();
    spec.set("ociVersion", Value::string(kSpecVersion));
    spec.set("process", process());
    spec.set("root", std::move(root));
    spec.set("hostname", Value::string("berth"));
    spec.set("mounts", mounts(rootless));
    spec.set("linux", linux_section(rootless, uid, gid));
    return spec;
}

}  // namespace berth::oci
