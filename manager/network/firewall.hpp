// The manager's nftables rules: NAT and isolation of its networks, DNAT of
// published ports. Everything lives in one table berth owns, `table inet
// berth`; each change is one nftables transaction (one batch through
// libnftables), so a rule set is never seen half made.
//
// libnftables is loaded with dlopen by Firewall::open(): the berth binary
// does not link it, and commands that need no firewall never load it.
//
// Layout (chains of `table inet berth`):
//   prerouting  nat, dstnat:  fib daddr type local jump ports
//   output      nat, -100:    fib daddr type local jump ports
//   ports       DNAT of published ports, "ctr:ID" rules
//   postrouting nat, srcnat:  masquerade per network ("net:NAME"): its
//               subnet leaving through another device, and loopback-sourced
//               packets (127.0.0.1:PORT DNAT'ed) entering its bridge
//   forward     filter: isolation between berth bridges, --internal drops
// Rules carry a comment naming their owner and are deleted by handle.
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
    std::string proto = "tcp";  // "tcp" or "udp"
};

class Firewall {
public:
    // Loads libnftables; acts on the network namespace of the calling thread.
    static Result<Firewall> open();
    Firewall(Firewall&&) noexcept;
    Firewall& operator=(Firewall&&) noexcept;
    ~Firewall();

    // The table and base chains (made when missing), then the network's
    // rules, replacing any it had.
    Result<void> add_network(const NetworkRules& net);
    // The network's rules; none is fine.
    Result<void> remove_network(const std::string& name);
    // DNAT of each mapping to `v4`/`v6`:container_port (a mapping on an IPv6
    // host address goes to v6, others to v4). Adds: call remove_container
    // first to replace.
    Result<void> add_ports(const std::string& container_id, const std::vector<PortMapping>& ports,
                           const IpAddress& v4, const IpAddress& v6);
    Result<void> remove_container(const std::string& container_id);
    // Owners of the rules in the table: container ids, network names.
    Result<std::vector<std::string>> container_owners();
    Result<std::vector<std::string>> network_owners();
    // The table as `nft list table inet berth` prints it ("" when missing).
    Result<std::string> list();

private:
    struct Api;
    struct Ctx;
    explicit Firewall(std::unique_ptr<Ctx> ctx);
    // Runs one batch (one transaction); errors start with `what`.
    Result<std::string> run(const std::string& batch, const std::string& what);
    // Handles of the rules whose comment is `comment`, as "CHAIN HANDLE".
    Result<std::vector<std::pair<std::string, std::string>>> rules_with(const std::string& comment);
    Result<std::vector<std::string>> owners(const std::string& prefix);

    std::unique_ptr<Ctx> ctx_;
};

}  // namespace berth::manager
