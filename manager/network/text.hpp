// The text files a container's network needs, made from what the manager
// knows: /etc/hosts, /etc/resolv.conf, and the lines of `berth port`. Pure
// functions, so the unit tests check them byte for byte.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libutil/ip.hpp"
#include "manager/containers/options.hpp"

namespace berth::manager {

struct HostEntry {
    std::string address;             // "10.88.0.2", "fd00::2"
    std::vector<std::string> names;  // first is the canonical name
};

// docker's /etc/hosts: localhost lines, then `extra` (--add-host, in order),
// then the container's own entries (its addresses with hostname and name;
// 127.0.1.1 when it has none), then `peers` (other containers on its user
// networks).
std::string make_hosts(const std::vector<HostEntry>& own, const std::vector<HostEntry>& extra,
                       const std::vector<HostEntry>& peers);

// The container's /etc/resolv.conf from the host's text: nameservers on a
// loopback address are dropped (they do not answer inside a network
// namespace); --dns replaces the nameservers, --dns-search the search list
// ("." alone: none), --dns-option the options.
std::string make_resolv_conf(std::string_view host, const std::vector<std::string>& dns,
                             const std::vector<std::string>& search, const std::vector<std::string>& options);

// True when every nameserver line of `text` names a loopback address (or
// there is none): the host runs a local resolver (systemd-resolved's
// 127.0.0.53, dnsmasq) whose upstream list is elsewhere.
bool only_loopback_nameservers(std::string_view text);

// The host's resolver configuration, and systemd-resolved's list of its
// upstream servers (the first names only its stub, 127.0.0.53).
inline constexpr const char* kHostResolvConf = "/etc/resolv.conf";
inline constexpr const char* kResolvedResolvConf = "/run/systemd/resolve/resolv.conf";

struct ResolvConf {
    std::string text;     // the container's /etc/resolv.conf
    std::string warning;  // one line when the container gets no nameserver, else ""
};

// The container's resolv.conf (make_resolv_conf) from the host's files:
// `host` is kHostResolvConf's text, `resolved` kResolvedResolvConf's (nullopt
// when there is none), taken instead when the host's names only loopback
// nameservers. No nameserver left and no --dns: `warning` names the host's
// file and suggests --dns (berth makes up no public server).
ResolvConf container_resolv_conf(std::string_view host, const std::optional<std::string>& resolved,
                                 const std::vector<std::string>& dns, const std::vector<std::string>& search,
                                 const std::vector<std::string>& options);

// One published port as it is bound: `berth port` and inspect.
struct PortBinding {
    std::string host_ip;  // "" = every address
    uint16_t host_port = 0;
    uint16_t container_port = 0;
    std::string proto = "tcp";
    bool operator==(const PortBinding&) const = default;
};

// docker's `port` lines: "80/tcp -> 0.0.0.0:8080", "53/udp -> [::1]:5353";
// only those of `filter` ("80", "80/udp"; "" = all; a port alone is tcp).
std::vector<std::string> port_lines(const std::vector<PortBinding>& ports, std::string_view filter);

// The MAC address of a container's interface, made from its address as
// docker does (02:42 and the IPv4 address's four bytes; for an IPv6-only
// interface, the address's last four bytes): locally administered, unicast,
// and the same for whoever gets the address next, so the host's and the
// peers' neighbour caches stay right when an address is given again.
std::array<uint8_t, 6> mac_for_address(const IpAddress& a);
// An interface's MAC from its addresses (one per family): the IPv4 one's,
// else the first's; nullopt when it has none.
std::optional<std::array<uint8_t, 6>> interface_mac(const std::vector<IpAddress>& addresses);
std::string mac_text(const std::array<uint8_t, 6>& mac);  // "02:42:0a:58:00:02"

}  // namespace berth::manager
