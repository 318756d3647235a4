// The container log in the CRI format that Kubernetes and podman's k8s-file
// driver read:  <RFC3339Nano> <stdout|stderr> <F|P> <text>\n
// F ends a line; P is a piece of a line that continues in the next record
// (output read without its newline yet, or a line longer than one read).
// Records are written with writev straight from the read buffer: nothing is
// copied or allocated per line.
#pragma once
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "libutil/error.hpp"
#include "libutil/fd.hpp"

namespace berth::shim {

enum class Stream { Stdout, Stderr };

// "2026-01-02T15:04:05.123456789Z" (UTC, nine digits); out needs 31 bytes.
// Returns the length (30).
size_t format_rfc3339nano(const struct timespec& ts, char* out);

class CriLog {
public:
    // path empty: a log that drops everything. max_size 0: no rotation.
    Result<void> open(std::string path, uint64_t max_size);
    // Appends the records for one read of `stream` (any number of lines).
    Result<void> write(Stream stream, const char* data, size_t len);
    // Closes and re-opens the path (after an outside logrotate moved it).
    Result<void> reopen();
    const std::string& path() const { return path_; }

private:
    Result<void> rotate();
    Result<void> writev_all(struct iovec* iov, int cnt);

    std::string path_;
    UniqueFd fd_;
    uint64_t max_size_ = 0;
    uint64_t size_ = 0;
};

}  // namespace berth::shim
