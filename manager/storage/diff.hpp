// A rootfs's changes as a layer: the overlay upper dir written as a gzip'ed
// tarball in the OCI/docker layer format, for `commit` and `diff`.
//   overlay whiteout (char 0:0)          -> NAME's parent/.wh.NAME
//   opaque dir (trusted.overlay.opaque=y) -> DIR/.wh..wh..opq after DIR
// plus ownership, modes, times, xattrs (overlay's own trusted.overlay.* left
// out), hardlinks (once as a file, then as links to it), device nodes, fifos
// and symlinks. Entries are sorted by name, so equal trees give equal layers.
// The upper dir must not be changing: the rootfs is unmounted, or its
// container paused.
#pragma once
#include <cstdint>
#include <string>

#include "libutil/error.hpp"
#include "manager/images/blob_store.hpp"

namespace berth::manager {

struct LayerDiff {
    std::string digest;   // sha256 of the gzip'ed blob (the manifest's layer digest)
    int64_t size = 0;     // bytes of the blob
    std::string diff_id;  // sha256 of the uncompressed tar (the config's diff id)
    int64_t diff_size = 0;  // bytes of the uncompressed tar
};

// Streams the tarball into the blob store (one pass: tar -> diff id hash ->
// gzip -> blob digest -> disk); nothing is left behind on an error.
Result<LayerDiff> write_layer_diff(const std::string& upper_dir, BlobStore& store);

}  // namespace berth::manager
