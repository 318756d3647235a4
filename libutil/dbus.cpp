#include "libutil/dbus.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "libutil/log.hpp"

namespace berth::dbus {

namespace {

constexpr uint32_t kMaxMessage = 128u << 20;  // the spec's limit

enum HeaderField : uint8_t {
    kPath = 1,
    kInterface = 2,
    kMember = 3,
    kErrorName = 4,
    kReplySerial = 5,
    kDestination = 6,
    kSender = 7,
    kSignature = 8,
};

uint32_t load32(const char* p, bool big) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return big ? __builtin_bswap32(v) : v;
}

}  // namespace

// --- Writer -----------------------------------------------------------------

void Writer::align(size_t n) { buf_.resize((buf_.size() + n - 1) / n * n, '\0'); }

void Writer::byte(uint8_t v) { buf_.push_back(static_cast<char>(v)); }

void Writer::boolean(bool v) { u32(v ? 1 : 0); }

void Writer::u32(uint32_t v) {
    align(4);
    buf_.append(reinterpret_cast<const char*>(&v), 4);  // little-endian host
}

void Writer::u64(uint64_t v) {
    align(8);
    buf_.append(reinterpret_cast<const char*>(&v), 8);
}

void Writer::string(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    buf_.append(s);
    buf_.push_back('\0');
}

void Writer::signature(std::string_view s) {
    byte(static_cast<uint8_t>(s.size()));
    buf_.append(s);
    buf_.push_back('\0');
}

Writer::ArrayMark Writer::begin_array(size_t elem_align) {
    u32(0);
    size_t len_at = buf_.size() - 4;
    align(elem_align);  // the padding before the first element is not counted
    return {len_at, buf_.size()};
}

void Writer::end_array(ArrayMark mark) {
    uint32_t len = static_cast<uint32_t>(buf_.size() - mark.start);
    std::memcpy(&buf_[mark.len_at], &len, 4);
}

// --- Reader -----------------------------------------------------------------

Result<void> Reader::align(size_t n) {
    size_t to = (pos_ + n - 1) / n * n;
    if (to > data_.size()) return Err("D-Bus message: truncated body");
    for (size_t i = pos_; i < to; ++i)
        if (data_[i] != '\0') return Err("D-Bus message: non-zero padding");
    pos_ = to;
    return {};
}

Result<uint8_t> Reader::byte() {
    if (pos_ + 1 > data_.size()) return Err("D-Bus message: truncated body");
    return static_cast<uint8_t>(data_[pos_++]);
}

Result<bool> Reader::boolean() {
    auto v = TRY(u32());
    if (v > 1) return Err("D-Bus message: bad boolean ", v);
    return v == 1;
}

Result<uint32_t> Reader::u32() {
    TRY(align(4));
    if (pos_ + 4 > data_.size()) return Err("D-Bus message: truncated body");
    uint32_t v = load32(data_.data() + pos_, big_);
    pos_ += 4;
    return v;
}

Result<uint64_t> Reader::u64() {
    TRY(align(8));
    if (pos_ + 8 > data_.size()) return Err("D-Bus message: truncated body");
    uint64_t v;
    std::memcpy(&v, data_.data() + pos_, 8);
    pos_ += 8;
    return big_ ? __builtin_bswap64(v) : v;
}

Result<std::string> Reader::string() {
    uint32_t n = TRY(u32());
    if (static_cast<size_t>(n) + 1 > data_.size() - pos_)
        return Err("D-Bus message: string past the end of the body");
    if (data_[pos_ + n] != '\0') return Err("D-Bus message: string without its terminating NUL");
    std::string s(data_.substr(pos_, n));
    pos_ += n + 1;
    return s;
}

Result<std::string> Reader::signature() {
    uint8_t n = TRY(byte());
    if (pos_ + n + 1 > data_.size()) return Err("D-Bus message: signature past the end of the body");
    if (data_[pos_ + n] != '\0') return Err("D-Bus message: signature without its terminating NUL");
    std::string s(data_.substr(pos_, n));
    pos_ += n + 1;
    return s;
}

Result<size_t> Reader::begin_array(size_t elem_align) {
    uint32_t n = TRY(u32());
    TRY(align(elem_align));
    if (n > data_.size() - pos_) return Err("D-Bus message: array past the end of the body");
    return pos_ + n;
}

// --- messages ---------------------------------------------------------------

