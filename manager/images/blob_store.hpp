// The content store: blobs by digest under ROOT/blobs/sha256/<hex>. A blob is
// streamed into a temp file in ROOT/blobs/ingest/, hashed and counted while it
// is written, and only renamed into place (after fsync) when its digest and
// size are what the manifest promised: a blob in the store is always intact.
#pragma once
#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "libutil/error.hpp"
#include "libutil/fd.hpp"

namespace berth::manager {

class BlobWriter {
public:
    BlobWriter(BlobWriter&&) noexcept = default;
    BlobWriter& operator=(BlobWriter&&) noexcept = default;
    ~BlobWriter();  // an uncommitted blob's temp file is removed

    Result<void> write(const void* data, size_t len);
    Result<void> write(std::string_view s) { return write(s.data(), s.size()); }
    // Checks digest (empty: any) and size (-1: any), then moves the blob into
    // place. Returns its digest. On a mismatch nothing is left behind:
    //   digest mismatch: expected sha256:..., got sha256:...
    Result<std::string> commit(std::string_view expected_digest, int64_t expected_size);
    uint64_t size() const { return size_; }

private:
    friend class BlobStore;
    struct CtxFree {
        void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
    };
    BlobWriter() = default;
    std::string blobs_dir_;
    std::string tmp_path_;
    UniqueFd fd_;
    std::unique_ptr<EVP_MD_CTX, CtxFree> ctx_;
    uint64_t size_ = 0;
};

class BlobStore {
public:
    explicit BlobStore(std::string root) : root_(std::move(root)) {}

    Result<BlobWriter> writer();
    // Stores a small in-memory blob (a manifest, a config).
    Result<std::string> put(std::string_view data, std::string_view expected_digest = "");
    bool has(std::string_view digest) const;
    // ROOT/blobs/sha256/<hex>; the digest must be valid.
    std::string path(std::string_view digest) const;
    Result<std::string> read(std::string_view digest) const;
    // Removing a blob that is not there is not an error.
    Result<void> remove(std::string_view digest);

private:
    std::string root_;
};

// Finishes a sha256 context: "sha256:<hex>".
std::string hex_digest(EVP_MD_CTX* ctx);
// sha256 of `data` as "sha256:<hex>".
std::string sha256_digest(std::string_view data);

}  // namespace berth::manager
