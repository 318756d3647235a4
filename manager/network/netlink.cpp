#include "manager/network/netlink.hpp"

#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <thread>

#include "libutil/fd.hpp"

namespace berth::netlink {

namespace {

// 32 KiB: the kernel sizes dump replies to at most this, and a reply cut
// short by a smaller buffer would be lost.
constexpr size_t kBufferSize = 32768;

// The attributes of one message or nest, by type; unknown types are skipped.
struct Attrs {
    std::vector<const nlattr*> at;
    explicit Attrs(size_t max) : at(max + 1) {}
    const nlattr* operator[](size_t type) const { return type < at.size() ? at[type] : nullptr; }
};

int collect(const nlattr* a, void* data) {
    auto& at = static_cast<Attrs*>(data)->at;
    if (auto type = mnl_attr_get_type(a); type < at.size()) at[type] = a;
    return MNL_CB_OK;
}

Attrs attrs(const nlmsghdr* m, size_t header_size, size_t max) {
    Attrs a(max);
    mnl_attr_parse(m, header_size, collect, &a);
    return a;
}

Attrs nested(const nlattr* nest, size_t max) {
    Attrs a(max);
    if (nest) mnl_attr_parse_nested(nest, collect, &a);
    return a;
}

int u32(const nlattr* a) { return a && mnl_attr_get_payload_len(a) >= 4 ? int(mnl_attr_get_u32(a)) : 0; }

std::string str(const nlattr* a) {
    if (!a || mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0) return "";
    return mnl_attr_get_str(a);
}

IpAddress address(int family, const nlattr* a) {
    IpAddress ip;
    size_t size = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
    if (!a || size == 0 || mnl_attr_get_payload_len(a) != size) return ip;
    ip.family = family;
    std::memcpy(ip.bytes.data(), mnl_attr_get_payload(a), size);
    return ip;
}

void put_address(nlmsghdr* nlh, uint16_t type, const IpAddress& a) {
    mnl_attr_put(nlh, type, a.size(), a.bytes.data());
}

std::string mac(const nlattr* a) {
    std::string out;
    if (!a) return out;
    auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(a));
    for (uint16_t i = 0; i < mnl_attr_get_payload_len(a); i++) {
        char hex[4];
        std::snprintf(hex, sizeof hex, i ? ":%02x" : "%02x", p[i]);
        out += hex;
    }
    return out;
}

ifinfomsg* put_ifinfo(nlmsghdr* nlh, int index) {
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = index;
    return ifi;
}

// IFLA_LINKINFO { IFLA_INFO_KIND kind, IFLA_INFO_DATA {...} }; returns the
// open IFLA_INFO_DATA nest for the caller to fill and close (and the outer).
std::pair<nlattr*, nlattr*> put_linkinfo(nlmsghdr* nlh, const char* kind) {
    nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
    return {info, mnl_attr_nest_start(nlh, IFLA_INFO_DATA)};
}

Link parse_link(const nlmsghdr* m) {
    auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(m));
    Attrs a = attrs(m, sizeof(ifinfomsg), IFLA_MAX);
    Attrs info = nested(a[IFLA_LINKINFO], IFLA_INFO_MAX);
    return Link{.index = ifi->ifi_index,
                .name = str(a[IFLA_IFNAME]),
                .kind = str(info[IFLA_INFO_KIND]),
                .master = u32(a[IFLA_MASTER]),
                .up = (ifi->ifi_flags & IFF_UP) != 0,
                .mac = mac(a[IFLA_ADDRESS])};
}

