#include "runtime/linux/namespaces.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

#include "libutil/strings.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace berth::runtime {

namespace {
struct NsName {
    const char* spec;
    const char* proc;
    int flag;
};
constexpr NsName kNamespaces[] = {
    {"pid", "pid", CLONE_NEWPID},       {"network", "net", CLONE_NEWNET},
    {"mount", "mnt", CLONE_NEWNS},      {"ipc", "ipc", CLONE_NEWIPC},
    {"uts", "uts", CLONE_NEWUTS},       {"user", "user", CLONE_NEWUSER},
    {"cgroup", "cgroup", CLONE_NEWCGROUP}, {"time", "time", CLONE_NEWTIME},
};

std::string map_text(const std::vector<oci::IdMapping>& m) {
    std::string s;
    for (auto& e : m) s += cat(e.container_id, ' ', e.host_id, ' ', e.size, '\n');
    return s;
}
}  // namespace

int namespace_flag(std::string_view type) {
    for (auto& n : kNamespaces)
        if (type == n.spec) return n.flag;
    return 0;
}

const char* namespace_proc_name(int flag) {
    for (auto& n : kNamespaces)
        if (flag == n.flag) return n.proc;
    return "?";
}

bool NamespacePlan::new_user() const { return new_flags & CLONE_NEWUSER; }

bool NamespacePlan::has_join(int flag) const {
    for (auto& j : joins)
        if (j.flag == flag) return true;
    return false;
}

Result<NamespacePlan> plan_namespaces(const oci::Spec& spec) {
    NamespacePlan plan;
    if (!spec.linux) return plan;
    for (auto& ns : spec.linux->namespaces) {
        int flag = namespace_flag(ns.type);
        if (ns.path.empty()) {
            plan.new_flags |= flag;
            continue;
        }
        UniqueFd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return ErrnoErr("linux.namespaces: ", ns.type, " path ", ns.path);
        // NS_GET_NSTYPE (4.11+) tells the type of an nsfs file; anything else fails.
        int type = ::ioctl(fd.get(), NS_GET_NSTYPE);
        if (type < 0 || type != flag)
            return Err("linux.namespaces: ", ns.type, " path ", ns.path, ": not a ", ns.type,
                       " namespace");
        plan.joins.push_back({flag, ns.path, std::move(fd)});
    }
    return plan;
}

Result<void> write_id_maps(pid_t pid, const oci::Linux& linux) {
    std::string base = cat("/proc/", pid, "/");
    if (!linux.uid_mappings.empty())
        TRY_CTX(write_file(base + "uid_map", map_text(linux.uid_mappings)), "write uid_map");
    if (!linux.gid_mappings.empty())
        TRY_CTX(write_file(base + "gid_map", map_text(linux.gid_mappings)), "write gid_map");
    return {};
}

Result<void> write_time_offsets(const oci::Linux& linux) {
    std::string s;
    for (auto& [clock, off] : linux.time_offsets) s += cat(clock, ' ', off.first, ' ', off.second, '\n');
    if (s.empty()) return {};
    return write_file("/proc/self/timens_offsets", s);
}

Result<void> enter_namespace(int fd, int flag, const std::string& what) {
    if (::setns(fd, flag) < 0) return ErrnoErr("enter ", namespace_proc_name(flag), " namespace ", what);
    return {};
}

namespace {
Result<void> set_lo_up(int sock) {
    struct ifreq ifr {};
    std::strcpy(ifr.ifr_name, "lo");
    if (::ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) return ErrnoErr("get flags of lo");
    if (ifr.ifr_flags & IFF_UP) return {};
    ifr.ifr_flags |= IFF_UP;
    if (::ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) return ErrnoErr("bring lo up");
    return {};
}
}  // namespace

Result<void> loopback_up() {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s) return ErrnoErr("socket");
    return set_lo_up(s.get());
}

Result<void> loopback_up_in(pid_t pid) {
    UniqueFd ours(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!ours) return ErrnoErr("open our network namespace");
    std::string path = cat("/proc/", pid, "/ns/net");
    UniqueFd theirs(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!theirs) return ErrnoErr("open ", path);
    TRY(enter_namespace(theirs.get(), CLONE_NEWNET, path));
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    int err = errno;
    // Back home first, whatever happened there.
    if (::setns(ours.get(), CLONE_NEWNET) < 0) return ErrnoErr("return to our network namespace");
    if (!s) return Err("socket in ", path, ": ", std::strerror(err));
    return set_lo_up(s.get());
}

}  // namespace berth::runtime
