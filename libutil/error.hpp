// Errors as values: an errno (0 when none applies) plus a message that gains
// context as it rises, shown to the user as one line:
//   "create c1: mount /proc at /proc: Permission denied"
#pragma once
#include <cerrno>
#include <expected>
#include <string>
#include <string_view>
#include <type_traits>

namespace berth {

// g++ 12 has no <format>: messages are built by concatenating their parts.
namespace detail {
inline void append(std::string& out, std::string_view s) { out.append(s); }
inline void append(std::string& out, const char* s) { out.append(s ? s : "(null)"); }
inline void append(std::string& out, const std::string& s) { out.append(s); }
inline void append(std::string& out, char c) { out.push_back(c); }
template <class T>
    requires std::is_arithmetic_v<T>
void append(std::string& out, T v) {
    if constexpr (std::is_same_v<T, bool>)
        out.append(v ? "true" : "false");
    else
        out.append(std::to_string(v));
}
}  // namespace detail

// cat("mount ", src, " at ", dst) -> one string.
template <class... A>
std::string cat(const A&... parts) {
    std::string out;
    (detail::append(out, parts), ...);
    return out;
}

struct Error {
    int code = 0;         // errno, 0 when the error is not a system call's
    std::string message;  // already includes the context chain

    // "message: strerror(code)" when code is set.
    std::string what() const;
};

template <class T = void>
using Result = std::expected<T, Error>;

// An error without errno: Err("config.json: process.args: must not be empty").
template <class... A>
std::unexpected<Error> Err(const A&... parts) {
    return std::unexpected(Error{0, cat(parts...)});
}

// An error that carries errno (read now): ErrnoErr("open ", path).
template <class... A>
std::unexpected<Error> ErrnoErr(const A&... parts) {
    int e = errno;
    return std::unexpected(Error{e, cat(parts...)});
}

// Same with an explicit errno value.
template <class... A>
std::unexpected<Error> CodeErr(int code, const A&... parts) {
    return std::unexpected(Error{code, cat(parts...)});
}

// Prefixes context: Wrap(err, "create ", id) -> "create c1: <old message>".
template <class... A>
std::unexpected<Error> Wrap(Error e, const A&... parts) {
    e.message = cat(parts...) + ": " + e.message;
    return std::unexpected(std::move(e));
}

}  // namespace berth

// Propagate an error from an expression returning Result<...>:
//   TRY(mount_proc(...));   auto fd = TRY(open_at(...));
#define TRY(expr)                                                                     \
    ({                                                                                \
        auto&& berth_try_r_ = (expr);                                                 \
        if (!berth_try_r_) return std::unexpected(std::move(berth_try_r_).error());   \
        std::move(berth_try_r_).value();                                              \
    })
// Same, adding context: TRY_CTX(mount(...), "mount ", dst).
#define TRY_CTX(expr, ...)                                                            \
    ({                                                                                \
        auto&& berth_try_r_ = (expr);                                                 \
        if (!berth_try_r_) return ::berth::Wrap(std::move(berth_try_r_).error(), __VA_ARGS__); \
        std::move(berth_try_r_).value();                                              \
    })
