// checkpoint/restore's pure parts: runc's CRIU flags parsed into options,
// the external mounts a container's spec gives CRIU, the stdio record of an
// image (descriptors.json) and the error lines of a CRIU log. Nothing here
// talks to CRIU, so all of it is unit-tested.
#pragma once
#include <sched.h>

#include <string>
#include <utility>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/oci/spec.hpp"
#include "runtime/cli/args.hpp"

namespace berth::runtime {

enum class CgroupsMode { Default, Soft, Full, Strict, Ignore };

struct CriuOptions {
    std::string image_path;   // default: ./checkpoint (runc's)
    std::string work_path;    // default: the image path; CRIU's log goes here
    std::string parent_path;  // --parent-path: a pre-dump, relative to image_path
    bool leave_running = false;
    bool tcp_established = false;
    bool tcp_skip_in_flight = false;
    bool ext_unix_sk = false;
    bool shell_job = false;
    bool file_locks = false;
    bool link_remap = false;
    bool pre_dump = false;
    bool auto_dedup = false;
    bool lazy_pages = false;
    CgroupsMode cgroups_mode = CgroupsMode::Default;
    // CLONE_NEW* flags of namespaces whose content CRIU leaves alone. The
    // network one always, as runc: its links are dumped and made again, but
    // not addresses, routes or firewall rules (the runtime does not manage
    // them: whoever set up the network sets it up again), which also saves
    // CRIU's ip/iptables-save runs at every dump.
    int empty_ns = CLONE_NEWNET;
    int status_fd = -1;               // --status-fd
    std::string page_server_address;  // --page-server ADDRESS:PORT
    int page_server_port = 0;
};

// The flags `checkpoint` (restore = false) or `restore` accept, runc's names.
const std::vector<FlagSpec>& criu_flags(bool restore);
// Errors name the flag and value: `--manage-cgroups-mode "x": invalid (soft,
// full, strict or ignore)`; `--page-server "h": expected ADDRESS:PORT`.
Result<CriuOptions> criu_options(const Args& a);
// What `checkpoint` refuses on top of that: --lazy-pages without
// --page-server (runc accepts it; see the .cpp), or with --pre-dump.
Result<void> check_checkpoint_options(const CriuOptions& o);

// A mount CRIU must treat as external: inside the container at `key`, on
// the host at `value` (at dump the value is only a name, the key again).
struct ExtMount {
    std::string key, value;
};
// runc's set: bind mounts; on hybrid/v1 without a cgroup namespace, each
// hierarchy bound under a cgroup mount (`cgroup_binds`: hierarchy name ->
// host dir of the container's cgroup); masked paths that are files
// (`masked_files`, those that exist in the container) bound from /dev/null;
// and linux.devices nodes.
std::vector<ExtMount> external_mounts(const oci::Spec& spec, const std::string& bundle,
                                      const std::vector<std::pair<std::string, std::string>>& cgroup_binds,
                                      const std::vector<std::string>& masked_files, bool restore);

// descriptors.json: what fds 0, 1, 2 of the init were ("pipe:[123]",
// "/dev/null", "/dev/pts/0"), a JSON array of strings.
std::string descriptors_json(const std::vector<std::string>& fds);
Result<std::vector<std::string>> parse_descriptors(std::string_view text, const std::string& file);

// The last error of a CRIU log, as one line: the last "Error (...)" line,
// without its timestamp (CRIU logs "(00.012345) Error (criu/mount.c:12): msg").
// Empty when there is none.
std::string criu_log_error(std::string_view log);

}  // namespace berth::runtime
