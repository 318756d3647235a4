// `berth import`: a rootfs tarball (plain, gzip or zstd) becomes a
// one-layer image. The layer is stored uncompressed (its digest is its diff
// id), unpacked, and described by a config made here: the host's os/arch,
// rootfs.diff_ids, one history entry, and the --change instructions.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/json.hpp"
#include "manager/images/blob_store.hpp"

namespace berth::manager {

// Applies one --change instruction to an image config's "config" object,
// in podman's forms "CMD=..." or Dockerfile's "CMD ...": CMD, ENTRYPOINT (a
// JSON array, or a string run by /bin/sh -c), ENV K=V, EXPOSE PORT[/PROTO]...,
// LABEL K=V, USER, WORKDIR, VOLUME. Errors name the instruction:
//   --change "FROM x": unknown instruction FROM (CMD, ENTRYPOINT, ...)
Result<void> apply_change(json::Value& config, std::string_view change);

// The current time in UTC, RFC 3339 ("2026-01-02T03:04:05Z").
std::string now_rfc3339();

// An OCI content descriptor {mediaType, digest, size}.
json::Value descriptor(const std::string& media, const std::string& digest, uint64_t size);

// Stores an image manifest {schemaVersion 2, mediaType, config, layers}
// (`layers` an array of descriptors) and returns its digest.
Result<std::string> store_manifest(BlobStore& store, const std::string& media_type, json::Value config,
                                   json::Value layers);

// "amd64", "arm64", ... for the machine berth runs on (GOARCH names).
std::string host_arch();

struct ImportOptions {
    std::vector<std::string> changes;
    std::string message;             // the history entry's comment
    std::vector<std::string> names;  // normalized names, may be empty
    std::string created;             // RFC 3339; empty: now
};

// Imports `file` ("-": stdin) into the store under `root`; returns the image id.
// A failed import leaves no blob or layer behind.
Result<std::string> import_rootfs(const std::string& file, const std::string& root, const ImportOptions& opts);

}  // namespace berth::manager
