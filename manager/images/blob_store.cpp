#include "manager/images/blob_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "libutil/strings.hpp"
#include "manager/images/reference.hpp"

namespace berth::manager {

std::string hex_digest(EVP_MD_CTX* ctx) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    static const char* kHex = "0123456789abcdef";
    std::string out = "sha256:";
    for (unsigned i = 0; i < len; ++i) {
        out.push_back(kHex[md[i] >> 4]);
        out.push_back(kHex[md[i] & 15]);
    }
    return out;
}

namespace {

Result<void> fsync_dir(const std::string& dir) {
    UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!d) return ErrnoErr("open ", dir);
    if (::fsync(d.get()) < 0) return ErrnoErr("fsync ", dir);
    return {};
}

}  // namespace

std::string sha256_digest(std::string_view data) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    EVP_DigestUpdate(ctx, data.data(), data.size());
    std::string d = hex_digest(ctx);
    EVP_MD_CTX_free(ctx);
    return d;
}

BlobWriter::~BlobWriter() {
    if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
}

Result<void> BlobWriter::write(const void* data, size_t len) {
    const char* p = static_cast<const char*>(data);
    size_t left = len;
    while (left > 0) {
        ssize_t n = ::write(fd_.get(), p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            return ErrnoErr("write ", tmp_path_);
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    EVP_DigestUpdate(ctx_.get(), data, len);
    size_ += len;
    return {};
}

Result<std::string> BlobWriter::commit(std::string_view expected_digest, int64_t expected_size) {
    std::string digest = hex_digest(ctx_.get());
    if (!expected_digest.empty() && digest != expected_digest)
        return Err("digest mismatch: expected ", expected_digest, ", got ", digest);
    if (expected_size >= 0 && static_cast<uint64_t>(expected_size) != size_)
        return Err("size mismatch for ", digest, ": expected ", expected_size, " bytes, got ", size_);
    if (::fsync(fd_.get()) < 0) return ErrnoErr("fsync ", tmp_path_);
    fd_.reset();
    std::string dst = path_join(blobs_dir_, digest.substr(7));
    if (::rename(tmp_path_.c_str(), dst.c_str()) < 0) return ErrnoErr("rename ", tmp_path_, " to ", dst);
    tmp_path_.clear();
    TRY(fsync_dir(blobs_dir_));
    return digest;
}

Result<BlobWriter> BlobStore::writer() {
    std::string ingest = path_join(root_, "blobs/ingest");
    BlobWriter w;
    w.blobs_dir_ = path_join(root_, "blobs/sha256");
    TRY(mkdir_all(ingest, 0700));
    TRY(mkdir_all(w.blobs_dir_, 0700));
    std::string tmpl = path_join(ingest, "blob-XXXXXX");
    int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd < 0) return ErrnoErr("create a temp file in ", ingest);
    w.fd_.reset(fd);
    w.tmp_path_ = tmpl;
    // Held while the blob is written: a cleaner removes only unlocked temp files.
    if (::flock(fd, LOCK_EX) < 0) return ErrnoErr("lock ", tmpl);
    w.ctx_.reset(EVP_MD_CTX_new());
    if (!w.ctx_ || EVP_DigestInit_ex(w.ctx_.get(), EVP_sha256(), nullptr) != 1) return Err("sha256: cannot initialise");
    return w;
}

Result<std::string> BlobStore::put(std::string_view data, std::string_view expected_digest) {
    auto w = TRY(writer());
    TRY(w.write(data));
    return w.commit(expected_digest, static_cast<int64_t>(data.size()));
}

std::string BlobStore::path(std::string_view digest) const {
    return path_join(path_join(root_, "blobs/sha256"), digest.substr(7));
}

bool BlobStore::has(std::string_view digest) const {
    struct stat st;
    return valid_digest(digest) && ::stat(path(digest).c_str(), &st) == 0;
}

Result<std::string> BlobStore::read(std::string_view digest) const {
    if (!valid_digest(digest)) return Err("invalid digest \"", digest, "\"");
    return read_file(path(digest));
}

Result<void> BlobStore::remove(std::string_view digest) {
    if (!valid_digest(digest)) return Err("invalid digest \"", digest, "\"");
    std::string p = path(digest);
    if (::unlink(p.c_str()) < 0 && errno != ENOENT) return ErrnoErr("remove ", p);
    return {};
}

}  // namespace berth::manager
