#include "runtime/linux/sync.hpp"

#include <sys/socket.h>

#include <cstring>

namespace berth::runtime {

namespace {
constexpr size_t kMaxText = 4096;
}

Result<void> sync_send(int fd, SyncMsg type, int code, std::string_view text) {
    char buf[1 + sizeof(int32_t) + kMaxText];
    buf[0] = static_cast<char>(type);
    int32_t c = code;
    std::memcpy(buf + 1, &c, sizeof c);
    size_t n = std::min(text.size(), kMaxText);
    std::memcpy(buf + 1 + sizeof c, text.data(), n);
    ssize_t w;
    do {
        w = ::send(fd, buf, 1 + sizeof c + n, MSG_NOSIGNAL);
    } while (w < 0 && errno == EINTR);
    if (w < 0) return ErrnoErr("sync: send to container init");
    return {};
}

Result<SyncPacket> sync_recv(int fd) {
    char buf[1 + sizeof(int32_t) + kMaxText];
    ssize_t r;
    do {
        r = ::recv(fd, buf, sizeof buf, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return ErrnoErr("sync: receive");
    if (r == 0) return Err("container init exited unexpectedly");
    if (static_cast<size_t>(r) < 1 + sizeof(int32_t)) return Err("sync: short message");
    SyncPacket p;
    p.type = static_cast<SyncMsg>(buf[0]);
    int32_t c;
    std::memcpy(&c, buf + 1, sizeof c);
    p.code = c;
    p.text.assign(buf + 1 + sizeof c, static_cast<size_t>(r) - 1 - sizeof c);
    return p;
}

Result<void> sync_expect(int fd, SyncMsg want) {
    auto p = TRY(sync_recv(fd));
    if (p.type == SyncMsg::Error) return CodeErr(p.code, p.text);
    if (p.type != want)
        return Err("sync: unexpected message ", static_cast<int>(p.type), " (wanted ",
                   static_cast<int>(want), ")");
    return {};
}

}  // namespace berth::runtime
