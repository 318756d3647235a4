// The systemd cgroup driver (--systemd-cgroup): the container's cgroup is a
// transient scope unit that systemd creates (StartTransientUnit over D-Bus,
// Delegate=yes, the init's pid in it), so that systemd knows it and does not
// fight over it. The limits systemd itself manages are passed as unit
// properties (so a daemon-reload keeps them) and every limit is written to
// the cgroup files afterwards as with the cgroupfs driver.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

#include "libutil/dbus.hpp"
#include "libutil/error.hpp"
#include "libutil/oci/spec.hpp"

namespace berth::runtime {

struct SystemdUnit {
    std::string slice;  // "system.slice"
    std::string name;   // "berth-runtime-ID.scope"
    std::string path;   // the cgroup below each hierarchy's root: "/system.slice/berth-runtime-ID.scope"
};

// linux.cgroupsPath in runc's systemd form "slice:prefix:name" (empty:
// "system.slice:berth-runtime:ID"): the unit prefix-name.scope in the slice.
Result<SystemdUnit> systemd_unit(const std::string& cgroups_path, const std::string& id);

// "a-b.slice" -> "/a.slice/a-b.slice" (systemd's slice nesting); "-.slice" -> "/".
Result<std::string> expand_slice(const std::string& slice);

// A cpu or memory-node list ("0-3,7") as systemd's AllowedCPUs= bitmask:
// byte i bit j is cpu 8i+j.
Result<std::vector<uint8_t>> cpu_list_mask(const std::string& list);

// The unit properties (D-Bus "a(sv)" elements) for `res` on this layout.
void resource_properties(dbus::Writer& w, const oci::Resources& res, bool v2);

class SystemdManager {
public:
    // Connects to systemd: its private socket (root), else the system bus.
    static Result<SystemdManager> connect();
    // Starts the scope with `pid` in it and waits for its job to finish.
    Result<void> start_scope(const SystemdUnit& unit, pid_t pid, const oci::Resources* res, bool v2,
                             const std::string& description);
    // Stops the unit (a unit already gone is fine) and waits for the job.
    Result<void> stop_unit(const std::string& name);
    Result<void> set_properties(const std::string& name, const oci::Resources& res, bool v2);

private:
    Result<void> wait_job(const std::string& job, const std::string& what);
    dbus::Connection bus_;
};

}  // namespace berth::runtime
