// Writes images out as podman does: a docker-archive tar (manifest.json with
// Config, RepoTags and Layers; layers as uncompressed "<diff id>.tar"), an
// OCI layout tar (oci-archive) or an OCI layout directory (oci-dir). Tars are
// streamed with libarchive straight from the blob store: no temp copy.
#pragma once
#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "manager/images/image_store.hpp"

namespace berth::manager {

enum class SaveFormat { DockerArchive, OciArchive, OciDir };

// "docker-archive", "oci-archive", "oci-dir".
Result<SaveFormat> parse_save_format(std::string_view name);

struct SaveItem {
    ImageRecord image;
    std::vector<std::string> names;  // the names to write, may be empty
};

// Writes a tar to `fd` (DockerArchive, OciArchive) or fills the directory
// `dir` (OciDir). The caller holds the shared StoreLock.
Result<void> save_images(const std::string& root, const std::vector<SaveItem>& items, SaveFormat format, int fd,
                         const std::string& dir);

}  // namespace berth::manager
