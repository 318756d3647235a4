#include <sys/capability.h>

#include <cstdio>

#include "libutil/strings.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/container/checkpoint.hpp"
#include "runtime/linux/mounts.hpp"
#include "runtime/linux/process.hpp"

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
int cmd_features(const GlobalOptions& g, int argc, char** argv, int start) {
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
    auto sc = enabled(true);
    sc.set("actions", strings({"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                               "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
                               "SCMP_ACT_TRAP"}));
    sc.set("operators", strings({"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                                 "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"}));
    sc.set("archs", strings({"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64",
                             "SCMP_ARCH_X32", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390X", "SCMP_ARCH_RISCV64"}));
    sc.set("knownFlags", strings({"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                  "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}));
    sc.set("supportedFlags",
           strings({"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}));
    linux.set("seccomp", std::move(sc));
    linux.set("apparmor", enabled(apparmor_enabled()));
    linux.set("selinux", enabled(false));
    linux.set("intelRdt", enabled(false));
    auto ext = json::Value::object();
    ext.set("idmap", enabled(true));
    linux.set("mountExtensions", std::move(ext));
    doc.set("linux", std::move(linux));
    auto ann = json::Value::object();
    ann.set("org.berth.runtime.version", json::Value::string(PACKAGE_VERSION));
    // As runc's org.opencontainers.runc.checkpoint.enabled, but true only
    // when a CRIU binary is there and answers (libcriu is always built in).
    int criu = criu_version(g);
    ann.set("org.berth.runtime.checkpoint.enabled", json::Value::string(criu > 0 ? "true" : "false"));
    if (criu > 0)
        ann.set("org.berth.runtime.criu.version",
                json::Value::string(cat(criu / 10000, ".", criu / 100 % 100, ".", criu % 100)));
    // checkpoint/restore --lazy-pages: both ends of a lazy migration work here.
    ann.set("org.berth.runtime.checkpoint.lazy-pages",
            json::Value::string(criu > 0 && lazy_pages_obstacle(g).empty() ? "true" : "false"));
    doc.set("annotations", std::move(ann));
    std::string out = json::write(doc, true) + "\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}

}  // namespace berth::runtime
