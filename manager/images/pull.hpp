// Pulls an image from a registry into the store: manifest (an index or
// manifest list resolved to one platform), config, then the layers, several
// at a time, each one streamed from the registry into its blob file and,
// through a pipe, into libarchive unpacking it as it arrives. A blob is kept
// only when its digest and size match, a layer only when its diff id matches
// the config's; a failed pull leaves no blob, layer or metadata of its own.
#pragma once
#include <optional>
#include <string>

#include "libutil/error.hpp"
#include "manager/images/pull_progress.hpp"
#include "manager/images/reference.hpp"
#include "manager/registry/auth.hpp"
#include "manager/registry/config.hpp"

namespace berth::manager {

struct Platform {
    std::string os, arch, variant;
    std::string str() const { return os + "/" + arch + (variant.empty() ? "" : "/" + variant); }
};
// "os/arch[/variant]", normalized as containerd does (x86_64 -> amd64,
// aarch64 -> arm64, arm64/v8 -> arm64).
Result<Platform> parse_platform(std::string_view s);
Platform host_platform();
// Whether an index entry's platform serves `want`: os and arch equal, and the
// variant equal, or any when `want` names none, or for arm a lower one
// (v7 runs v6 and v5). Lower scores are better; nullopt: no match.
std::optional<int> platform_score(const Platform& want, const Platform& have);

struct PullOptions {
    std::optional<Platform> platform;  // default: the host's
    std::optional<bool> tls_verify;    // default: registries.conf's insecure, else true
    std::string authfile;              // default: registry::default_auth_file()
    std::optional<registry::Credentials> creds;
    unsigned parallel = 3;  // layers at a time
};

struct PulledImage {
    std::string id;    // "sha256:<config digest>"
    std::string name;  // "domain/path:tag", empty for a pull by digest only
};

Result<PulledImage> pull_image(const Reference& ref, const std::string& root, const registry::RegistriesConfig& conf,
                               const PullOptions& opts, PullProgress& progress);

// The temp files an interrupted pull or load left (ROOT/blobs/ingest/*,
// ROOT/layers/.tmp-*): removed unless a running berth holds their lock.
void remove_stale_temp_files(const std::string& root);

}  // namespace berth::manager
