#include "manager/serve/pipe_child.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libutil/strings.hpp"

namespace berth::manager::serve {

std::string PipeChild::end() {
    std::string msg;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(err.get(), buf, sizeof buf)) > 0) msg.append(buf, static_cast<size_t>(n));
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return "";
    return msg.empty() ? std::string("failed") : msg;
}

PipeChild spawn_on(int fd, int target, const std::function<Result<void>()>& fn) {
    int e[2];
    if (::pipe2(e, O_CLOEXEC) < 0) return {};
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(fd, target);
        auto r = fn();
        if (!r) {
            std::string m = r.error().what();
            (void)!::write(e[1], m.data(), m.size());
        }
        ::_exit(r ? 0 : 1);
    }
    ::close(e[1]);
    if (pid < 0) {
        ::close(e[0]);
        return {};
    }
    return PipeChild{pid, UniqueFd(e[0])};
}

bool stream_from(Call& c, UniqueFd fd, PipeChild& child, std::vector<std::pair<std::string, std::string>> headers) {
    bool ok = send_stream_head(c, std::move(headers));
    ChunkedWriter out(c.conn);
    char buf[65536];
    ssize_t n;
    while (ok && (n = ::read(fd.get(), buf, sizeof buf)) > 0) ok = bool(out.write(std::string_view(buf, static_cast<size_t>(n))));
    fd.reset();  // a child still writing gets EPIPE
    bool worked = child.end().empty();
    return ok && worked && out.finish();
}

std::expected<void, HttpError> body_to(Call& c, int fd) {
    return c.conn.read_body_to(c.req, [&](std::string_view piece) -> Result<void> {
        size_t off = 0;
        while (off < piece.size()) {
            ssize_t n = ::write(fd, piece.data() + off, piece.size() - off);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return ErrnoErr("write to the child");
            off += static_cast<size_t>(n);
        }
        return {};
    });
}

}  // namespace berth::manager::serve
