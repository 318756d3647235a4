// `berth checkpoint`, `restore` and `migrate`: the runtime does the CRIU
// work (runc's `checkpoint` and `restore`, so any runc-compatible runtime
// serves); the manager keeps the images with the container, makes the
// network namespace external to the dump and a new one for the restore,
// has a new shim run the restore, and moves containers between roots as
// archives. docs/manager-design.md, "Checkpoint and restore".
//
//   ROOT/containers/ID/checkpoint/       the last checkpoint's CRIU images
//   ROOT/containers/ID/checkpoint-pre/   a pre-dump (--pre-checkpoint), the
//                                        parent of a --with-previous dump
//   ROOT/containers/ID/checkpoint-work/  CRIU's logs (dump.log, restore.log)
//   ROOT/containers/ID/checkpointed      the dump stopped it (its time);
//                                        gone once it starts again
//
// The archive (--export, a zstd-compressed tar):
//   checkpoint/         the CRIU images
//   checkpoint-pre/     their parent, when the dump was --with-previous
//   berth-export.json   {"version": 1, "name", "image_id", "image", "options",
//                        "addresses": {NETWORK: [ADDRESS...]}}
//   upper/              the rootfs's changes: overlay whiteouts and xattrs kept
//   volumes/NAME/_data  the content of each named volume (not with
//                       --ignore-volumes; nor tmpfs or bind-device volumes)
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "manager/containers/lifecycle.hpp"

namespace berth::manager {

struct CheckpointOptions {
    bool leave_running = false;
    bool tcp_established = false;
    bool keep = false;         // keep CRIU's work dir (logs) after a success
    std::string export_path;   // --export FILE
    bool ignore_volumes = false;  // --ignore-volumes: the archive names them only
    bool file_locks = false;      // --file-locks
    // --pre-checkpoint: a pre-dump into checkpoint-pre (the container runs
    // on); --with-previous: a dump of only what changed since it. Both need
    // the kernel's memory tracking (the runtime says when it is missing).
    bool pre_checkpoint = false;
    bool with_previous = false;
};

// Dumps a running container. Without leave_running the container is stopped
// by the dump (exited, not restarted by its policy). On failure it is left as
// it was, and the images of an earlier checkpoint stay.
Result<void> checkpoint_container(Engine& e, ContainerRecord& c, const CheckpointOptions& o);

struct RestoreOptions {
    std::string import_path;  // --import FILE: a new container from an archive
    std::string name;         // --name: a new container, from the named one's checkpoint
    bool tcp_established = false;
    bool keep = false;
    bool file_locks = false;
    // --import without --name asks for the addresses the container had on
    // its first network (as podman); --ignore-static-ip does not.
    bool ignore_static_ip = false;
    // --publish: replaces the ports the container publishes (nullopt: keep them).
    std::optional<std::vector<std::string>> publish;
};

// `container` (empty with --import): restores it in place, or, with a name,
// into a new container. Returns the restored container. On failure a new
// container is removed again and an existing one is left as it was.
Result<ContainerRecord> restore_container(Engine& e, const std::string& container, const RestoreOptions& o);

// When the container was stopped by a checkpoint and not started since:
// that time (RFC 3339), else "".
std::string checkpointed_at(const Engine& e, const std::string& id);
// The images of its last checkpoint, or "" when it has none.
std::string checkpoint_path(const Engine& e, const std::string& id);

struct MigrateOptions {
    // An absolute directory (another berth root here), or
    // ssh://[USER@]HOST[:PORT][/ROOT]: the archive goes over ssh ($BERTH_SSH,
    // default "ssh") to `REMOTE_BERTH [--root ROOT] restore --import -`.
    std::string to;
    std::string remote_berth;  // the command there; default "berth"
    bool tcp_established = false;
};

// checkpoint --export to a temporary file, restore --import it under the
// other root (here or over ssh), remove the container here; a failed
// restore there restores it here again. Returns the id there.
Result<std::string> migrate_container(Engine& e, ContainerRecord& c, const MigrateOptions& o);

}  // namespace berth::manager
