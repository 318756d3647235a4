#include "shim/cri_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace berth::shim {

namespace {

void put_digits(char* p, unsigned v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10) p[i] = char('0' + v % 10);
}

// writev takes at most IOV_MAX (1024) entries; two per record.
constexpr int kMaxIov = 1024;

}  // namespace

size_t format_rfc3339nano(const struct timespec& ts, char* out) {
    struct tm tm;
    ::gmtime_r(&ts.tv_sec, &tm);
    // YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ
    put_digits(out, unsigned(tm.tm_year + 1900), 4);
    out[4] = '-';
    put_digits(out + 5, unsigned(tm.tm_mon + 1), 2);
    out[7] = '-';
    put_digits(out + 8, unsigned(tm.tm_mday), 2);
    out[10] = 'T';
    put_digits(out + 11, unsigned(tm.tm_hour), 2);
    out[13] = ':';
    put_digits(out + 14, unsigned(tm.tm_min), 2);
    out[16] = ':';
    put_digits(out + 17, unsigned(tm.tm_sec), 2);
    out[19] = '.';
    put_digits(out + 20, unsigned(ts.tv_nsec), 9);
    out[29] = 'Z';
    out[30] = '\0';
    return 30;
}

Result<void> CriLog::open(std::string path, uint64_t max_size) {
    path_ = std::move(path);
    max_size_ = max_size;
    return reopen();
}

Result<void> CriLog::reopen() {
    if (path_.empty()) return {};
    UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
    if (!fd) return ErrnoErr("open ", path_);
    struct stat st;
    size_ = ::fstat(fd.get(), &st) == 0 ? uint64_t(st.st_size) : 0;
    fd_ = std::move(fd);
    return {};
}

// One backup, like `podman --log-opt max-size`: PATH -> PATH.1, a new PATH.
Result<void> CriLog::rotate() {
    std::string old = path_ + ".1";
    if (::rename(path_.c_str(), old.c_str()) < 0) return ErrnoErr("rename ", path_, " to ", old);
    return reopen();
}

Result<void> CriLog::writev_all(struct iovec* iov, int cnt) {
    while (cnt > 0) {
        ssize_t n = ::writev(fd_.get(), iov, cnt);
        if (n < 0) {
            if (errno == EINTR) continue;
            return ErrnoErr("write ", path_);
        }
        size_ += uint64_t(n);
        // Skip what was written (short writes: a full disk, a signal).
        while (cnt > 0 && size_t(n) >= iov->iov_len) {
            n -= ssize_t(iov->iov_len);
            ++iov;
            --cnt;
        }
        if (cnt > 0) {
            iov->iov_base = static_cast<char*>(iov->iov_base) + n;
            iov->iov_len -= size_t(n);
        }
    }
    return {};
}

Result<void> CriLog::write(Stream stream, const char* data, size_t len) {
    if (!fd_ || len == 0) return {};
    // "TIMESTAMP stdout F " and "... P ": the same for every record of one read.
    static char full[48], partial[48];
    static char newline[] = "\n";
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    size_t h = format_rfc3339nano(ts, full);
    const char* name = stream == Stream::Stdout ? " stdout F " : " stderr F ";
    std::memcpy(full + h, name, 10);
    h += 10;
    std::memcpy(partial, full, h);
    partial[h - 2] = 'P';

    static struct iovec iov[kMaxIov];
    int cnt = 0;
    size_t total = 0;
    const char* p = data;
    const char* end = data + len;
    while (p < end) {
        const char* nl = static_cast<const char*>(std::memchr(p, '\n', size_t(end - p)));
        bool complete = nl != nullptr;
        const char* stop = complete ? nl + 1 : end;
        size_t rec = h + size_t(stop - p) + (complete ? 0 : 1);
        // Rotate between records, so no file holds half of one and no file
        // grows past the limit (unless one record alone is bigger).
        if (max_size_ && size_ + total > 0 && size_ + total + rec > max_size_) {
            if (cnt) TRY(writev_all(iov, cnt));
            cnt = 0;
            total = 0;
            if (size_ > 0) TRY(rotate());
        }
        iov[cnt++] = {complete ? full : partial, h};
        iov[cnt++] = {const_cast<char*>(p), size_t(stop - p)};
        if (!complete) iov[cnt++] = {newline, 1};
        total += rec;
        p = stop;
        if (cnt > kMaxIov - 3) {
            TRY(writev_all(iov, cnt));
            cnt = 0;
            total = 0;
        }
    }
    if (cnt) TRY(writev_all(iov, cnt));
    return {};
}

}  // namespace berth::shim
