// `berth commit`: a rootfs's upper dir becomes one more layer on top of its
// image. The new image's config is the base image's, with the layer's diff id
// appended to rootfs.diff_ids, a history entry (created_by "berth commit",
// author, comment), `created` now and the --change instructions applied; its
// manifest lists the base image's layers and the new one, in the base
// manifest's media types (docker schema2 or OCI). The new layer is unpacked
// under ROOT/layers/<chain id> at once, so a rootfs can use the image.
#pragma once
#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/json.hpp"
#include "manager/images/image_store.hpp"

namespace berth::manager {

struct CommitOptions {
    std::vector<std::string> changes;  // --change INSTRUCTION=VALUE (import.hpp's apply_change)
    std::string message;               // the history entry's comment
    std::string author;
    std::vector<std::string> names;  // normalized names, may be empty
    std::string created;             // RFC 3339; empty: now
};

// The committed image's config from the base image's: pure, for the tests.
// Errors name a bad --change or a base config without rootfs.diff_ids.
Result<json::Value> commit_config(const json::Value& base, const std::string& diff_id, const CommitOptions& opts);

// Writes `upper_dir` as a layer over image `base` and records the new image
// under `root`; returns its id. The caller must not hold the StoreLock (nor
// the rootfs store's): commit takes it shared. A failed commit leaves no blob,
// layer or record behind.
Result<std::string> commit_rootfs(const std::string& root, const std::string& upper_dir, const ImageRecord& base,
                                  const CommitOptions& opts);

}  // namespace berth::manager
