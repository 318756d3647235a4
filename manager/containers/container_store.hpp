// Containers in berth.db (table `containers`, schema 3) and where each one
// keeps its files. A container's id is also its rootfs's id.
//
//   ROOT/containers/<id>/            the bundle: config.json, hostname, hosts,
//                                    resolv.conf, ctr.log; and the rootfs's
//                                    upper, work and merged dirs
//   RUNROOT/runtime/                 the runtime's --root
//   RUNROOT/shim/<id>/               the shim's run dir (attach, ctl sockets)
//   RUNROOT/exits/<id>               the exit file the shim writes
//   RUNROOT/locks/<id>               the container's lock (flock)
//
// RUNROOT is on a tmpfs (/run/berth), so after a reboot no shim, exit file or
// lock is left, and the first command resets what the database still
// believes runs (see Containers::boot_reset in lifecycle.hpp).
//
// Concurrency: no lock covers all containers. Every command that changes a
// container holds its lock (ContainerLock) for the change; the database is
// changed in short transactions. A container still in state "creating" whose
// lock nobody holds was left by a killed `berth create`/`run`.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/fd.hpp"
#include "manager/images/image_store.hpp"

namespace berth::manager {

struct ContainerRecord {
    std::string id;  // 64 hex digits
    std::string name;
    std::string image_id;    // "sha256:..."
    std::string image_name;  // as the user wrote it
    std::string created;     // RFC 3339 with nanoseconds
    // creating, created, running, paused, exited (docker's words; "creating"
    // until create has finished, "removing" while rm works).
    std::string state;
    std::string options;  // RunOptions as JSON (run_options.hpp)
    int64_t pid = 0;
    int64_t shim_pid = 0;
    int64_t exit_code = 0;
    bool oom_killed = false;
    std::string started_at;
    std::string finished_at;
    int64_t restart_count = 0;
    bool stop_requested = false;  // stopped by the user: no restart policy applies
};

struct ContainerPaths {
    std::string root;     // --root
    std::string runroot;  // --runroot

    std::string dir(const std::string& id) const { return root + "/containers/" + id; }
    std::string log(const std::string& id) const { return dir(id) + "/ctr.log"; }
    std::string runtime_root() const { return runroot + "/runtime"; }
    std::string shim_dir(const std::string& id) const { return runroot + "/shim/" + id; }
    std::string exit_dir() const { return runroot + "/exits"; }
    std::string exit_file(const std::string& id) const { return exit_dir() + "/" + id; }
    std::string lock_file(const std::string& id) const { return runroot + "/locks/" + id; }
};

// The container's flock, held while a command changes it.
class ContainerLock {
public:
    // Waits for the lock.
    static Result<ContainerLock> take(const ContainerPaths& p, const std::string& id);
    // nullopt when someone else holds it.
    static Result<std::optional<ContainerLock>> try_take(const ContainerPaths& p, const std::string& id);
    ContainerLock(ContainerLock&&) noexcept = default;
    ContainerLock& operator=(ContainerLock&&) noexcept = default;

private:
    ContainerLock() = default;
    static Result<UniqueFd> open(const ContainerPaths& p, const std::string& id, bool wait);
    UniqueFd fd_;
};

class ContainerStore {
public:
    explicit ContainerStore(ImageStore& db) : db_(db) {}

    // Errors: "the container name NAME is already in use by ID" (docker's words).
    Result<void> insert(const ContainerRecord& c);
    Result<std::optional<ContainerRecord>> get(const std::string& id);
    // By name, full id or unique id prefix. Error: "no such container: ARG".
    Result<ContainerRecord> find(const std::string& name_or_id);
    Result<std::vector<ContainerRecord>> list();
    // Writes every field but id, image and created.
    Result<void> update(const ContainerRecord& c);
    // Writes c's exit (state, exit code, OOM, finish time, pid 0) if the
    // stored container is still running or paused: true for the one caller
    // that saw the exit first (it reports the "die" event).
    Result<bool> mark_exited(const ContainerRecord& c);
    Result<void> remove(const std::string& id);
    // Ids of the containers that use the image.
    Result<std::vector<std::string>> using_image(const std::string& image_id);

    ImageStore& db() { return db_; }

private:
    ImageStore& db_;
};

// RFC 3339 UTC with nanoseconds, as docker prints times.
std::string now_rfc3339_nano();

}  // namespace berth::manager
