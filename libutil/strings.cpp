#include "libutil/strings.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <climits>
#include <filesystem>
#include <cstdio>

#include "libutil/fd.hpp"

namespace berth {

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        size_t pos = s.find(sep, start);
        if (pos == std::string_view::npos) {
            out.emplace_back(s.substr(start));
            return out;
        }
        out.emplace_back(s.substr(start, pos - start));
        start = pos + 1;
    }
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i) out.append(sep);
        out.append(parts[i]);
    }
    return out;
}

std::string_view trim(std::string_view s) {
    constexpr std::string_view kSpace = " \t\n\r\v\f";
    size_t b = s.find_first_not_of(kSpace);
    if (b == std::string_view::npos) return {};
    size_t e = s.find_last_not_of(kSpace);
    return s.substr(b, e - b + 1);
}

std::string to_upper(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

std::optional<uint64_t> parse_u64(std::string_view s) {
    if (s.empty()) return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        uint64_t d = static_cast<uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) return std::nullopt;
        v = v * 10 + d;
    }
    return v;
}

std::optional<int64_t> parse_i64(std::string_view s) {
    bool neg = false;
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
        neg = s.front() == '-';
        s.remove_prefix(1);
    }
    auto mag = parse_u64(s);
    if (!mag) return std::nullopt;
    constexpr uint64_t kMaxPos = static_cast<uint64_t>(INT64_MAX);
    if (neg) {
        if (*mag > kMaxPos + 1) return std::nullopt;
        // -(2^63) has no positive counterpart: negate in unsigned arithmetic.
        return static_cast<int64_t>(0 - *mag);
    }
    if (*mag > kMaxPos) return std::nullopt;
    return static_cast<int64_t>(*mag);
}

// Go's strconv.Quote for ASCII: printable characters stay, the usual C
// escapes are used, other control bytes and invalid UTF-8 become \xHH.
std::string quote(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "\"";
    for (size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        switch (c) {
            case '"': out.append("\\\""); continue;
            case '\\': out.append("\\\\"); continue;
            case '\a': out.append("\\a"); continue;
            case '\b': out.append("\\b"); continue;
            case '\f': out.append("\\f"); continue;
            case '\n': out.append("\\n"); continue;
            case '\r': out.append("\\r"); continue;
            case '\t': out.append("\\t"); continue;
            case '\v': out.append("\\v"); continue;
            default: break;
        }
        if (c >= 0x20 && c < 0x7f) {
            out.push_back(static_cast<char>(c));
            continue;
        }
        if (c >= 0x80) {
            // Keep well-formed multi-byte sequences (not overlong, not surrogates).
            size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
            bool ok = n && i + n <= s.size() && c != 0xC0 && c != 0xC1 && c <= 0xF4;
            for (size_t k = 1; ok && k < n; ++k)
                ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
            if (ok && n >= 3) {
                unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
                if (c == 0xE0 && c1 < 0xA0) ok = false;   // overlong
                if (c == 0xED && c1 >= 0xA0) ok = false;  // surrogate
                if (c == 0xF0 && c1 < 0x90) ok = false;   // overlong
                if (c == 0xF4 && c1 >= 0x90) ok = false;  // > U+10FFFF
            }
            if (ok) {
                out.append(s.substr(i, n));
                i += n - 1;
                continue;
            }
        }
        out.append("\\x");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
    }
    out.push_back('"');
    return out;
}

Result<std::string> read_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return ErrnoErr("open ", path);
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return ErrnoErr("read ", path);
        }
        if (n == 0) return out;
        out.append(buf, static_cast<size_t>(n));
    }
}

namespace {

Result<void> write_all(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return ErrnoErr("write ", path);
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

}  // namespace

Result<void> write_file(const std::string& path, std::string_view data, mode_t mode) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, mode));
    if (!fd) return ErrnoErr("open ", path);
    TRY(write_all(fd.get(), data, path));
    // close() can report a deferred write error (e.g. on NFS).
    if (::close(fd.release()) < 0 && errno != EINTR) return ErrnoErr("close ", path);
    return {};
}

Result<bool> rewrite_file(const std::string& path, std::string_view data) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return false;
        return ErrnoErr("open ", path);
    }
    TRY(write_all(fd.get(), data, path));
    if (::close(fd.release()) < 0 && errno != EINTR) return ErrnoErr("close ", path);
    return true;
}

