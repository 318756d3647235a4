#include "manager/images/layer_stream.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>

#include "libutil/fd.hpp"
#include "libutil/strings.hpp"

namespace berth::manager {

std::optional<uint64_t> parse_size(std::string_view s) {
    // K, M, G, T (either case): powers of 1024.
    uint64_t mult = 1;
    if (!s.empty())
        if (auto u = std::string_view("KMGT").find(static_cast<char>(std::toupper(static_cast<unsigned char>(s.back()))));
            u != std::string_view::npos) {
            mult = 1ULL << (10 * (u + 1));
            s.remove_suffix(1);
        }
    auto n = parse_u64(s);
    if (!n || *n > UINT64_MAX / mult) return std::nullopt;
    return *n * mult;
}

Result<uint64_t> max_layer_size() {
    constexpr uint64_t kDefault = 64ULL << 30;
    const char* env = std::getenv("BERTH_MAX_LAYER_SIZE");
    if (!env || !*env) return kDefault;
    auto n = parse_size(env);
    if (!n || *n == 0) return Err("BERTH_MAX_LAYER_SIZE: invalid size \"", env, "\" (bytes, or a number with K, M, G or T)");
    return *n;
}

Error layer_too_big(uint64_t limit) {
    return Error{0, cat("uncompressed size exceeds the limit of ", limit, " bytes (BERTH_MAX_LAYER_SIZE)")};
}

Result<LayerReader> LayerReader::open(const std::string& path) {
    LayerReader r;
    r.name_ = path == "-" ? "stdin" : path;
    r.limit_ = TRY(max_layer_size());
    r.a_.reset(archive_read_new());
    if (!r.a_) return Err("libarchive: out of memory");
    archive_read_support_filter_gzip(r.a_.get());
    archive_read_support_filter_zstd(r.a_.get());
    archive_read_support_filter_none(r.a_.get());
    archive_read_support_format_raw(r.a_.get());
    int rc = path == "-" ? archive_read_open_fd(r.a_.get(), STDIN_FILENO, 64 * 1024)
                         : archive_read_open_filename(r.a_.get(), path.c_str(), 64 * 1024);
    archive_entry* e;
    if (rc != ARCHIVE_OK || archive_read_next_header(r.a_.get(), &e) != ARCHIVE_OK)
        return Err(r.name_, ": ", archive_error_string(r.a_.get()));
    return r;
}

Result<size_t> LayerReader::read(char* buf, size_t len) {
    la_ssize_t n = archive_read_data(a_.get(), buf, len);
    if (n < 0) return Err(name_, ": ", archive_error_string(a_.get()));
    total_ += static_cast<uint64_t>(n);
    if (total_ > limit_) return Wrap(layer_too_big(limit_), name_);
    return static_cast<size_t>(n);
}

Result<bool> blob_is_compressed(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return ErrnoErr(path);
    unsigned char m[4] = {};
    ssize_t n = ::pread(fd.get(), m, sizeof m, 0);
    if (n < 0) return ErrnoErr("read ", path);
    bool gzip = n >= 2 && m[0] == 0x1f && m[1] == 0x8b;
    bool zstd = n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd;
    return gzip || zstd;
}

Result<uint64_t> layer_tar_size(const std::string& path) {
    if (!TRY(blob_is_compressed(path))) {
        struct stat st;
        if (::stat(path.c_str(), &st) < 0) return ErrnoErr(path);
        return static_cast<uint64_t>(st.st_size);
    }
    auto r = TRY(LayerReader::open(path));
    char buf[64 * 1024];
    while (TRY(r.read(buf, sizeof buf)) > 0) {
    }
    return r.total();
}

}  // namespace berth::manager
