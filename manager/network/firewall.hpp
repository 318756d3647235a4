// The manager's nftables rules: NAT and isolation of its networks, DNAT of
// published ports. Everything lives in one table berth owns, `table inet
// berth`; each change is one nftables transaction (one batch through
// libnftables), so a rule set is never seen half made, and two berth
// processes changing it at once each see the other's change whole.
//
// libnftables is loaded with dlopen by Firewall::open(): the berth binary
// does not link it, and commands that need no firewall never load it.
//
// Layout of `table inet berth` (rules tagged "net:NAME" or "ctr:ID"):
//   set bridges   the bridges of berth's networks (elements "net:NAME")
//   prerouting    nat, dstnat (-100): DNAT of published ports ("ctr:ID"),
//                 for packets to a local address (fib daddr type local)
//   output        nat, -100: the same for connections made by the host itself
//   postrouting   nat, srcnat (100), per network: masquerade of its subnet
//                 leaving through another device; of loopback sources
//                 (127.0.0.1:PORT DNAT'ed) and of hairpin DNAT (a container
//                 reaching a published port of its own network) entering
//                 its bridge
//   forward       filter (0): drops first (inserted at the head): isolation
//                 from the other berth bridges (DNAT'ed traffic excepted),
//                 --internal's drops; then accepts (appended): the bridge's
//                 traffic out, established/related traffic back in
// Rules are deleted by handle, found by their comment in a JSON listing.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/ip.hpp"

namespace berth::manager {

struct NetworkRules {
    std::string name;    // the network's
    std::string bridge;  // its bridge device
    std::optional<Subnet> subnet4, subnet6;
    bool internal = false;
};

struct PortMapping {
    IpAddress host_ip;  // empty: every local address
    uint16_t host_port = 0;
    uint16_t container_port = 0;
    std::string proto = "tcp";  // "tcp", "udp" (or "sctp")
};

class Firewall {
public:
    // Loads libnftables; acts on the network namespace of the calling thread
    // (libnftables opens its netlink socket here), whichever thread calls later.
    static Result<Firewall> open();
    Firewall(Firewall&&) noexcept;
    Firewall& operator=(Firewall&&) noexcept;
    ~Firewall();

    // The table, set and base chains (made when missing), then the network's
    // rules, replacing any it had.
    Result<void> add_network(const NetworkRules& net);
    // The network's rules and its bridge's place in the set; none is fine.
    Result<void> remove_network(const std::string& name);
    // DNAT of each mapping to `v4`/`v6`:container_port (a mapping on an IPv6
    // host address goes to v6, one on an IPv4 address to v4, one on every
    // address to each of them that is given). Adds: call remove_container
    // first to replace.
    Result<void> add_ports(const std::string& container_id, const std::vector<PortMapping>& ports, const IpAddress& v4,
                           const IpAddress& v6);
    // The container's rules replaced by DNAT of `ports` as add_ports makes
    // it, in one transaction, so a port that stays published never goes
    // without its rule; no ports: its rules are removed.
    Result<void> replace_ports(const std::string& container_id, const std::vector<PortMapping>& ports,
                               const IpAddress& v4, const IpAddress& v6);
    // The container's rules; none is fine.
    Result<void> remove_container(const std::string& container_id);
    // Owners of the rules in the table, sorted: container ids, network names.
    Result<std::vector<std::string>> container_owners();
    Result<std::vector<std::string>> network_owners();
    // The table as `nft list table inet berth` prints it ("" when missing).
    Result<std::string> list();

private:
    struct Ctx;
    explicit Firewall(std::unique_ptr<Ctx> ctx);
    // Runs one batch (one transaction) and returns nft's output; errors read
    // "nftables: WHAT: <first line of nft's message>".
    Result<std::string> run(const std::string& batch, const std::string& what, bool json = false);
    // The table as nft lists it (as JSON with `json`), nullopt when there is none.
    Result<std::optional<std::string>> list_table(const std::string& what, bool json);
    // Deletes what carries `owner` ("net:NAME", "ctr:ID") and `bridge`'s
    // element in set bridges, and adds `adds`, in one transaction (made again
    // when a concurrent change got between the listing and the commit).
    Result<void> replace(const std::string& owner, const std::string& adds, const std::string& what,
                         const std::string& bridge = "");
    Result<std::vector<std::string>> owners(const std::string& prefix);

    std::unique_ptr<Ctx> ctx_;
};

}  // namespace berth::manager
