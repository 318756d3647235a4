#include <sys/capability.h>

#include <cstdio>

#include "runtime/cli/commands.hpp"
#include "runtime/linux/mounts.hpp"

namespace berth::runtime {

namespace {
json::Value strings(std::initializer_list<const char*> v) {
    auto a = json::Value::array();
    for (auto* s : v) a.push(json::Value::string(s));
    return a;
}
json::Value enabled(bool b) {
    auto o = json::Value::object();
    o.set("enabled", json::Value::boolean(b));
    return o;
}
}  // namespace

// The OCI features document: only what this build really does.
int cmd_features(const GlobalOptions&, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {});
    if (!a) return fail(a.error());
    auto doc = json::Value::object();
    doc.set("ociVersionMin", json::Value::string("1.0.0"));
    doc.set("ociVersionMax", json::Value::string(oci::kSpecVersion));
    doc.set("hooks", strings({"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}));
    doc.set("mountOptions",
            strings({"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "idmap",
                     "iversion", "lazytime", "loud", "mand", "noatime", "nodev", "nodiratime", "noexec",
                     "noiversion", "nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid",
                     "nosymfollow", "private", "ratime", "rbind", "rdev", "rdiratime", "relatime", "remount",
                     "rexec", "ridmap", "rnoatime", "rnodev", "rnodiratime", "rnoexec", "rnorelatime",
                     "rnostrictatime", "rnosuid", "rnosymfollow", "ro", "rprivate", "rrelatime", "rro", "rrw",
                     "rshared", "rslave", "rstrictatime", "rsuid", "rsymfollow", "runbindable", "rw", "shared",
                     "silent", "slave", "strictatime", "suid", "sync", "unbindable"}));
    auto linux = json::Value::object();
    linux.set("namespaces", strings({"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}));
    auto caps = json::Value::array();
    for (cap_value_t c = 0; c < static_cast<cap_value_t>(cap_max_bits()); ++c) {
        char* name = cap_to_name(c);
        if (!name) continue;
        std::string n = name;
        cap_free(name);
        for (auto& ch : n) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (n.starts_with("CAP_")) caps.push(json::Value::string(n));
    }
    linux.set("capabilities", std::move(caps));
    auto cg = json::Value::object();
    cg.set("v1", json::Value::boolean(true));
    cg.set("v2", json::Value::boolean(true));
    cg.set("systemd", json::Value::boolean(false));
    cg.set("systemdUser", json::Value::boolean(false));
    cg.set("rdma", json::Value::boolean(false));
    linux.set("cgroup", std::move(cg));
    linux.set("seccomp", enabled(false));
    linux.set("apparmor", enabled(false));
    linux.set("selinux", enabled(false));
    linux.set("intelRdt", enabled(false));
    auto ext = json::Value::object();
    ext.set("idmap", enabled(true));
    linux.set("mountExtensions", std::move(ext));
    doc.set("linux", std::move(linux));
    auto ann = json::Value::object();
    ann.set("org.berth.runtime.version", json::Value::string(PACKAGE_VERSION));
    doc.set("annotations", std::move(ann));
    std::string out = json::write(doc, true) + "\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}

}  // namespace berth::runtime