// The error of an NLMSG_ERROR or NLMSG_DONE message, with the kernel's
// extended-ack text when it sent one.
std::unexpected<Error> kernel_error(const nlmsghdr* m, int error, const std::string& what) {
    std::string text;
    if (m->nlmsg_flags & NLM_F_ACK_TLVS) {
        // NLMSG_ERROR: struct nlmsgerr, then our request unless capped; NLMSG_DONE: an int.
        size_t offset = sizeof(int);
        if (m->nlmsg_type == NLMSG_ERROR) {
            auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m));
            offset = sizeof(nlmsgerr);
            if (!(m->nlmsg_flags & NLM_F_CAPPED)) offset += e->msg.nlmsg_len - sizeof(nlmsghdr);
        }
        if (offset <= mnl_nlmsg_get_payload_len(m)) text = str(attrs(m, offset, NLMSGERR_ATTR_MAX)[NLMSGERR_ATTR_MSG]);
    }
    if (text.empty()) return CodeErr(-error, what);
    return std::unexpected(Error{-error, cat(what, ": ", text)});
}

// The kernel's own answer to a bad name is "Attribute failed policy validation".
Result<void> check_name(const std::string& name) {
    if (name.empty() || name.size() >= IFNAMSIZ) return Err("a link name is 1 to ", IFNAMSIZ - 1, " bytes");
    return {};
}

std::string prefixed(const IpAddress& a, int prefix) { return cat(a.str(), "/", prefix); }

}  // namespace

void Socket::Closer::operator()(mnl_socket* s) const { mnl_socket_close(s); }

Socket::Socket(mnl_socket* s) : nl_(s), portid_(mnl_socket_get_portid(s)), buf_(kBufferSize) {}
Socket::Socket(Socket&&) noexcept = default;
Socket& Socket::operator=(Socket&&) noexcept = default;
Socket::~Socket() = default;

Result<Socket> Socket::open() {
    mnl_socket* s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!s) return ErrnoErr("open a netlink socket");
    Socket sock(s);  // closes s on the error paths below
    if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) return ErrnoErr("bind a netlink socket");
    sock.portid_ = mnl_socket_get_portid(s);
    // The kernel's own words for errors, and acks without a copy of the request.
    int one = 1;
    if (mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &one, sizeof one) < 0 ||
        mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof one) < 0)
        return ErrnoErr("set up a netlink socket");
    return sock;
}

Result<Socket> Socket::open_in(int netns_fd) {
    // setns() changes only the calling thread's namespace: a thread of our
    // own enters it and ends, and the socket stays bound to that namespace.
    Result<Socket> r = Err("");
    std::thread([&] {
        if (setns(netns_fd, CLONE_NEWNET) < 0)
            r = ErrnoErr("enter network namespace (fd ", netns_fd, ")");
        else
            r = open();
    }).join();
    return r;
}

nlmsghdr* Socket::begin(int type, int flags) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf_.data());
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    nlh->nlmsg_seq = ++seq_;
    return nlh;
}

Result<void> Socket::request(nlmsghdr* nlh, const std::string& what,
                             const std::function<void(const nlmsghdr*)>& on_reply) {
    // buf_ holds the request until it is sent, then the replies.
    uint32_t seq = nlh->nlmsg_seq;
    if (mnl_socket_sendto(nl_.get(), nlh, nlh->nlmsg_len) < 0) return ErrnoErr(what, ": send");
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl_.get(), buf_.data(), buf_.size());
        if (n < 0) return ErrnoErr(what, ": receive");
        int left = int(n);
        for (auto* m = reinterpret_cast<const nlmsghdr*>(buf_.data()); mnl_nlmsg_ok(m, left);
             m = mnl_nlmsg_next(m, &left)) {
            if (m->nlmsg_seq != seq || m->nlmsg_pid != portid_)
                return Err(what, ": reply with sequence number ", m->nlmsg_seq, " to request ", seq);
            if (m->nlmsg_type == NLMSG_ERROR || m->nlmsg_type == NLMSG_DONE) {
                if (mnl_nlmsg_get_payload_len(m) < sizeof(int)) return Err(what, ": short reply");
                int error = *static_cast<const int*>(mnl_nlmsg_get_payload(m));
                if (error == 0) return {};
                return kernel_error(m, error, what);
            }
            if (m->nlmsg_type >= NLMSG_MIN_TYPE && on_reply) on_reply(m);
        }
    }
}

