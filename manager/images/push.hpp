// Pushes a stored image to a registry: each blob (layers, config) the
// registry does not have yet (HEAD) is mounted from another repository of the
// same registry that the image was pulled from or pushed to, or uploaded (one
// PUT, or PATCH chunks for a large blob); then the manifest.
#pragma once
#include <optional>
#include <string>

#include "libutil/error.hpp"
#include "manager/images/image_store.hpp"
#include "manager/images/pull_progress.hpp"
#include "manager/images/reference.hpp"
#include "manager/registry/auth.hpp"
#include "manager/registry/config.hpp"

namespace berth::manager {

struct PushOptions {
    std::optional<bool> tls_verify;
    std::string authfile;
    std::optional<registry::Credentials> creds;
    uint64_t chunk_size = 32 << 20;  // blobs larger than this go in PATCH chunks
};

// Returns the digest of the pushed manifest.
Result<std::string> push_image(const ImageRecord& img, const Reference& dest, const std::string& root,
                               const registry::RegistriesConfig& conf, const PushOptions& opts, PullProgress& progress);

}  // namespace berth::manager
