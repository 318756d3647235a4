// UniqueFd: owns one file descriptor, closes it when it goes out of scope.
#pragma once
#include <unistd.h>

#include <string_view>
#include <utility>

#include "libutil/error.hpp"

namespace berth {

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept {
        if (this != &o) reset(o.release());
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    explicit operator bool() const { return valid(); }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

// Sends `fd` over a unix socket (SCM_RIGHTS) in one message whose payload is
// `payload` (a pty's name, as runc sends it; a JSON document; ...). The
// whole payload goes in one sendmsg, or it is an error.
Result<void> send_fd(int socket, int fd, std::string_view payload);
// Receives one message carrying one fd (close-on-exec); the payload is
// dropped. EOF or a message without an fd is an error.
Result<UniqueFd> recv_fd(int socket);

}  // namespace berth