std::string encode(const Message& m) {
    Writer h;
    h.byte('l');
    h.byte(static_cast<uint8_t>(m.type));
    h.byte(m.flags);
    h.byte(1);  // protocol version
    h.u32(static_cast<uint32_t>(m.body.size()));
    h.u32(m.serial);
    auto fields = h.begin_array(8);
    auto field = [&](HeaderField code, char type, std::string_view value) {
        if (value.empty()) return;
        h.begin_struct();
        h.byte(code);
        h.signature(std::string_view(&type, 1));
        if (type == 'g')
            h.signature(value);
        else
            h.string(value);
    };
    field(kPath, 'o', m.path);
    field(kInterface, 's', m.interface);
    field(kMember, 's', m.member);
    field(kErrorName, 's', m.error_name);
    if (m.reply_serial) {
        h.begin_struct();
        h.byte(kReplySerial);
        h.signature("u");
        h.u32(m.reply_serial);
    }
    field(kDestination, 's', m.destination);
    field(kSender, 's', m.sender);
    field(kSignature, 'g', m.signature);
    h.end_array(fields);
    h.align(8);
    return h.data() + m.body;
}

Result<size_t> decode(std::string_view buf, Message& out) {
    if (buf.size() < 16) return 0;
    char order = buf[0];
    if (order != 'l' && order != 'B') return Err("D-Bus message: bad byte order ", static_cast<int>(order));
    bool big = order == 'B';
    if (buf[3] != 1) return Err("D-Bus message: protocol version ", static_cast<int>(buf[3]), " is not 1");
    uint32_t body_len = load32(buf.data() + 4, big);
    uint32_t fields_len = load32(buf.data() + 12, big);
    if (body_len > kMaxMessage || fields_len > kMaxMessage) return Err("D-Bus message: too large");
    size_t header_end = (16 + static_cast<size_t>(fields_len) + 7) / 8 * 8;
    size_t total = header_end + body_len;
    if (total > kMaxMessage) return Err("D-Bus message: too large");
    if (buf.size() < total) return 0;

    Message m;
    m.big_endian = big;
    m.type = static_cast<MessageType>(buf[1]);
    m.flags = static_cast<uint8_t>(buf[2]);
    m.serial = load32(buf.data() + 8, big);
    // The fields are read with offsets from the message's start, so that
    // their 8-alignment is the spec's.
    Reader r(buf.substr(0, 16 + fields_len), big);
    TRY(r.byte()), TRY(r.byte()), TRY(r.byte()), TRY(r.byte());
    TRY(r.u32()), TRY(r.u32());
    size_t end = TRY(r.begin_array(8));
    while (!r.at(end)) {
        TRY(r.align(8));
        uint8_t code = TRY(r.byte());
        auto sig_r = r.signature();
        if (!sig_r) return std::unexpected(sig_r.error());
        const std::string& sig = *sig_r;
        if (sig == "u") {
            uint32_t v = TRY(r.u32());
            if (code == kReplySerial) m.reply_serial = v;
        } else if (sig == "s" || sig == "o") {
            std::string v = TRY(r.string());
            switch (code) {
            case kPath: m.path = std::move(v); break;
            case kInterface: m.interface = std::move(v); break;
            case kMember: m.member = std::move(v); break;
            case kErrorName: m.error_name = std::move(v); break;
            case kDestination: m.destination = std::move(v); break;
            case kSender: m.sender = std::move(v); break;
            default: break;
            }
        } else if (sig == "g") {
            std::string v = TRY(r.signature());
            if (code == kSignature) m.signature = std::move(v);
        } else {
            // Header fields of other types are not ours to know (e.g.
            // UNIX_FDS is "u", handled above); anything else is malformed.
            return Err("D-Bus message: header field ", static_cast<int>(code), " of type ", sig);
        }
    }
    if (m.type < MessageType::MethodCall || m.type > MessageType::Signal)
        return Err("D-Bus message: unknown type ", static_cast<int>(buf[1]));
    m.body.assign(buf.substr(header_end, body_len));
    out = std::move(m);
    return total;
}

// --- connection -------------------------------------------------------------

