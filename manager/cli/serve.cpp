// berth serve [--host unix:///PATH | tcp://127.0.0.1:PORT]... [--group NAME]
//
// A Docker Engine API front door to the daemonless machinery: it listens,
// and forks one process per connection that does the request with the
// manager's code (as the berth CLI would) and exits when the client goes.
// The listening process never does a request itself, so a pull, a long
// wait or a followed log holds up nothing else. Stopping it ends the
// connections it serves but no container: the shims keep those.
#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <set>

#include "libutil/log.hpp"
#include "libutil/signals.hpp"
#include "libutil/strings.hpp"
#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"
#include "manager/serve/api.hpp"

namespace berth::manager {

namespace {

struct Listener {
    std::string url;
    std::string unix_path;  // removed at exit
    UniqueFd fd;
};

Result<Listener> listen_unix(const std::string& url, const std::string& path, gid_t gid) {
    if (path.empty() || path[0] != '/') return Err("--host ", url, ": the socket path must be absolute");
    struct sockaddr_un sa {};
    if (path.size() >= sizeof sa.sun_path) return Err("--host ", url, ": the socket path is too long");
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    TRY_CTX(mkdir_all(path.substr(0, path.rfind('/')), 0711), "--host ", url);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return ErrnoErr("socket for ", url);
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) return Err("--host ", url, ": ", path, " exists and is not a socket");
        // A live server answers there; a dead one's socket is stale.
        UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0)
            return Err("--host ", url, ": another server listens on ", path);
        ::unlink(path.c_str());
    }
    // Born 0660: no moment where others could connect.
    mode_t old = ::umask(0117);
    int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    ::umask(old);
    if (rc < 0) return ErrnoErr("--host ", url, ": bind ", path);
    Listener l{url, path, std::move(fd)};
    if (::chown(path.c_str(), 0, gid) < 0) return ErrnoErr("--host ", url, ": chown ", path);
    if (::listen(l.fd.get(), 128) < 0) return ErrnoErr("--host ", url, ": listen");
    return l;
}

// Only loopback: the API is root on this machine, and there is no TLS.
Result<Listener> listen_tcp(const std::string& url, const std::string& hostport) {
    size_t colon = hostport.rfind(':');
    if (colon == std::string::npos) return Err("--host ", url, ": expected tcp://ADDRESS:PORT");
    std::string host = hostport.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    auto port = parse_u64(hostport.substr(colon + 1));
    if (!port || *port == 0 || *port > 65535) return Err("--host ", url, ": bad port");
    struct sockaddr_storage ss {};
    socklen_t len;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        if ((ntohl(v4->sin_addr.s_addr) >> 24) != 127)
            return Err("--host ", url, ": only loopback addresses (127.0.0.0/8, ::1): the API has no TLS");
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<uint16_t>(*port));
        len = sizeof *v4;
    } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr))
            return Err("--host ", url, ": only loopback addresses (127.0.0.0/8, ::1): the API has no TLS");
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<uint16_t>(*port));
        len = sizeof *v6;
    } else {
        return Err("--host ", url, ": ", host, " is not an IP address");
    }
    UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return ErrnoErr("socket for ", url);
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) return ErrnoErr("--host ", url, ": bind");
    if (::listen(fd.get(), 128) < 0) return ErrnoErr("--host ", url, ": listen");
    return Listener{url, "", std::move(fd)};
}

Result<Listener> open_listener(const std::string& url, gid_t gid) {
    if (url.starts_with("unix://")) return listen_unix(url, url.substr(7), gid);
    if (url.starts_with("tcp://")) return listen_tcp(url, url.substr(6));
    return Err("--host ", url, ": expected unix:///PATH or tcp://127.0.0.1:PORT");
}

Result<gid_t> group_id(const std::string& name) {
    if (name.empty()) return 0;
    if (auto n = parse_u64(name)) return static_cast<gid_t>(*n);
    struct group* gr = ::getgrnam(name.c_str());
    if (!gr) return Err("--group ", name, ": no such group");
    return gr->gr_gid;
}

// The connection's process: signals as a fresh program has them, then the
// requests.
[[noreturn]] void serve_child(const GlobalOptions& g, std::vector<Listener>& ls, UniqueFd& sfd, UniqueFd conn) {
    for (auto& l : ls) l.fd.reset();
    sfd.reset();
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGPIPE, SIG_IGN);  // a client gone mid-write is an error, not a death
    serve::serve_connection(g, std::move(conn));
    std::fflush(nullptr);
    ::_exit(0);
}

}  // namespace

int cmd_serve(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"host", 'H', true}, {"group", 'G', true}});
    if (!a) return fail(a.error());
    if (!a->positional.empty()) return fail(Error{0, cat("serve: unexpected argument: ", a->positional[0])});
    auto gid = group_id(a->get("group"));
    if (!gid) return fail(gid.error());
    std::vector<std::string> hosts = a->get_all("host");
    if (hosts.empty()) hosts.push_back("unix://" + g.runroot + "/docker.sock");
    std::vector<Listener> ls;
    for (const auto& h : hosts) {
        auto l = open_listener(h, *gid);
        if (!l) {
            for (auto& o : ls)
                if (!o.unix_path.empty()) ::unlink(o.unix_path.c_str());
            return fail(l.error());
        }
        ls.push_back(std::move(*l));
    }
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!sfd) return fail(Error{errno, "signalfd"});
    for (const auto& l : ls) std::fprintf(stderr, "berth serve: listening on %s\n", l.url.c_str());
    std::set<pid_t> children;
    bool stop = false;
    while (!stop) {
        std::vector<pollfd> p = {{sfd.get(), POLLIN, 0}};
        for (const auto& l : ls) p.push_back({l.fd.get(), POLLIN, 0});
        if (::poll(p.data(), p.size(), -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (p[0].revents) {
            signalfd_siginfo si;
            while (::read(sfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si))
                if (si.ssi_signo != SIGCHLD) stop = true;
            pid_t pid;
            while ((pid = ::waitpid(-1, nullptr, WNOHANG)) > 0) children.erase(pid);
        }
        for (size_t i = 1; i < p.size() && !stop; ++i) {
            if (!p[i].revents) continue;
            UniqueFd conn(::accept4(ls[i - 1].fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (!conn) continue;
            pid_t pid = ::fork();
            if (pid == 0) serve_child(g, ls, sfd, std::move(conn));
            if (pid > 0) children.insert(pid);
            else log::warn(cat("serve: fork: ", std::strerror(errno)));
        }
    }
    for (auto& l : ls)
        if (!l.unix_path.empty()) ::unlink(l.unix_path.c_str());
    // The connections end with the server; the containers do not.
    for (pid_t pid : children) ::kill(pid, SIGTERM);
    for (pid_t pid : children) ::waitpid(pid, nullptr, 0);
    return 0;
}

}  // namespace berth::manager
