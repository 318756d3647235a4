// The rule that keeps blobs and layers that an image needs from being
// collected while they are being added: ROOT/storage.lock, taken with flock.
//
//   adders (load, import, pull, commit): hold StoreLock::shared() from the
//     first moment they rely on a blob or layer being in the store (a
//     BlobWriter::commit, a has() that skips a download, an unpack_layer that
//     finds the layer there) until the image that uses it is recorded in
//     berth.db (ImageStore::add). Adders do not block each other. Work that
//     relies on nothing stored (downloading into ROOT/blobs/ingest) needs no lock,
//     so a pull may download first and take the lock only to commit and record.
//   readers that need blobs to stay while they read them (save, history)
//     hold it shared too.
//   collectors (rmi, image prune, a failed adder cleaning up): hold
//     StoreLock::exclusive() while they read what berth.db uses and remove
//     what it does not (collect_garbage).
//
// A collector thus never sees a blob as unused while an adder is about to
// record it. Take the lock before opening a berth.db transaction, never
// while one is open (the other side may wait on the database).
#pragma once
#include <string>

#include "libutil/error.hpp"
#include "libutil/fd.hpp"

namespace berth::manager {

class StoreLock {
public:
    static Result<StoreLock> shared(const std::string& root);
    static Result<StoreLock> exclusive(const std::string& root);
    // Released when the object goes (closing the fd drops the flock).
    StoreLock(StoreLock&&) noexcept = default;
    StoreLock& operator=(StoreLock&&) noexcept = default;

private:
    StoreLock() = default;
    static Result<StoreLock> take(const std::string& root, int op);
    UniqueFd fd_;
};

}  // namespace berth::manager