Result<void> write_file_atomic(const std::string& path, std::string_view data, mode_t mode) {
    std::string tmp = path + ".tmp";
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, mode));
    if (!fd) return ErrnoErr("open ", tmp);
    auto fail = [&](std::unexpected<Error> e) {
        ::unlink(tmp.c_str());
        return e;
    };
    if (auto r = write_all(fd.get(), data, tmp); !r) return fail(std::unexpected(r.error()));
    if (::fsync(fd.get()) < 0) return fail(ErrnoErr("fsync ", tmp));
    if (::close(fd.release()) < 0 && errno != EINTR) return fail(ErrnoErr("close ", tmp));
    if (::rename(tmp.c_str(), path.c_str()) < 0)
        return fail(ErrnoErr("rename ", tmp, " to ", path));
    return {};
}

Result<void> mkdir_all(const std::string& path, mode_t mode) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) return {};
        return CodeErr(ENOTDIR, "mkdir ", path);
    }
    // Create the parents first, then this directory (like Go's os.MkdirAll).
    size_t end = path.find_last_not_of('/');
    if (end == std::string::npos) return {};  // "/" or ""
    size_t slash = path.find_last_of('/', end);
    if (slash != std::string::npos && slash > 0) {
        size_t parent_end = path.find_last_not_of('/', slash);
        if (parent_end != std::string::npos) TRY(mkdir_all(path.substr(0, parent_end + 1), mode));
    }
    if (::mkdir(path.c_str(), mode) == 0) return {};
    int err = errno;
    // Lost a race with another creator, or the path ends in "/.": fine if a
    // directory is there now.
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return {};
    return CodeErr(err, "mkdir ", path);
}

std::string path_join(std::string_view a, std::string_view b) {
    if (a.empty()) return std::string(b);
    if (b.empty()) return std::string(a);
    while (a.size() > 0 && a.back() == '/') a.remove_suffix(1);
    while (!b.empty() && b.front() == '/') b.remove_prefix(1);
    std::string out(a);
    out.push_back('/');
    out.append(b);
    return out;
}

// A port of Go's path/filepath.Clean: collapse repeated separators, drop
// "." elements, resolve ".." lexically ("/.." is "/"), "" becomes ".".
std::string clean_path(std::string_view p) {
    if (p.empty()) return ".";
    const bool rooted = p.front() == '/';
    std::string out;
    size_t r = 0;
    size_t dotdot = 0;  // out.size() below which ".." cannot backtrack
    if (rooted) {
        out.push_back('/');
        r = 1;
        dotdot = 1;
    }
    const size_t n = p.size();
    while (r < n) {
        if (p[r] == '/') {
            ++r;
        } else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
            ++r;
        } else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
            r += 2;
            if (out.size() > dotdot) {
                size_t w = out.size() - 1;
                while (w > dotdot && out[w] != '/') --w;
                out.resize(w);
            } else if (!rooted) {
                if (!out.empty()) out.push_back('/');
                out.append("..");
                dotdot = out.size();
            }
        } else {
            if ((rooted && out.size() != 1) || (!rooted && !out.empty())) out.push_back('/');
            for (; r < n && p[r] != '/'; ++r) out.push_back(p[r]);
        }
    }
    if (out.empty()) return ".";
    return out;
}

Result<std::string> random_hex_id() {
    unsigned char b[32];
    if (::getrandom(b, sizeof b, 0) != sizeof b) return ErrnoErr("getrandom");
    std::string out;
    for (unsigned char c : b) {
        out.push_back("0123456789abcdef"[c >> 4]);
        out.push_back("0123456789abcdef"[c & 15]);
    }
    return out;
}

std::string absolute_path(const std::string& p) {
    if (p.empty() || p[0] == '/') return p;
    char cwd[PATH_MAX];
    if (!::getcwd(cwd, sizeof cwd)) return p;
    return clean_path(path_join(cwd, p));
}

bool path_exists(const std::string& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0;
}

void remove_tree(const std::string& p) {
    std::error_code ec;
    std::filesystem::remove_all(p, ec);
}

}  // namespace berth
