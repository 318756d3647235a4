// An image's history as podman prints it, newest first, from the config's
// "history" list: entries with "empty_layer" made no layer (size 0); the
// others take the image's layers bottom up, with their uncompressed sizes.
// Layers with no entry left (a config without history) get a row each.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "manager/images/image_store.hpp"

namespace berth::manager {

struct HistoryRow {
    std::string id;  // the image id on the newest row, "<missing>" below it
    std::string created;
    std::string created_by;
    std::string comment;
    uint64_t size = 0;
    std::vector<std::string> tags;  // the image's names, on the newest row
};

// `layer_sizes`: one per layer, bottom first.
Result<std::vector<HistoryRow>> image_history(const ImageRecord& img, const std::vector<uint64_t>& layer_sizes);

// Each layer's uncompressed size, bottom first, from the blobs the manifest
// lists (the caller holds the shared StoreLock).
Result<std::vector<uint64_t>> layer_sizes(const std::string& root, const ImageRecord& img);

}  // namespace berth::manager