Result<std::optional<Link>> Socket::link(const std::string& name) {
    nlmsghdr* nlh = begin(RTM_GETLINK, NLM_F_ACK);
    put_ifinfo(nlh, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
    std::optional<Link> found;
    auto r = request(nlh, cat("look up link ", name), [&](const nlmsghdr* m) { found = parse_link(m); });
    if (!r && r.error().code == ENODEV) return std::nullopt;
    if (!r) return std::unexpected(r.error());
    return found;
}

Result<std::vector<Link>> Socket::links() {
    nlmsghdr* nlh = begin(RTM_GETLINK, NLM_F_DUMP);
    put_ifinfo(nlh, 0);
    std::vector<Link> out;
    TRY(request(nlh, "list links", [&](const nlmsghdr* m) { out.push_back(parse_link(m)); }));
    return out;
}

Result<bool> Socket::create_bridge(const std::string& name) {
    std::string what = cat("create bridge ", name);
    TRY_CTX(check_name(name), what);
    nlmsghdr* nlh = begin(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    put_ifinfo(nlh, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
    auto [info, data] = put_linkinfo(nlh, "bridge");
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, info);
    auto r = request(nlh, what);
    if (r) return true;
    if (r.error().code != EEXIST) return std::unexpected(r.error());
    auto existing = TRY(link(name));
    if (existing && existing->kind == "bridge") return false;
    if (existing && !existing->kind.empty())
        return Err(what, ": ", name, " exists and is a ", existing->kind, ", not a bridge");
    return Err(what, ": ", name, " exists and is not a bridge");
}

Result<void> Socket::create_veth(const std::string& name, const std::string& peer, int peer_netns_fd,
                                 std::span<const uint8_t> peer_mac) {
    std::string what = cat("create veth ", name, " (peer ", peer, ")");
    TRY_CTX(check_name(name), what);
    TRY_CTX(check_name(peer), what);
    nlmsghdr* nlh = begin(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    put_ifinfo(nlh, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
    auto [info, data] = put_linkinfo(nlh, "veth");
    // VETH_INFO_PEER holds a whole ifinfomsg and the peer's own attributes.
    nlattr* peer_info = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload_tail(nlh));
    nlh->nlmsg_len += MNL_ALIGN(sizeof(ifinfomsg));
    std::memset(ifi, 0, sizeof(ifinfomsg));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, peer.c_str());
    mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, peer_netns_fd);
    if (!peer_mac.empty()) {
        if (peer_mac.size() != 6) return Err(what, ": a MAC address has 6 bytes, not ", peer_mac.size());
        mnl_attr_put(nlh, IFLA_ADDRESS, peer_mac.size(), peer_mac.data());
    }
    mnl_attr_nest_end(nlh, peer_info);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, info);
    return request(nlh, what);
}

Result<void> Socket::set_master(int index, int master_index) {
    nlmsghdr* nlh = begin(RTM_NEWLINK, NLM_F_ACK);
    put_ifinfo(nlh, index);
    mnl_attr_put_u32(nlh, IFLA_MASTER, master_index);
    return request(nlh, cat("set master of link ", index, " to link ", master_index));
}

Result<void> Socket::set_up(int index) {
    nlmsghdr* nlh = begin(RTM_NEWLINK, NLM_F_ACK);
    ifinfomsg* ifi = put_ifinfo(nlh, index);
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
    return request(nlh, cat("set link ", index, " up"));
}

Result<void> Socket::set_name(int index, const std::string& name) {
    std::string what = cat("rename link ", index, " to ", name);
    TRY_CTX(check_name(name), what);
    nlmsghdr* nlh = begin(RTM_NEWLINK, NLM_F_ACK);
    put_ifinfo(nlh, index);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
    return request(nlh, what);
}

