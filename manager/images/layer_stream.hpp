// A layer blob (uncompressed, gzip or zstd tar) read as its uncompressed tar
// stream: what docker-archive stores, what a diff id hashes, what an
// imported rootfs becomes. Reading stops with an error naming the limit once
// more than max_layer_size() bytes came out (a decompression bomb).
#pragma once
#include <archive.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "libutil/error.hpp"

namespace berth::manager {

// BERTH_MAX_LAYER_SIZE (bytes, or with a K/M/G/T suffix, powers of 1024), else
// 64 GiB: far above any real layer, far below what a small bomb expands to.
// A value that is not a size is an error naming it (never silently ignored).
Result<uint64_t> max_layer_size();
// "1024", "64G" -> bytes; nullopt for anything else.
std::optional<uint64_t> parse_size(std::string_view s);
// The limit error every reader gives:
//   uncompressed size exceeds the limit of N bytes (BERTH_MAX_LAYER_SIZE)
Error layer_too_big(uint64_t limit);

class LayerReader {
public:
    // `path` "-" is stdin.
    static Result<LayerReader> open(const std::string& path);
    // Bytes read into buf; 0 at the end.
    Result<size_t> read(char* buf, size_t len);
    uint64_t total() const { return total_; }

private:
    struct Free {
        void operator()(archive* a) const { archive_read_free(a); }
    };
    LayerReader() = default;
    std::unique_ptr<archive, Free> a_;
    std::string name_;
    uint64_t total_ = 0;
    uint64_t limit_ = 0;
};

// True when the blob starts with gzip's or zstd's magic.
Result<bool> blob_is_compressed(const std::string& path);
// The uncompressed tar size of a layer blob: its file size when it is not
// compressed, else one decompressing pass.
Result<uint64_t> layer_tar_size(const std::string& path);

}  // namespace berth::manager
