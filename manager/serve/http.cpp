#include "manager/serve/http.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "libutil/strings.hpp"

namespace berth::manager::serve {

namespace {

constexpr size_t kReadSize = 64 << 10;
constexpr size_t kMaxChunkLine = 8 << 10;
constexpr size_t kMaxTrailers = 64 << 10;

template <class... A>
std::unexpected<HttpError> Fail(int status, const A&... parts) {
    return std::unexpected(HttpError{status, cat(parts...)});
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

bool is_tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

bool is_ctl(char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<uint64_t> parse_hex(std::string_view s) {
    if (s.empty()) return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
        int d = hex_value(c);
        if (d < 0 || v > (UINT64_MAX >> 4)) return std::nullopt;
        v = (v << 4) | static_cast<uint64_t>(d);
    }
    return v;
}

// Retries `op` (a read or a write of `fd`) on EINTR, and on EAGAIN once
// `fd` is ready: the connection works on non-blocking sockets too.
template <class F>
ssize_t retry_io(int fd, short events, F op) {
    for (;;) {
        ssize_t n = op();
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
        struct pollfd p {fd, events, 0};
        if (::poll(&p, 1, -1) < 0 && errno != EINTR) return -1;
    }
}

// Where the head in `a` ends (past its empty line), or nullopt when `a`
// does not hold all of it yet. `scan`: how much of `a` needs no new look.
std::optional<size_t> find_head_end(std::string_view a, size_t& scan) {
    for (;;) {
        size_t nl = a.find('\n', scan);
        if (nl == std::string_view::npos) {
            scan = a.size();
            return std::nullopt;
        }
        std::string_view next = a.substr(nl + 1);
        if (next.starts_with('\n')) return nl + 2;
        if (next.starts_with("\r\n")) return nl + 3;
        if (next.empty() || next == "\r") {
            scan = nl;
            return std::nullopt;
        }
        scan = nl + 1;
    }
}

// The head's lines without their ends, up to (not with) the empty one.
std::expected<std::vector<std::string_view>, HttpError> head_lines(std::string_view head) {
    std::vector<std::string_view> lines;
    for (;;) {
        size_t nl = head.find('\n');
        std::string_view line = head.substr(0, nl);
        if (line.ends_with('\r')) line.remove_suffix(1);
        if (line.empty() || nl == std::string_view::npos) return lines;
        // A bare CR could end a line for one parser and not for another.
        if (line.find('\r') != std::string_view::npos) return Fail(400, "bare CR in the request head");
        lines.push_back(line);
        head.remove_prefix(nl + 1);
    }
}

std::expected<int, HttpError> parse_version(std::string_view v) {
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (v.size() != 8 || !v.starts_with("HTTP/") || !digit(v[5]) || v[6] != '.' || !digit(v[7]))
        return Fail(400, "malformed HTTP version ", quote(v));
    if (v[5] != '1' || v[7] > '1') return Fail(505, "unsupported HTTP version ", quote(v));
    return v[7] - '0';
}

std::expected<void, HttpError> parse_request_line(std::string_view line, Request& r) {
    size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp1 == sp2) return Fail(400, "malformed request line");
    std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (!is_token(method)) return Fail(400, "malformed request method");
    if (target.empty() || std::any_of(target.begin(), target.end(), [](char c) { return c == ' ' || is_ctl(c); }))
        return Fail(400, "malformed request target");
    r.minor_version = TRY(parse_version(line.substr(sp2 + 1)));
    r.method = method;
    r.target = target;
    return {};
}

std::expected<void, HttpError> parse_header_line(std::string_view line, Request& r) {
    if (line.front() == ' ' || line.front() == '\t') return Fail(400, "folded header line (obs-fold)");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Fail(400, "header line without a colon");
    std::string_view name = line.substr(0, colon), value = line.substr(colon + 1);
    if (!is_token(name)) return Fail(400, "malformed header name ", quote(name));
    if (std::any_of(value.begin(), value.end(), [](char c) { return c != '\t' && is_ctl(c); }))
        return Fail(400, "control character in header ", name);
    // trim() drops only spaces and tabs here: the other CTLs were refused.
    r.headers.emplace(lower(name), std::string(trim(value)));
    return {};
}

// The comma-separated elements of every `name` header, lower-case,
// empty elements left out (RFC 9110 5.6.1).
std::vector<std::string> list_tokens(const Request& r, const std::string& name) {
    std::vector<std::string> out;
    auto [b, e] = r.headers.equal_range(name);
    for (auto it = b; it != e; ++it)
        for (const auto& el : split(it->second, ','))
            if (auto t = trim(el); !t.empty()) out.push_back(lower(t));
    return out;
}

std::expected<void, HttpError> parse_content_length(Request& r) {
    auto [b, e] = r.headers.equal_range("content-length");
    for (auto it = b; it != e; ++it) {
        // Repeats of one value ("5, 5", or two headers) are one length.
        for (const auto& el : split(it->second, ',')) {
            auto n = parse_u64(trim(el));
            if (!n || (r.content_length && *r.content_length != *n))
                return Fail(400, "bad Content-Length ", quote(it->second));
            r.content_length = n;
        }
    }
    return {};
}

std::expected<void, HttpError> parse_framing(Request& r) {
    bool has_te = r.headers.contains("transfer-encoding");
    if (has_te && r.headers.contains("content-length"))
        return Fail(400, "both Transfer-Encoding and Content-Length");
    if (!has_te) return parse_content_length(r);
    auto te = list_tokens(r, "transfer-encoding");
    if (te != std::vector<std::string>{"chunked"})
        return Fail(501, "unsupported Transfer-Encoding ", quote(r.header("transfer-encoding")));
    r.chunked = true;
    return {};
}

// The origin-form of an absolute-form target ("http://host/p?q" -> "/p?q").
std::string_view origin_form(std::string_view t) {
    std::string l = lower(t.substr(0, 8));
    size_t scheme = l.starts_with("http://") ? 7 : l.starts_with("https://") ? 8 : 0;
    if (!scheme) return t;
    t.remove_prefix(scheme);
    size_t start = t.find_first_of("/?");
    return start == std::string_view::npos ? std::string_view("/") : t.substr(start);
}

std::expected<void, HttpError> split_target(Request& r) {
    if (r.target == "*") {
        r.path = "*";
        return {};
    }
    std::string_view t = origin_form(r.target);
    if (!t.starts_with('/')) return Fail(400, "request target ", quote(r.target), " is not a path");
    size_t q = t.find('?');
    auto path = percent_decode(t.substr(0, q), false);
    if (!path || path->find('\0') != std::string::npos) return Fail(400, "bad path ", quote(r.target));
    r.path = std::move(*path);
    auto query = parse_query(q == std::string_view::npos ? std::string_view() : t.substr(q + 1));
    if (!query) return Fail(400, "bad query in ", quote(r.target));
    r.query = std::move(*query);
    return {};
}

bool keep_alive(const Request& r) {
    auto tokens = list_tokens(r, "connection");
    auto has = [&](const char* t) { return std::find(tokens.begin(), tokens.end(), t) != tokens.end(); };
    if (has("close")) return false;
    return r.minor_version >= 1 || has("keep-alive");
}

std::expected<Request, HttpError> parse_head(std::string_view head) {
    auto lines = TRY(head_lines(head));
    if (lines.empty()) return Fail(400, "no request line");
    Request r;
    TRY(parse_request_line(lines.front(), r));
    for (size_t i = 1; i < lines.size(); ++i)
        TRY(parse_header_line(lines[i], r));
    TRY(parse_framing(r));
    TRY(split_target(r));
    r.keep_alive = keep_alive(r);
    return r;
}

// CR and LF in a header would end it early (response splitting): they
// become spaces, as in Go's net/http.
std::string one_line(std::string_view s) {
    std::string out(s);
    std::replace_if(out.begin(), out.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
    return out;
}

}  // namespace

std::string Request::header(std::string_view lower_name) const {
    auto it = headers.lower_bound(std::string(lower_name));
    return it != headers.end() && it->first == lower_name ? it->second : "";
}

bool Request::has_param(std::string_view name) const {
    return query.contains(std::string(name));
}

std::string Request::param(std::string_view name) const {
    auto it = query.lower_bound(std::string(name));
    return it != query.end() && it->first == name ? it->second : "";
}

std::vector<std::string> Request::params(std::string_view name) const {
    std::vector<std::string> out;
    auto [b, e] = query.equal_range(std::string(name));
    for (auto it = b; it != e; ++it)
        out.push_back(it->second);
    return out;
}

bool Request::flag(std::string_view name) const {
    // As docker's httputils.BoolValue: any other value is true.
    std::string v = lower(trim(param(name)));
    return !(v.empty() || v == "0" || v == "no" || v == "false" || v == "none");
}

Result<size_t> Connection::fill() {
    if (pos_ > 0) {
        buf_.erase(0, pos_);
        pos_ = 0;
    }
    size_t old = buf_.size();
    ssize_t n = 0;
    int err = 0;
    buf_.resize_and_overwrite(old + kReadSize, [&](char* p, size_t) {
        n = retry_io(fd_.get(), POLLIN, [&] { return ::read(fd_.get(), p + old, kReadSize); });
        err = errno;
        return old + (n > 0 ? static_cast<size_t>(n) : 0);
    });
    if (n < 0) return CodeErr(err, "read from the client");
    return static_cast<size_t>(n);
}

std::expected<size_t, HttpError> Connection::more() {
    auto n = fill();
    if (!n) return Fail(400, n.error().what());
    return *n;
}

// false: EOF before anything but empty lines.
std::expected<bool, HttpError> Connection::skip_empty_lines(size_t& skipped, size_t max) {
    for (;;) {
        std::string_view a(buf_.data() + pos_, buf_.size() - pos_);
        size_t n = a.starts_with("\r\n") ? 2 : a.starts_with('\n') ? 1 : 0;
        if (n == 0 && !a.empty() && a != "\r") return true;
        bool nothing = a.empty();
        pos_ += n;
        skipped += n;
        if (skipped > max) return Fail(431, "request head larger than ", max, " bytes");
        if (n == 0 && TRY(more()) == 0) {
            if (nothing) return false;
            return Fail(400, "connection closed in the request head");
        }
    }
}

std::expected<std::optional<std::string>, HttpError> Connection::read_head(size_t max) {
    size_t skipped = 0;
    if (!TRY(skip_empty_lines(skipped, max))) return std::nullopt;
    size_t scan = 0;
    for (;;) {
        std::string_view a(buf_.data() + pos_, buf_.size() - pos_);
        auto end = find_head_end(a, scan);
        if (end && skipped + *end <= max) {
            std::string head(a.substr(0, *end));
            pos_ += *end;
            return head;
        }
        // Checked before each read: at most kReadSize bytes past the limit
        // are ever buffered.
        if (end || skipped + a.size() > max) return Fail(431, "request head larger than ", max, " bytes");
        if (TRY(more()) == 0) return Fail(400, "connection closed in the request head");
    }
}

std::expected<std::optional<Request>, HttpError> Connection::read_request(const Limits& l) {
    // An unread body would otherwise be parsed as the next request.
    if (!body_done_) TRY(skip_body());
    auto head = TRY(read_head(l.max_head));
    if (!head) return std::nullopt;
    Request r = TRY(parse_head(*head));
    in_chunked_ = r.chunked;
    chunk_end_due_ = false;
    body_left_ = r.chunked ? 0 : r.content_length.value_or(0);
    body_done_ = !r.chunked && body_left_ == 0;
    return r;
}

std::expected<std::string, HttpError> Connection::read_line(size_t max) {
    size_t scan = 0;
    for (;;) {
        std::string_view a(buf_.data() + pos_, buf_.size() - pos_);
        size_t nl = a.find('\n', scan);
        // + 1: the line's CR.
        if (std::min(nl, a.size()) > max + 1) return Fail(400, "chunked body: line longer than ", max, " bytes");
        if (nl != std::string_view::npos) {
            std::string line(a.substr(0, nl));
            pos_ += nl + 1;
            if (line.ends_with('\r')) line.pop_back();
            return line;
        }
        scan = a.size();
        if (TRY(more()) == 0) return Fail(400, "connection closed in the request body");
    }
}

std::expected<void, HttpError> Connection::skip_trailers() {
    size_t total = 0;
    for (;;) {
        std::string line = TRY(read_line(kMaxChunkLine));
        if (line.empty()) return {};
        total += line.size();
        if (total > kMaxTrailers) return Fail(400, "chunked body: trailers larger than ", kMaxTrailers, " bytes");
    }
}

std::expected<void, HttpError> Connection::next_chunk() {
    if (chunk_end_due_) {
        if (!TRY(read_line(1)).empty()) return Fail(400, "chunked body: no CRLF after a chunk");
        chunk_end_due_ = false;
    }
    std::string line = TRY(read_line(kMaxChunkLine));
    auto size = parse_hex(trim(std::string_view(line).substr(0, line.find(';'))));
    if (!size) return Fail(400, "chunked body: bad chunk size ", quote(line));
    if (*size == 0) {
        TRY(skip_trailers());
        in_chunked_ = false;
        body_done_ = true;
    }
    body_left_ = *size;
    return {};
}

std::expected<std::string_view, HttpError> Connection::next_piece() {
    if (!body_done_ && in_chunked_ && body_left_ == 0) TRY(next_chunk());
    if (body_done_) return std::string_view();
    if (pos_ == buf_.size() && TRY(more()) == 0) return Fail(400, "connection closed in the request body");
    size_t n = static_cast<size_t>(std::min<uint64_t>(body_left_, buf_.size() - pos_));
    std::string_view piece(buf_.data() + pos_, n);
    pos_ += n;
    body_left_ -= n;
    if (body_left_ == 0 && in_chunked_)
        chunk_end_due_ = true;
    else if (body_left_ == 0)
        body_done_ = true;
    return piece;
}

std::expected<void, HttpError> Connection::skip_body() {
    while (!TRY(next_piece()).empty()) {
    }
    return {};
}

std::expected<std::string, HttpError> Connection::read_body(const Request& r, size_t max) {
    if (body_read(r)) return "";
    if (r.content_length && *r.content_length > max) return Fail(413, "request body larger than ", max, " bytes");
    std::string out;
    if (r.content_length) out.reserve(static_cast<size_t>(*r.content_length));
    for (;;) {
        std::string_view piece = TRY(next_piece());
        if (piece.empty()) return out;
        // With body_left_, a chunk too big for `max` is refused at its first piece.
        if (piece.size() + body_left_ > max - out.size()) return Fail(413, "request body larger than ", max, " bytes");
        out.append(piece);
    }
}

std::expected<void, HttpError> Connection::read_body_to(const Request& r, const std::function<Result<void>(std::string_view)>& sink) {
    if (body_read(r)) return {};
    for (;;) {
        std::string_view piece = TRY(next_piece());
        if (piece.empty()) return {};
        if (auto s = sink(piece); !s) return Fail(500, s.error().what());
    }
}

std::expected<void, HttpError> Connection::discard_body(const Request& r) {
    if (body_read(r)) return {};
    return skip_body();
}

bool Connection::body_read(const Request& r) const {
    return (!r.chunked && r.content_length.value_or(0) == 0) || body_done_;
}

std::string Connection::take_buffered() {
    std::string out = buf_.substr(pos_);
    buf_.clear();
    pos_ = 0;
    return out;
}

ssize_t Connection::send_some(std::string_view data) {
    if (!not_socket_) {
        ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
        if (n >= 0 || errno != ENOTSOCK) return n;
        not_socket_ = true;
    }
    return ::write(fd_.get(), data.data(), data.size());
}

Result<void> Connection::write_all(std::string_view data) {
    while (!data.empty()) {
        ssize_t n = retry_io(fd_.get(), POLLOUT, [&] { return send_some(data); });
        if (n < 0) return ErrnoErr("write to the client");
        if (n == 0) return Err("write to the client: nothing written");
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

std::string_view status_text(int status) {
    // Go's texts (net/http.StatusText): what dockerd itself sends.
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Request Entity Too Large";
    case 414: return "Request URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Requested Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "";
    }
}

std::string format_head(const ResponseHead& h) {
    std::string out = cat("HTTP/1.1 ", h.status, " ", status_text(h.status), "\r\n");
    for (const auto& [name, value] : h.headers)
        out += cat(one_line(name), ": ", one_line(value), "\r\n");
    // 1xx and 204 never have a body, 304 has none to frame (RFC 9110 8.6,
    // 6.4.1): a client would wait for a chunked body that never comes.
    bool bodiless = h.status < 200 || h.status == 204;
    if (h.content_length) {
        if (!bodiless) out += cat("Content-Length: ", *h.content_length, "\r\n");
    } else if (!h.raw_stream && !bodiless && h.status != 304) {
        out += "Transfer-Encoding: chunked\r\n";
    }
    if (h.close) out += "Connection: close\r\n";
    out += "\r\n";
    return out;
}

Result<void> ChunkedWriter::write(std::string_view data) {
    if (data.empty()) return {};
    char size[16];
    auto end = std::to_chars(size, size + sizeof size, data.size(), 16).ptr;
    std::string frame;
    frame.reserve(static_cast<size_t>(end - size) + data.size() + 4);
    frame.append(size, end).append("\r\n").append(data).append("\r\n");
    return c_.write_all(frame);
}

Result<void> ChunkedWriter::finish() {
    return c_.write_all("0\r\n\r\n");
}

std::optional<std::string> percent_decode(std::string_view s, bool query) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%') {
            int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;
            if (lo < 0) return std::nullopt;
            out.push_back(static_cast<char>(hi << 4 | lo));
            i += 2;
        } else {
            out.push_back(query && s[i] == '+' ? ' ' : s[i]);
        }
    }
    return out;
}

std::optional<std::multimap<std::string, std::string>> parse_query(std::string_view q) {
    std::multimap<std::string, std::string> out;
    if (q.empty()) return out;
    for (const auto& part : split(q, '&')) {
        if (part.empty()) continue;
        size_t eq = part.find('=');
        auto key = percent_decode(std::string_view(part).substr(0, eq), true);
        auto value = percent_decode(eq == std::string::npos ? "" : std::string_view(part).substr(eq + 1), true);
        if (!key || !value) return std::nullopt;
        out.emplace(std::move(*key), std::move(*value));
    }
    return out;
}

}  // namespace berth::manager::serve
