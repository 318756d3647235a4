// A container's life, from `create` to `rm`, without a daemon: each step is
// done by the berth command that asks for it, under the container's lock;
// between commands the container's berth-shim watches it, and the shim's exit
// command (`berth container cleanup ID`) records the exit, unmounts the
// rootfs and carries out the restart policy and --rm.
//
//   creating ──create──▶ created ──start──▶ running ⇄ paused
//                                              │ exit (shim → cleanup)
//                                              ▼
//                                           exited ──start/restart──▶ running
//   any ──rm──▶ (gone)
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "manager/containers/container_store.hpp"
#include "manager/containers/options.hpp"
#include "manager/storage/rootfs.hpp"

namespace berth::manager {

struct GlobalOptions;

// What every container command works with.
class Engine {
public:
    static Result<std::unique_ptr<Engine>> open(const GlobalOptions& g);

    const GlobalOptions& global;
    ContainerPaths paths;
    RootfsStore storage;
    ContainerStore containers;

    ImageStore& db() { return storage.images(); }
    // Programs: berth-shim and the default runtime next to berth, else in PATH.
    Result<std::string> shim_path();
    Result<std::string> runtime_path(const std::string& wanted);

    Engine(const GlobalOptions& g, ContainerPaths p, RootfsStore s)
        : global(g), paths(std::move(p)), storage(std::move(s)), containers(storage.images()) {}
};

// Result of reading a container's state from its shim's files.
struct ExitInfo {
    int64_t exit_code = 0;
    bool oom_killed = false;
    std::string finished_at;
};

// The shim's exit file (nullopt when there is none).
Result<std::optional<ExitInfo>> read_exit_file(const std::string& path);

// `create`: the record, the rootfs (mounted), volumes, the bundle. The
// container is left in state "created"; nothing runs yet.
Result<ContainerRecord> create_container(Engine& e, const RunOptions& opts);
// What start_container restores instead of creating: CRIU's images and the
// runtime's restore flags (--work-path, --tcp-established...).
struct RestoreFrom {
    std::string image_dir;
    std::vector<std::string> runtime_args;
};

// `start`: a shim that runs the runtime's create (and start, unless `attach`:
// then the caller attaches first and calls start_process). Leaves the
// record "running". With `restore`, the shim runs the runtime's restore
// instead. A container with networks of its own gets a network namespace
// made and wired before the runtime runs (RUNROOT/netns/ID, given by path
// in config.json; dropped when the container exits).
Result<void> start_container(Engine& e, ContainerRecord& c, bool attach, const RestoreFrom* restore = nullptr);
// `RUNTIME start ID` for a shim started with attach = true.
Result<void> start_process(Engine& e, ContainerRecord& c);

// Brings the record up to date with the shim's files: an exit file makes it
// "exited"; a shim that is gone without one (killed, or a reboot) too, with
// exit code 255 when the process is gone. Call with the lock held.
Result<void> refresh(Engine& e, ContainerRecord& c);

// `stop`: the stop signal, then SIGKILL after `timeout` seconds; waits for
// the exit. Sets stop_requested so no restart policy restarts it.
Result<void> stop_container(Engine& e, ContainerRecord& c, std::optional<int> timeout);
// `kill -s SIG`.
Result<void> kill_container(Engine& e, ContainerRecord& c, int sig);
Result<void> pause_container(Engine& e, ContainerRecord& c, bool pause);
// `rm`: refuses a running container unless `force` (then it is killed).
// `volumes` removes its anonymous volumes too.
Result<void> remove_container(Engine& e, const std::string& id, bool force, bool volumes);
// Waits (up to timeout_ms) for the shim's exit file of the container.
bool wait_for_exit(Engine& e, const std::string& id, int timeout_ms);
// Waits until the container is not running; returns its exit code.
Result<int64_t> wait_container(Engine& e, const std::string& id);

// The shim's exit command: record the exit, unmount, restart or --rm.
Result<void> cleanup_container(Engine& e, const std::string& id);

// What a killed berth left: containers stuck in "creating" or "removing"
// whose lock nobody holds are removed; after a reboot, every container the
// database says runs is marked exited and rootfs mount counts are reset.
Result<void> repair_containers(Engine& e);

// The container's run options as stored.
Result<RunOptions> container_options(const ContainerRecord& c);

// Runs `RUNTIME --root R ARGS...` for the container; the error is the
// runtime's last line of stderr.
Result<void> runtime_command(Engine& e, const ContainerRecord& c, const std::vector<std::string>& args);

}  // namespace berth::manager
