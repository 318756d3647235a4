#include "runtime/linux/terminal.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "libutil/strings.hpp"
#include "runtime/linux/devices.hpp"

namespace berth::runtime {

Result<UniqueFd> connect_console_socket(const std::string& path) {
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) return ErrnoErr("socket");
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return Err("--console-socket ", path, ": path too long");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        return ErrnoErr("connect to --console-socket ", path);
    return s;
}

Result<Console> open_console(const std::string& socket_path) {
    Console c;
    if (!socket_path.empty()) {
        c.fd = TRY(connect_console_socket(socket_path));
        return c;
    }
    int cp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cp) < 0) return ErrnoErr("socketpair");
    c.peer.reset(cp[0]);
    c.fd.reset(cp[1]);
    return c;
}

Result<void> setup_terminal(int socket, const oci::Process& p, bool console) {
    UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master) return ErrnoErr("open /dev/ptmx");
    if (::unlockpt(master.get()) < 0) return ErrnoErr("unlockpt");
    char name[64];
    if (::ptsname_r(master.get(), name, sizeof name) != 0) return ErrnoErr("ptsname");
    // The peer straight from the master (no path lookup in the container's
    // /dev/pts); by name only on kernels without TIOCGPTPEER.
    UniqueFd slave(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) slave.reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) return ErrnoErr("open ", name);
    if (p.console_size) {
        struct winsize ws {};
        ws.ws_row = static_cast<unsigned short>(p.console_size->height);
        ws.ws_col = static_cast<unsigned short>(p.console_size->width);
        if (::ioctl(slave.get(), TIOCSWINSZ, &ws) < 0) return ErrnoErr("set console size");
    }
    if (console) TRY(mount_console(slave.get()));
    TRY(send_fd(socket, master.get(), name));
    for (int i = 0; i < 3; ++i)
        if (::dup3(slave.get(), i, 0) < 0) return ErrnoErr("dup pty slave to ", i);
    if (::ioctl(0, TIOCSCTTY, 0) < 0) return ErrnoErr("set the controlling terminal");
    return {};
}

}  // namespace berth::runtime
