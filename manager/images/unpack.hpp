// Unpacks one layer tarball (uncompressed, gzip or zstd) into its own
// directory ROOT/layers/<chain id hex>/, ready to be an overlayfs lower dir:
// AUFS-style whiteouts (.wh.NAME) become overlayfs whiteouts (char 0:0), and
// .wh..wh..opq marks its directory opaque (trusted.overlay.opaque=y).
//
// Every entry is created relative to the layer dir's fd, component by
// component with O_NOFOLLOW: an entry whose path has "..", is absolute, or
// whose parent goes through a symlink is rejected (CVE-2019-14271-style
// escapes), and a hardlink must point inside the layer. The layer is built in
// a temp dir under ROOT/layers/ and renamed into place only when complete.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "libutil/error.hpp"

namespace berth::manager {

// sha256 of the uncompressed tar stream of a (possibly compressed) layer
// blob: the layer's diff id, as an image config lists it. Both this and
// unpack_layer stop once the uncompressed stream passes max_layer_size().
struct DiffId {
    std::string digest;
    uint64_t size = 0;  // bytes of the uncompressed stream
};
Result<DiffId> layer_diff_id(const std::string& blob_path);

// ChainID(L0) = DiffID(L0); ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + DiffID(Ln)).
std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids);

// Unpacks `blob_path` into layers_dir/<hex of chain_id>. An existing layer
// dir is kept as it is (the chain id names its content).
Result<void> unpack_layer(const std::string& blob_path, const std::string& layers_dir, const std::string& chain_id);

// Unpacks `blob_path` in one pass (a PendingLayer) and keeps the layer only
// when the stream's diff id is `expected_diff_id`, else nothing is left:
//   diff id mismatch: expected sha256:..., got sha256:...
// Returns the diff id (its size is the layer's unpacked size).
Result<DiffId> unpack_checked(const std::string& blob_path, const std::string& layers_dir, const std::string& chain_id,
                              const std::string& expected_diff_id);

// A layer unpacked from a stream (a pipe from a download, or a blob file)
// in one pass, its diff id computed on the way: it waits in a temp dir under
// layers_dir until commit() renames it to its chain id; dropped uncommitted
// (a digest or diff id mismatch, an error), the temp dir goes with it.
class PendingLayer {
public:
    // Reads `fd` to its end. `what` names the layer in errors ("layer sha256:...").
    static Result<PendingLayer> extract(int fd, const std::string& layers_dir, const std::string& what);
    PendingLayer(PendingLayer&& o) noexcept;
    PendingLayer& operator=(PendingLayer&&) = delete;
    ~PendingLayer();
    const DiffId& diff_id() const { return diff_id_; }
    // An existing dir of that chain id (another berth's) is kept.
    Result<void> commit(const std::string& chain_id);

private:
    PendingLayer() = default;
    std::string layers_dir_, tmp_;
    DiffId diff_id_;
};

}  // namespace berth::manager
