// Small string and file helpers shared by every program.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libutil/error.hpp"

namespace berth {

std::vector<std::string> split(std::string_view s, char sep);  // keeps empty fields
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string_view trim(std::string_view s);
std::string to_upper(std::string_view s);
// Whole-string unsigned/signed decimal parse; nullopt on junk or overflow.
std::optional<uint64_t> parse_u64(std::string_view s);
std::optional<int64_t> parse_i64(std::string_view s);
// Quotes a string for an error message the way runc does: "\"value\"".
std::string quote(std::string_view s);

// Reads a whole file. Errors: "open PATH: <strerror>".
Result<std::string> read_file(const std::string& path);
// 64 random hex digits (32 bytes of getrandom): ids of containers, rootfs
// and anonymous volumes.
Result<std::string> random_hex_id();
// Writes (O_WRONLY|O_TRUNC|O_CREAT, mode) without rename; for /proc, cgroup files.
Result<void> write_file(const std::string& path, std::string_view data, mode_t mode = 0644);
// Replaces the content of the existing file at `path` in place (its inode,
// e.g. one bind-mounted elsewhere, stays); false when there is none: it is
// never created (its directory may be going away).
Result<bool> rewrite_file(const std::string& path, std::string_view data);
// write to PATH.tmp, fsync, rename over PATH: readers see the old or the new file.
Result<void> write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0644);
// mkdir -p; existing directories are fine.
Result<void> mkdir_all(const std::string& path, mode_t mode = 0755);
// Joins two paths with exactly one '/' between them.
std::string path_join(std::string_view a, std::string_view b);
// Lexically cleans a path like Go's filepath.Clean ("a//b/../c" -> "a/c").
std::string clean_path(std::string_view p);
// A relative path made absolute against the working directory (cleaned);
// an absolute or empty one as it is.
std::string absolute_path(const std::string& p);
// Whether anything (a dangling symlink too) is at `p`.
bool path_exists(const std::string& p);
// rm -rf; nothing there is fine, errors are ignored.
void remove_tree(const std::string& p);

}  // namespace berth
