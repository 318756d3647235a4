// Loads images from an archive: an OCI image layout tar (index.json,
// blobs/sha256/...) or a docker-archive tar (manifest.json with Config,
// RepoTags and Layers, as `docker save` writes it). Every blob is verified by
// digest, every layer by its diff id, before an image is recorded; a failed
// load leaves no blob, layer or metadata of its own behind.
#pragma once
#include <set>
#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "manager/images/image_store.hpp"
#include "manager/images/reference.hpp"

namespace berth::manager {

struct LoadedImage {
    std::string id;
    std::vector<std::string> names;
};

// `file` "-" reads stdin (a pipe is fine: the archive is read once).
Result<std::vector<LoadedImage>> load_archive(const std::string& file, const std::string& root,
                                              const ReferenceDefaults& defaults);

// Removes an image's blobs and layers that no remaining image uses, under
// the exclusive StoreLock (the caller must not hold the shared one).
Result<void> collect_garbage(const std::string& root, const std::vector<std::string>& blobs,
                             const std::vector<std::string>& layers);

// Blobs and layers one command stored (an adder that fails hands them to
// collect(), which removes those no image uses) or freed (rmi, prune).
struct StoreContent {
    std::set<std::string> blobs, layers;
    void add(const ImageRecord& img) {
        blobs.insert(img.blobs.begin(), img.blobs.end());
        layers.insert(img.layers.begin(), img.layers.end());
    }
    Result<void> collect(const std::string& root) const {
        return collect_garbage(root, {blobs.begin(), blobs.end()}, {layers.begin(), layers.end()});
    }
};

}  // namespace berth::manager