Result<void> Socket::delete_link(int index) {
    nlmsghdr* nlh = begin(RTM_DELLINK, NLM_F_ACK);
    put_ifinfo(nlh, index);
    return request(nlh, cat("delete link ", index));
}

Result<void> Socket::add_address(int index, const IpAddress& a, int prefix) {
    nlmsghdr* nlh = begin(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = a.family;
    ifa->ifa_prefixlen = prefix;
    ifa->ifa_flags = a.is_v6() ? IFA_F_NODAD : 0;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = index;
    put_address(nlh, IFA_LOCAL, a);
    put_address(nlh, IFA_ADDRESS, a);
    return request(nlh, cat("add address ", prefixed(a, prefix), " to link ", index));
}

Result<std::vector<std::pair<IpAddress, int>>> Socket::addresses(int index) {
    nlmsghdr* nlh = begin(RTM_GETADDR, NLM_F_DUMP);
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = AF_UNSPEC;
    std::vector<std::pair<IpAddress, int>> out;
    TRY(request(nlh, cat("list addresses of link ", index), [&](const nlmsghdr* m) {
        auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(m));
        if (int(ifa->ifa_index) != index) return;
        // IFA_LOCAL is the link's own address; IFA_ADDRESS is the peer's on
        // point-to-point links and the same otherwise (IPv6 sends only it).
        Attrs a = attrs(m, sizeof(ifaddrmsg), IFA_MAX);
        IpAddress ip = address(ifa->ifa_family, a[IFA_LOCAL] ? a[IFA_LOCAL] : a[IFA_ADDRESS]);
        if (!ip.empty()) out.emplace_back(ip, ifa->ifa_prefixlen);
    }));
    return out;
}

Result<void> Socket::add_route(const Subnet& dst, const IpAddress& gateway, int index) {
    nlmsghdr* nlh = begin(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = dst.network.family;
    rtm->rtm_dst_len = dst.prefix;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_STATIC;
    rtm->rtm_scope = gateway.empty() ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    rtm->rtm_type = RTN_UNICAST;
    if (dst.prefix > 0) put_address(nlh, RTA_DST, dst.network);
    if (!gateway.empty()) put_address(nlh, RTA_GATEWAY, gateway);
    mnl_attr_put_u32(nlh, RTA_OIF, index);
    return request(nlh, cat("add route to ", dst.str(), gateway.empty() ? "" : " via ", gateway.empty() ? "" : gateway.str(),
                            " on link ", index));
}

Result<std::vector<Route>> Socket::routes(int family) {
    nlmsghdr* nlh = begin(RTM_GETROUTE, NLM_F_DUMP);
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = family;
    std::vector<Route> out;
    TRY(request(nlh, "list routes", [&](const nlmsghdr* m) {
        auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(m));
        Attrs a = attrs(m, sizeof(rtmsg), RTA_MAX);
        int table = a[RTA_TABLE] ? u32(a[RTA_TABLE]) : rtm->rtm_table;
        if (rtm->rtm_family != family || table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST) return;
        Route r{.dst = {address(family, a[RTA_DST]), rtm->rtm_dst_len},
                .gateway = address(family, a[RTA_GATEWAY]),
                .index = u32(a[RTA_OIF])};
        if (r.dst.network.empty()) r.dst.network.family = family;  // no RTA_DST: the default route
        out.push_back(r);
    }));
    return out;
}

Result<void> set_sysctl(const std::string& key, const std::string& value) {
    std::string what = cat("set sysctl ", key);
    if (key.empty() || key.front() == '/' || key.find("..") != std::string::npos)
        return Err(what, ": not a key under /proc/sys");
    UniqueFd fd(::open(("/proc/sys/" + key).c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) return ErrnoErr(what);
    if (::write(fd.get(), value.data(), value.size()) != ssize_t(value.size())) return ErrnoErr(what, " to ", value);
    return {};
}

}  // namespace berth::netlink
