// `berth create|run` command lines into RunOptions, docker's and podman's
// flag names and value syntax; every bad value is one error line naming the
// flag and the value: invalid value "12q" for --memory: ...
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/json.hpp"
#include "manager/containers/options.hpp"

namespace berth::manager {

// argv[start..argc): flags, then IMAGE, then the command (flags after IMAGE
// belong to the command). Notes about accepted-but-ignored values ("volume
// option z ignored") go to `notes` when given, else to stderr as
// "berth: note: ...".
Result<RunOptions> parse_run_options(int argc, char** argv, int start,
                                     std::vector<std::string>* notes = nullptr);

// The record kept with the container; run_options_from_json(to_json(o)) == o.
json::Value to_json(const RunOptions& o);
Result<RunOptions> run_options_from_json(const json::Value& v);
bool operator==(const MountRequest& a, const MountRequest& b);
bool operator==(const RunOptions& a, const RunOptions& b);

// Pieces shared with the spec generator and the tests.
//
// Docker's sizes: "512", "64m", "1.5g", "10MiB", "2 GB"; with `binary` powers
// of 1024 (memory), else of 1000 (docker's log max-size). nullopt on junk.
std::optional<int64_t> parse_docker_size(std::string_view s, bool binary = true);
// "net_admin", "CAP_NET_ADMIN" -> "CAP_NET_ADMIN"; "all" -> "ALL"; nullopt
// for a name the kernel does not have.
std::optional<std::string> normalize_capability(std::string_view s);
// Every capability name, CAP_CHOWN .. CAP_CHECKPOINT_RESTORE.
const std::vector<std::string>& all_capabilities();
// -v, --mount and --tmpfs values; errors name the flag and the value.
Result<MountRequest> parse_volume_flag(std::string_view v, std::vector<std::string>* notes);
Result<MountRequest> parse_mount_flag(std::string_view v);
Result<MountRequest> parse_tmpfs_flag(std::string_view v);
// docker's env-file format: KEY=VALUE lines, # comments, blank lines; a line
// with KEY alone takes the host's value (skipped when unset).
// One -p value: [IP:][HOSTPORT:]PORT[/tcp|udp] ([v6]:HOSTPORT:PORT; ports
// may be equal-length ranges, expanded here).
Result<std::vector<PublishRequest>> parse_publish_flag(std::string_view v);
Result<std::vector<std::string>> read_env_file(const std::string& path, std::string_view flag);

}  // namespace berth::manager
