#include "manager/network/text.hpp"

#include <algorithm>
#include <cstdio>

#include "libutil/ip.hpp"
#include "libutil/strings.hpp"

namespace berth::manager {

namespace {

void add_entry(std::string& out, const HostEntry& e) {
    out += e.address;
    out += '\t';
    for (size_t i = 0; i < e.names.size(); ++i) {
        if (i) out += ' ';
        out += e.names[i];
    }
    out += '\n';
}

bool loopback(std::string_view addr) {
    // "fe80::1%eth0": the zone does not matter here.
    auto ip = parse_ip(addr.substr(0, addr.find('%')));
    if (!ip) return false;
    if (ip->is_v4()) return ip->bytes[0] == 127;
    IpAddress one;
    one.family = ip->family;
    one.bytes[15] = 1;
    return *ip == one;
}

// The first word of a line and the rest, trimmed; comments are lines that
// start with # or ;.
std::pair<std::string_view, std::string_view> keyword(std::string_view line) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') return {};
    auto sp = line.find_first_of(" \t");
    if (sp == std::string_view::npos) return {line, {}};
    return {line.substr(0, sp), trim(line.substr(sp + 1))};
}

}  // namespace

std::string make_hosts(const std::vector<HostEntry>& own, const std::vector<HostEntry>& extra,
                       const std::vector<HostEntry>& peers) {
    std::string out =
        "127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\n"
        "ff00::0\tip6-mcastprefix\n"
        "ff02::1\tip6-allnodes\n"
        "ff02::2\tip6-allrouters\n";
    for (const auto& e : extra) add_entry(out, e);
    for (const auto& e : own) add_entry(out, e);
    for (const auto& e : peers) add_entry(out, e);
    return out;
}

bool only_loopback_nameservers(std::string_view text) {
    for (auto line : split(text, '\n')) {
        auto [key, value] = keyword(line);
        if (key == "nameserver" && !loopback(value)) return false;
    }
    return true;
}

std::string make_resolv_conf(std::string_view host, const std::vector<std::string>& dns,
                             const std::vector<std::string>& search, const std::vector<std::string>& options) {
    std::vector<std::string> servers, domains, opts;
    for (auto line : split(host, '\n')) {
        auto [key, value] = keyword(line);
        if (key == "nameserver" && !value.empty() && !loopback(value))
            servers.emplace_back(value.substr(0, value.find_first_of(" \t")));
        else if (key == "search" || key == "domain")  // the last one wins, as in the resolver
            domains = split(std::string(value), ' ');
        else if (key == "options")
            for (auto& o : split(std::string(value), ' '))
                if (!o.empty()) opts.push_back(o);
    }
    if (!dns.empty()) servers = dns;
    if (!search.empty()) domains = search.size() == 1 && search[0] == "." ? std::vector<std::string>{} : search;
    if (!options.empty()) opts = options;
    std::string out;
    std::erase(domains, "");
    if (!domains.empty()) out += "search " + join(domains, " ") + "\n";
    for (const auto& s : servers) out += "nameserver " + s + "\n";
    if (!opts.empty()) out += "options " + join(opts, " ") + "\n";
    return out;
}

ResolvConf container_resolv_conf(std::string_view host, const std::optional<std::string>& resolved,
                                 const std::vector<std::string>& dns, const std::vector<std::string>& search,
                                 const std::vector<std::string>& options) {
    bool local = only_loopback_nameservers(host);
    std::string_view from = local && resolved ? std::string_view(*resolved) : host;
    ResolvConf out{make_resolv_conf(from, dns, search, options), ""};
    // A --dns on a loopback address is the user's choice (a resolver inside).
    if (dns.empty() && out.text.find("nameserver ") == std::string::npos)
        out.warning = cat(kHostResolvConf, " has no nameserver but loopback ones, which a container cannot reach, and ",
                          resolved ? cat(kResolvedResolvConf, " has none either") : cat("there is no ", kResolvedResolvConf),
                          ": the container gets no nameserver; give one with --dns");
    return out;
}

std::vector<std::string> port_lines(const std::vector<PortBinding>& ports, std::string_view filter) {
    std::string want(filter);
    if (!want.empty() && want.find('/') == std::string::npos) want += "/tcp";
    std::vector<std::string> out;
    for (const auto& p : ports) {
        std::string key = cat(p.container_port, "/", p.proto);
        if (!want.empty() && key != want) continue;
        std::string ip = p.host_ip.empty() ? "0.0.0.0" : p.host_ip;
        if (ip.find(':') != std::string::npos) ip = "[" + ip + "]";
        out.push_back(cat(key, " -> ", ip, ":", p.host_port));
    }
    return out;
}

std::array<uint8_t, 6> mac_for_address(const IpAddress& a) {
    std::array<uint8_t, 6> mac{0x02, 0x42, 0, 0, 0, 0};
    size_t from = a.is_v4() ? 0 : 12;
    for (size_t i = 0; i < 4; ++i) mac[2 + i] = a.bytes[from + i];
    return mac;
}

std::optional<std::array<uint8_t, 6>> interface_mac(const std::vector<IpAddress>& addresses) {
    if (addresses.empty()) return std::nullopt;
    auto v4 = std::find_if(addresses.begin(), addresses.end(), [](const IpAddress& a) { return a.is_v4(); });
    return mac_for_address(v4 != addresses.end() ? *v4 : addresses.front());
}

std::string mac_text(const std::array<uint8_t, 6>& mac) {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    return buf;
}

}  // namespace berth::manager
