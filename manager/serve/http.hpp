// The HTTP/1.1 server side of `berth serve`: one connection (a socket and
// its read buffer), requests read from it, responses written to it. Only
// what the Docker Engine API's clients send: Content-Length and chunked
// bodies, keep-alive, and the "hijacked" connections of attach and exec
// (the socket becomes a raw stream after the response head). No TLS: the
// API listens on a unix socket or on loopback.
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/fd.hpp"

namespace berth::manager::serve {

// An error the client caused, with the status that says so (400, 404, 405,
// 409, 411, 413, 431, 500, 501, 505, ...).
struct HttpError {
    int status = 500;
    std::string message;
};

struct Request {
    std::string method;  // "GET", "POST", ... as sent
    std::string target;  // the request-target as sent
    std::string path;    // percent-decoded path, without the query
    std::multimap<std::string, std::string> query;    // percent-decoded ('+' is a space)
    std::multimap<std::string, std::string> headers;  // names lower-case, values trimmed
    int minor_version = 1;                            // HTTP/1.<minor>
    bool keep_alive = true;   // 1.1 unless "Connection: close"; 1.0 only with "keep-alive"
    bool chunked = false;     // Transfer-Encoding: chunked
    std::optional<uint64_t> content_length;

    std::string header(std::string_view lower_name) const;  // first value or ""
    bool has_param(std::string_view name) const;
    std::string param(std::string_view name) const;  // first value or ""
    std::vector<std::string> params(std::string_view name) const;
    // docker's booleans in a query: "1", "true", "True" are true; absent,
    // "", "0", "false" are false.
    bool flag(std::string_view name) const;
};

struct Limits {
    size_t max_head = 64 << 10;  // request line + headers; beyond: 431
};

class Connection {
public:
    explicit Connection(UniqueFd fd) : fd_(std::move(fd)) {}
    int fd() const { return fd_.get(); }

    // Reads the next request's head. nullopt: the client closed the
    // connection cleanly before sending a byte of a new request. A malformed
    // head is an HttpError (400; 431 above the limit; 505 for a version
    // other than HTTP/1.x; 501 for a Transfer-Encoding other than chunked).
    // The body is not read: read_body or read_body_to does that.
    std::expected<std::optional<Request>, HttpError> read_request(const Limits& l = {});

    // The whole body of `r` (Content-Length or chunked; none: ""), at most
    // `max` bytes: beyond, a 413 (and the connection must be closed).
    std::expected<std::string, HttpError> read_body(const Request& r, size_t max);
    // The body in pieces, as it comes (for image loads and archives):
    // `sink` gets each piece; its error stops the read and comes back as a
    // 500 with its message (the connection must be closed then).
    std::expected<void, HttpError> read_body_to(const Request& r, const std::function<Result<void>(std::string_view)>& sink);
    // Reads and drops what is left of `r`'s body (before the next request
    // on a keep-alive connection, when a handler did not read it).
    std::expected<void, HttpError> discard_body(const Request& r);
    bool body_read(const Request& r) const;  // the body of `r` was read to its end

    // Bytes read past the current request (after a hijack, they are the
    // start of the raw stream).
    std::string take_buffered();

    // Writes all of `data` (EINTR and short writes handled; EPIPE is an
    // error, never a signal: MSG_NOSIGNAL).
    Result<void> write_all(std::string_view data);

private:
    Result<size_t> fill();  // reads more into buf_; 0 at EOF
    std::expected<size_t, HttpError> more();  // fill(), its error a 400
    std::expected<bool, HttpError> skip_empty_lines(size_t& skipped, size_t max);
    std::expected<std::optional<std::string>, HttpError> read_head(size_t max);
    std::expected<std::string, HttpError> read_line(size_t max);
    std::expected<void, HttpError> next_chunk();
    std::expected<void, HttpError> skip_trailers();
    // The next buffered piece of the body; empty at its end.
    std::expected<std::string_view, HttpError> next_piece();
    std::expected<void, HttpError> skip_body();
    ssize_t send_some(std::string_view data);
    UniqueFd fd_;
    std::string buf_;
    size_t pos_ = 0;
    // What is known about the body of the request being read.
    uint64_t body_left_ = 0;   // Content-Length (or current chunk) bytes not yet read
    bool in_chunked_ = false;  // reading a chunked body
    bool chunk_end_due_ = false;  // a chunk's data was read, its CRLF was not
    bool body_done_ = true;
    bool not_socket_ = false;  // send() said ENOTSOCK: write() from then on
};

// "HTTP/1.1 200 OK\r\nName: value\r\n...\r\n\r\n". With `content_length`
// the head says "Content-Length: N"; without, "Transfer-Encoding: chunked"
// (unless `raw_stream`, for 101 upgrades and docker's pre-1.42-style
// hijacked 200s, which carry neither). `close` adds "Connection: close".
struct ResponseHead {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::optional<uint64_t> content_length;
    bool raw_stream = false;
    bool close = false;
};
std::string format_head(const ResponseHead& h);
std::string_view status_text(int status);  // "OK", "Not Found", ... ("" for unknown)

// A chunked response body: each write is one chunk; finish() sends the last
// (empty) chunk. An empty write sends nothing (an empty chunk would end it).
class ChunkedWriter {
public:
    explicit ChunkedWriter(Connection& c) : c_(c) {}
    Result<void> write(std::string_view data);
    Result<void> finish();

private:
    Connection& c_;
};

// Percent-decoding of a path or a query component ('+' is a space only in
// a query). nullopt for a bad escape ("%G1", a trailing "%").
std::optional<std::string> percent_decode(std::string_view s, bool query);
// Splits "a=1&b=&c" into decoded pairs (c gets ""); nullopt on a bad escape.
std::optional<std::multimap<std::string, std::string>> parse_query(std::string_view q);

}  // namespace berth::manager::serve
