// Linux namespaces: the spec's names, clone flags, joining by path, and the
// id maps and time offsets the parent writes for the init.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/fd.hpp"
#include "libutil/oci/spec.hpp"

namespace berth::runtime {

// "network" -> CLONE_NEWNET; 0 for an unknown name.
int namespace_flag(std::string_view type);
// CLONE_NEWNET -> "net" (the name under /proc/PID/ns/).
const char* namespace_proc_name(int flag);

struct NamespacePlan {
    int new_flags = 0;  // namespaces to create (CLONE_NEW*)
    struct Join {
        int flag;
        std::string path;
        UniqueFd fd;
    };
    std::vector<Join> joins;  // namespaces to enter by path, opened and verified
    bool new_user() const;
    bool has_join(int flag) const;
};

// Opens every namespace path and checks that it is a namespace of the
// declared type. Error: "linux.namespaces: network path /x: not a network namespace".
Result<NamespacePlan> plan_namespaces(const oci::Spec& spec);

// Writes /proc/PID/uid_map and gid_map from the spec's mappings.
Result<void> write_id_maps(pid_t pid, const oci::Linux& linux);
// Writes /proc/self/timens_offsets for a time namespace just unshared.
Result<void> write_time_offsets(const oci::Linux& linux);

// Enters `fd` (a namespace of type `flag`).
Result<void> enter_namespace(int fd, int flag, const std::string& what);

// Brings `lo` up in our network namespace (the kernel then gives it
// 127.0.0.1 and ::1), or in that of process `pid`: a socket made there (the
// calling thread enters it and comes back) acts on that namespace's links.
Result<void> loopback_up();
Result<void> loopback_up_in(pid_t pid);

}  // namespace berth::runtime
