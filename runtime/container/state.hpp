// A container's state on disk: ROOT/ID/state.json (written atomically) and
// ROOT/ID/exec.fifo while it is created but not started. The status is
// derived, never stored: the init's pid and start time tell whether it
// still runs (and is not a reused pid), the fifo tells created from running.
#pragma once
#include <sys/types.h>

#include <map>
#include <string>

#include "libutil/error.hpp"
#include "libutil/json.hpp"
#include "libutil/oci/spec.hpp"
#include "runtime/linux/cgroups.hpp"

namespace berth::runtime {

enum class Status { Creating, Created, Running, Paused, Stopped };
const char* status_name(Status s);

struct ContainerState {
    std::string id;
    std::string bundle;
    std::string rootfs;
    pid_t pid = 0;
    uint64_t start_time = 0;  // /proc/PID/stat field 22
    std::string created;      // RFC3339Nano, UTC
    bool own_pid_ns = false;  // the init is pid 1 of its own namespace
    json::Value cgroup;       // Cgroup::to_json()
    json::Value config;       // the bundle's config.json at create time

    std::string dir;  // ROOT/ID
};

// Checks an id with runc's rules: not empty, not "." or "..", no "/", only
// [A-Za-z0-9_+.-] ... as runc: `invalid container id "a/b"`.
Result<void> validate_id(std::string_view id);

std::string state_dir(const std::string& root, const std::string& id);
Result<ContainerState> load_state(const std::string& root, const std::string& id);
// The state.json text of the container whose state dir is `dir` (load_state
// without the file): "DIR/state.json: corrupt state file" when it is not a
// JSON object. Fields of the wrong type are left at their defaults.
Result<ContainerState> parse_state(std::string_view text, const std::string& dir);
// The document save_state writes (parse_state reads it back).
json::Value state_json(const ContainerState& st);
Result<void> save_state(const ContainerState& st);
// The process's start time (field 22 of /proc/PID/stat); 0 when gone. A
// zombie counts as gone.
uint64_t process_start_time(pid_t pid);
Status container_status(const ContainerState& st);
// The OCI state document: ociVersion, id, status, pid, bundle, annotations.
json::Value oci_state(const ContainerState& st, Status status);
// What `state` and `list --format json` print: the OCI state plus rootfs,
// created and owner, in runc's field order.
json::Value runc_state(const ContainerState& st, Status s);
// The owner runc reports: the user name (from /etc/passwd) owning the state dir.
std::string state_owner(const ContainerState& st);
// RFC3339 with nanoseconds, UTC ("2024-01-02T03:04:05.123456789Z").
std::string now_rfc3339();

}  // namespace berth::runtime