namespace {

Result<void> write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return ErrnoErr("D-Bus: write");
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

// Waits until `fd` is readable, or the deadline passes.
Result<void> wait_readable(int fd, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return CodeErr(ETIMEDOUT, "D-Bus: no answer in time");
        struct pollfd p {fd, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return ErrnoErr("D-Bus: poll");
        if (r > 0) return {};
    }
}

// One line of the authentication exchange ("OK <guid>\r\n").
Result<std::string> read_auth_line(int fd, std::string& in, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        auto nl = in.find("\r\n");
        if (nl != std::string::npos) {
            std::string line = in.substr(0, nl);
            in.erase(0, nl + 2);
            return line;
        }
        if (in.size() > 4096) return Err("D-Bus: authentication line too long");
        TRY(wait_readable(fd, deadline));
        char buf[512];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return ErrnoErr("D-Bus: read");
        if (n == 0) return Err("D-Bus: the peer closed the connection during authentication");
        in.append(buf, static_cast<size_t>(n));
    }
}

}  // namespace

Result<Connection> Connection::open(const std::string& path, bool bus) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return ErrnoErr("D-Bus: socket");
    struct sockaddr_un sa {};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path) return Err("D-Bus: socket path too long: ", path);
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd.get(), reinterpret_cast<struct sockaddr*>(&sa), sizeof sa) < 0)
        return ErrnoErr("connect to ", path);
    auto c = adopt(std::move(fd), bus);
    if (!c) return Wrap(c.error(), path);
    return c;
}

Result<Connection> Connection::adopt(UniqueFd fd, bool bus) {
    Connection c;
    c.bus_ = bus;
    c.fd_ = std::move(fd);

    // EXTERNAL: the server checks our credentials (SO_PEERCRED) against the
    // uid we name, in hex-encoded ASCII decimal.
    std::string uid = std::to_string(::geteuid()), hex;
    static const char* digits = "0123456789abcdef";
    for (unsigned char ch : uid) {
        hex.push_back(digits[ch >> 4]);
        hex.push_back(digits[ch & 15]);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    TRY(write_all(c.fd_.get(), std::string("\0AUTH EXTERNAL ", 15) + hex + "\r\n"));
    auto line = TRY(read_auth_line(c.fd_.get(), c.in_, deadline));
    if (!line.starts_with("OK ")) return Err("D-Bus: authentication refused: ", line);
    TRY(write_all(c.fd_.get(), "BEGIN\r\n"));
    if (bus) {
        auto r = c.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello", "", "");
        if (!r) return Wrap(r.error(), "D-Bus: Hello");
    }
    return c;
}

namespace {

std::string describe(const Message& m) {
    static const char* kinds[] = {"?", "call", "return", "error", "signal"};
    auto t = static_cast<unsigned>(m.type);
    return cat("D-Bus ", t <= 4 ? kinds[t] : "?", " serial=", m.serial, " reply_serial=", m.reply_serial, " ",
               m.interface, ".", m.member, " ", m.path, " ", m.error_name, " sig=", m.signature);
}

}  // namespace

Result<void> Connection::send(const Message& m) {
    log::debug(cat("send ", describe(m)));
    return write_all(fd_.get(), encode(m));
}

Result<Message> Connection::read_message(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        Message m;
        size_t used = TRY(decode(in_, m));
        if (used) {
            in_.erase(0, used);
            log::debug(cat("received ", describe(m)));
            return m;
        }
        TRY(wait_readable(fd_.get(), deadline));
        char buf[16384];
        ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return ErrnoErr("D-Bus: read");
        if (n == 0) return Err("D-Bus: the peer closed the connection");
        in_.append(buf, static_cast<size_t>(n));
    }
}

Result<Message> Connection::call(std::string_view destination, std::string_view path, std::string_view interface,
                                 std::string_view member, std::string_view signature, const std::string& body,
                                 std::chrono::milliseconds timeout) {
    Message m;
    m.type = MessageType::MethodCall;
    m.serial = ++serial_;
    m.path = path;
    m.interface = interface;
    m.member = member;
    if (bus_) m.destination = destination;
    m.signature = signature;
    m.body = body;
    TRY(send(m));
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto reply = TRY(read_message(deadline));
        if (reply.type == MessageType::Signal) {
            signals_.push_back(std::move(reply));
            continue;
        }
        if (reply.reply_serial != m.serial) continue;
        if (reply.type == MessageType::Error) {
            std::string text;
            if (reply.signature.starts_with("s")) {
                Reader r(reply.body, reply.big_endian);
                if (auto s = r.string()) text = *s;
            }
            Error e{0, reply.error_name + (text.empty() ? "" : ": " + text)};
            return std::unexpected(std::move(e));
        }
        return reply;
    }
}

}  // namespace berth::dbus
