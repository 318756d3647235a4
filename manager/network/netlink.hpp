// rtnetlink, the kernel's interface for links, addresses and routes, as the
// manager's network code needs it (bridge, veth pairs, addresses, routes),
// through libmnl: no `ip` command, no CNI plugin.
//
// Every request asks for an ack (NLM_F_ACK) and waits for it, so an error is
// reported by the call that caused it. Errors are one line naming the
// operation and the object ("create bridge berth0: File exists"); when the
// kernel explains itself (extended ack, NETLINK_EXT_ACK) its text comes
// before the errno's ("add address 10.0.0.1/24 to link 9: ipv4: Device not
// found: No such device"). Error::code is the kernel's errno.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/ip.hpp"

struct mnl_socket;
struct nlmsghdr;

namespace berth::netlink {

struct Link {
    int index = 0;
    std::string name;
    std::string kind;  // IFLA_INFO_KIND: "bridge", "veth"; "" for loopback and the like
    int master = 0;    // index of the bridge the link is enslaved to, 0 = none
    bool up = false;   // IFF_UP (administratively up)
    std::string mac;   // "aa:bb:cc:dd:ee:ff"; "" when the link has none
};

struct Route {
    Subnet dst;         // prefix 0 = default route
    IpAddress gateway;  // empty = on-link
    int index = 0;      // output link, 0 when the route has none (e.g. blackhole)
};

class Socket {
public:
    // A NETLINK_ROUTE socket in the calling thread's network namespace.
    static Result<Socket> open();
    // A socket that lives in the network namespace `netns_fd` refers to (e.g.
    // an fd of /proc/PID/ns/net): a short-lived thread setns()es into it,
    // creates the socket and returns; the socket keeps working in that
    // namespace from any thread. The process's own namespace is never changed.
    static Result<Socket> open_in(int netns_fd);

    Socket(Socket&&) noexcept;
    Socket& operator=(Socket&&) noexcept;
    ~Socket();

    // nullopt when there is no link of that name.
    Result<std::optional<Link>> link(const std::string& name);
    Result<std::vector<Link>> links();
    // Creates the bridge; an existing link of that name that is a bridge is
    // fine (returns false), one that is not is an error.
    Result<bool> create_bridge(const std::string& name);
    // A veth pair: `name` here, `peer` created directly in the namespace
    // `peer_netns_fd` (IFLA_NET_NS_FD in the peer's info), so the peer never
    // appears in this namespace. `peer_mac` (6 bytes) sets the peer's
    // address; empty: the kernel picks a random one.
    Result<void> create_veth(const std::string& name, const std::string& peer, int peer_netns_fd,
                             std::span<const uint8_t> peer_mac = {});
    Result<void> set_master(int index, int master_index);
    Result<void> set_up(int index);
    // Older kernels refuse (EBUSY) to rename a link that is up: rename it first.
    Result<void> set_name(int index, const std::string& name);
    Result<void> delete_link(int index);

    // IPv6 addresses get IFA_F_NODAD (usable at once, no tentative state).
    Result<void> add_address(int index, const IpAddress& a, int prefix);
    // All addresses of the link, both families (IPv6 link-local ones too).
    Result<std::vector<std::pair<IpAddress, int>>> addresses(int index);

    // A route via `gateway` (empty IpAddress = on-link) to `dst` (prefix 0 =
    // default route), out of `index`, in the main table.
    Result<void> add_route(const Subnet& dst, const IpAddress& gateway, int index);
    // The main table's unicast routes of `family` (AF_INET or AF_INET6).
    Result<std::vector<Route>> routes(int family);

private:
    struct Closer {
        void operator()(mnl_socket* s) const;
    };
    explicit Socket(mnl_socket* s);
    // A request header in buf_: NLM_F_REQUEST | `flags`, the next sequence number.
    nlmsghdr* begin(int type, int flags);
    // Sends the request and reads until its ack (or, for a dump, NLMSG_DONE),
    // handing each reply message to `on_reply`. Errors start with `what`.
    Result<void> request(nlmsghdr* nlh, const std::string& what,
                         const std::function<void(const nlmsghdr*)>& on_reply = {});

    std::unique_ptr<mnl_socket, Closer> nl_;
    unsigned portid_ = 0;
    unsigned seq_ = 0;
    std::vector<char> buf_;
};

// Writes a /proc/sys value in the calling thread's namespaces
// ("net/ipv4/conf/berth0/route_localnet", "1"); the error names the key.
Result<void> set_sysctl(const std::string& key, const std::string& value);

}  // namespace berth::netlink
