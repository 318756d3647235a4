// Basic cgroup placement: every container gets its own cgroup in every
// mounted hierarchy (cgroup v1 controllers, the cgroup2 unified hierarchy, or
// both on a hybrid host), memory and pids limits applied, removed on delete.
// The full resource set (and pause, stats, update) comes with its own module.
#pragma once
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/fd.hpp"
#include "libutil/json.hpp"
#include "libutil/oci/spec.hpp"
#include "runtime/linux/systemd.hpp"

namespace berth::runtime {

enum class CgroupLayout { V1, Hybrid, V2 };

struct CgroupDir {
    std::string hierarchy;   // dir under /sys/fs/cgroup ("memory", "systemd", "unified"; "" on pure v2)
    std::string mount_opts;  // v1 mount options naming it ("memory", "name=systemd"); "" for cgroup2
    bool v2 = false;
    std::string path;  // absolute host path of the container's cgroup
    bool created = false;  // we made it (so we remove it)
    std::string created_top;  // the topmost dir made with it (its parents made for it), or ""

    // Whether this v1 hierarchy holds `controller` ("cpu" in "cpu,cpuacct").
    bool has(std::string_view controller) const {
        if (v2) return false;
        size_t start = 0;
        for (size_t i = 0; i <= hierarchy.size(); ++i)
            if (i == hierarchy.size() || hierarchy[i] == ',') {
                if (std::string_view(hierarchy).substr(start, i - start) == controller) return true;
                start = i + 1;
            }
        return false;
    }
};

class Cgroup {
public:
    static CgroupLayout detect_layout();
    // Resolves linux.cgroupsPath (runc's rules: absolute, relative to our own
    // cgroup, default /berth-runtime/ID) in every hierarchy and creates the
    // directories (joining those that exist).
    static Result<Cgroup> create(const oci::Spec& spec, const std::string& id, bool systemd);
    // Applies memory/pids limits (after the init is placed: the runtime
    // itself passes through the cgroup and must not be charged or counted).
    Result<void> apply_limits(const oci::Spec& spec) const;
    static Cgroup from_json(const json::Value& v);
    json::Value to_json() const;

    // O_PATH fd of the cgroup2 directory for CLONE_INTO_CGROUP (-1: none,
    // as with the systemd driver, where the cgroup exists only once systemd
    // has started the scope with the init in it).
    int unified_fd() const { return unified_fd_.get(); }
    // v1 placement without the kernel's slow path: moving another task
    // takes cgroup_threadgroup_rwsem for writing (an RCU grace period, often
    // 10+ ms); a thread moving itself ("0" to `tasks`) does not. So the
    // runtime moves itself in before the clone (the init is born inside) and
    // back out right after. Pure v2 uses CLONE_INTO_CGROUP instead.
    Result<void> enter_self() const;
    Result<void> leave_self() const;
    // Places the init when it was not born in its cgroup: with the systemd
    // driver, systemd starts the scope with it (and the v1 controllers
    // systemd does not manage get it from us); else the cgroup2 hierarchy
    // when CLONE_INTO_CGROUP was not available.
    Result<void> place(pid_t pid, const oci::Spec& spec, const std::string& id);
    // `update`: the unit's properties (systemd driver), then the files.
    Result<void> update(const oci::Spec& spec) const;
    // Every pid in the container's cgroup.
    std::vector<pid_t> pids() const;
    // Freezes (pause) or thaws (resume) every process: v1 freezer.state, or
    // cgroup.freeze on cgroup2; returns once the kernel reports it done.
    Result<void> freeze(bool frozen) const;
    // Signals every process (cgroup.kill on v2 for SIGKILL).
    Result<void> signal_all(int sig) const;
    // Removes the directories we created, retrying while they drain; and the
    // default parent /berth-runtime when it is left empty.
    Result<void> destroy() const;

    const std::vector<CgroupDir>& dirs() const { return dirs_; }
    CgroupLayout layout() const { return layout_; }

private:
    Result<void> stop_scope() const;
    bool scope_busy() const;

    CgroupLayout layout_ = CgroupLayout::V2;
    std::vector<CgroupDir> dirs_;
    std::string default_parent_;  // relative path of /berth-runtime, when the default was used
    std::vector<std::string> own_;  // our own cgroup dir in each v1 hierarchy, parallel to dirs_
    SystemdUnit scope_;           // the systemd driver's scope (name "": the cgroupfs driver)
    bool scope_started_ = false;  // asked of systemd: delete must stop it
    std::shared_ptr<SystemdManager> systemd_bus_;  // connected at create, before the clone
    UniqueFd unified_fd_;
};

}  // namespace berth::runtime
