#include "manager/network/firewall.hpp"

#include <dlfcn.h>
#include <nftables/libnftables.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <thread>
#include <type_traits>

#include "libutil/json.hpp"

namespace berth::manager {

namespace {

constexpr const char* kLibrary = "libnftables.so.1";

// The libnftables functions berth calls, resolved once per process; the
// library stays loaded (its contexts may outlive any one Firewall).
struct Api {
    decltype(&::nft_ctx_new) ctx_new;
    decltype(&::nft_ctx_free) ctx_free;
    decltype(&::nft_ctx_buffer_output) buffer_output;
    decltype(&::nft_ctx_buffer_error) buffer_error;
    decltype(&::nft_ctx_get_output_buffer) output_buffer;
    decltype(&::nft_ctx_get_error_buffer) error_buffer;
    decltype(&::nft_ctx_output_set_flags) set_output_flags;
    decltype(&::nft_run_cmd_from_buffer) run_cmd;
};

Result<Api> load_api() {
    void* lib = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
    if (!lib) return Err("nftables: ", kLibrary, " not found (install libnftables1)");
    Api api{};
    auto resolve = [&](auto& fn, const char* name) -> Result<void> {
        void* p = ::dlsym(lib, name);
        if (!p) return Err("nftables: ", kLibrary, " has no ", name);
        fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
        return {};
    };
    TRY(resolve(api.ctx_new, "nft_ctx_new"));
    TRY(resolve(api.ctx_free, "nft_ctx_free"));
    TRY(resolve(api.buffer_output, "nft_ctx_buffer_output"));
    TRY(resolve(api.buffer_error, "nft_ctx_buffer_error"));
    TRY(resolve(api.output_buffer, "nft_ctx_get_output_buffer"));
    TRY(resolve(api.error_buffer, "nft_ctx_get_error_buffer"));
    TRY(resolve(api.set_output_flags, "nft_ctx_output_set_flags"));
    TRY(resolve(api.run_cmd, "nft_run_cmd_from_buffer"));
    return api;
}

Result<const Api*> api() {
    static const Result<Api> loaded = load_api();
    if (!loaded) return std::unexpected(loaded.error());
    return &*loaded;
}

// Names go into nft's language unescaped (device names, comments): only
// characters that need no quoting there are let through.
bool plain(const std::string& s, size_t max) {
    return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
               c == '.';
    });
}

// nft keeps at most 128 bytes of a comment; "net:"/"ctr:" take 4.
constexpr size_t kMaxOwner = 124;
constexpr size_t kMaxIfname = 15;

std::string quoted(const std::string& s) {
    return cat('"', s, '"');
}

// Idempotent (`add` of what exists is no error), so it starts every batch
// that adds rules: the first berth process to add makes the table, a
// concurrent one finds it made. dstnat/srcnat/filter are the priorities
// iptables' own nat and filter chains use, so other tables' rules run in
// the usual order around ours; nft 1.0.6 knows no "dstnat" in output.
const char* const kSkeleton =
    "add table inet berth\n"
    "add set inet berth bridges { type ifname; }\n"
    "add chain inet berth prerouting { type nat hook prerouting priority dstnat; policy accept; }\n"
    "add chain inet berth output { type nat hook output priority -100; policy accept; }\n"
    "add chain inet berth postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
    "add chain inet berth forward { type filter hook forward priority filter; policy accept; }\n";

// `add rule` appends, `insert rule` prepends.
std::string rule(const char* verb, const char* chain, const std::string& body, const std::string& owner) {
    return cat(verb, " rule inet berth ", chain, ' ', body, " comment ", quoted(owner), '\n');
}

std::string network_rules(const NetworkRules& n, const std::string& owner) {
    std::string br = quoted(n.bridge);
    // `create` fails if the element exists: Firewall::replace deletes the
    // one it listed, so an element there is one a concurrent berth added
    // since, and the batch is retried rather than doubling that berth's rules.
    std::string out = cat("create element inet berth bridges { ", br, " comment ", quoted(owner), " }\n");
    if (n.internal) {
        // Nothing leaves or enters the bridge through the host; the host
        // itself still reaches its containers (input/output, not forward).
        out += rule("insert", "forward", cat("iifname ", br, " oifname != ", br, " drop"), owner);
        out += rule("insert", "forward", cat("oifname ", br, " iifname != ", br, " drop"), owner);
        return out;
    }
    // Isolation: this bridge's packets never reach another berth bridge,
    // except a published port's (DNAT'ed) connection and its replies.
    out += rule("insert", "forward",
                cat("iifname ", br, " oifname @bridges oifname != ", br, " ct status & dnat == 0 drop"), owner);
    out += rule("add", "forward", cat("iifname ", br, " oifname != ", br, " accept"), owner);
    out += rule("add", "forward", cat("oifname ", br, " ct state established,related accept"), owner);
    for (const auto* s : {&n.subnet4, &n.subnet6}) {
        if (!*s) continue;
        const char* ip = (*s)->network.is_v4() ? "ip" : "ip6";
        std::string net = (*s)->str();
        out += rule("add", "postrouting", cat(ip, " saddr ", net, " oifname != ", br, " masquerade"), owner);
        // A container connecting to a published port of its own network
        // through a host address: without a new source, the answer would
        // go to it straight over the bridge, from an address it never called.
        out += rule("add", "postrouting",
                    cat(ip, " saddr ", net, ' ', ip, " daddr ", net, " oifname ", br, " ct status dnat masquerade"),
                    owner);
    }
    // 127.0.0.1:PORT DNAT'ed (output chain) leaves through the bridge with
    // its loopback source (allowed by the bridge's route_localnet), which the
    // container could not answer. No IPv6 twin: the kernel lets no ::1
    // packet leave through another device than lo.
    if (n.subnet4) out += rule("add", "postrouting", cat("ip saddr 127.0.0.0/8 oifname ", br, " masquerade"), owner);
    return out;
}

Result<std::string> port_rules(const std::vector<PortMapping>& ports, const IpAddress& v4, const IpAddress& v6,
                               const std::string& owner) {
    std::string out;
    for (const auto& p : ports) {
        std::string host = p.host_ip.empty()   ? ""
                           : p.host_ip.is_v6() ? cat('[', p.host_ip.str(), "]:")
                                               : p.host_ip.str() + ":";
        std::string what = cat(host, p.host_port, ":", p.container_port, "/", p.proto);
        if (p.proto != "tcp" && p.proto != "udp" && p.proto != "sctp")
            return Err("port ", what, ": protocol ", p.proto, " is not tcp, udp or sctp");
        if (p.host_port == 0 || p.container_port == 0) return Err("port ", what, ": port 0");
        int made = 0;
        for (const IpAddress* to : {&v4, &v6}) {
            if (to->empty() || (!p.host_ip.empty() && p.host_ip.family != to->family)) continue;
            bool is4 = to->is_v4();
            std::string match = cat("meta nfproto ", is4 ? "ipv4" : "ipv6");
            if (!p.host_ip.empty()) match += cat(is4 ? " ip" : " ip6", " daddr ", p.host_ip.str());
            std::string target = is4 ? to->str() : cat('[', to->str(), ']');
            std::string body = cat(match, " fib daddr type local ", p.proto, " dport ", p.host_port, " dnat ",
                                   is4 ? "ip" : "ip6", " to ", target, ':', p.container_port);
            // prerouting: from other hosts and containers; output: from the host.
            out += rule("add", "prerouting", body, owner);
            out += rule("add", "output", body, owner);
            ++made;
        }
        if (made == 0)
            return Err("port ", what, ": the container has no ",
                       p.host_ip.empty()   ? "address"
                       : p.host_ip.is_v4() ? "IPv4 address"
                                           : "IPv6 address");
    }
    return out;
}

// A rule or set element of a JSON listing of the table.
struct Owned {
    std::string comment;     // "net:NAME", "ctr:ID"; "" when none
    std::string element;     // the bridge, for an element of set bridges
    std::string delete_cmd;  // the command that deletes it
};

std::string text_of(const json::Value* v) {
    return v && v->is_string() ? v->as_string() : "";
}

Result<std::vector<Owned>> parse_listing(const std::string& text) {
    auto doc = TRY(json::parse(text));
    const json::Value* all = doc.find("nftables");
    if (!all || !all->is_array()) return Err("no \"nftables\" array in nft's JSON");
    std::vector<Owned> out;
    for (const auto& item : all->items()) {
        if (const json::Value* r = item.find("rule")) {
            const json::Value* h = r->find("handle");
            auto handle = h && h->is_number() ? h->as_uint64() : std::nullopt;
            std::string chain = text_of(r->find("chain"));
            if (!handle || !plain(chain, 256)) return Err("a rule without chain or handle in nft's JSON");
            out.push_back(
                {text_of(r->find("comment")), "", cat("delete rule inet berth ", chain, " handle ", *handle)});
        } else if (const json::Value* s = item.find("set"); s && text_of(s->find("name")) == "bridges") {
            const json::Value* elems = s->find("elem");
            if (!elems || !elems->is_array()) continue;
            for (const auto& e : elems->items()) {
                // A bare value when the element has no comment, else {"elem": {"val", "comment"}}.
                const json::Value* inner = e.find("elem");
                std::string name = inner ? text_of(inner->find("val")) : text_of(&e);
                if (!plain(name, kMaxIfname)) continue;
                out.push_back({inner ? text_of(inner->find("comment")) : "", name,
                               cat("delete element inet berth bridges { ", quoted(name), " }")});
            }
        }
    }
    return out;
}

// nft's message is "Error: TEXT", then the command and a caret line.
std::string first_line(const std::string& message) {
    std::string_view m = message;
    while (!m.empty() && (m.front() == '\n' || m.front() == ' '))
        m.remove_prefix(1);
    m = m.substr(0, m.find('\n'));
    if (m.starts_with("Error: ")) m.remove_prefix(7);
    return m.empty() ? std::string("failed without a message") : std::string(m);
}

}  // namespace

struct Firewall::Ctx {
    const Api* api = nullptr;
    nft_ctx* nft = nullptr;
    ~Ctx() {
        if (nft) api->ctx_free(nft);
    }
};

Firewall::Firewall(std::unique_ptr<Ctx> ctx) : ctx_(std::move(ctx)) {}
Firewall::Firewall(Firewall&&) noexcept = default;
Firewall& Firewall::operator=(Firewall&&) noexcept = default;
Firewall::~Firewall() = default;

Result<Firewall> Firewall::open() {
    const Api* a = TRY(api());
    // nft_ctx_new opens the netlink socket, in the calling thread's namespace.
    auto ctx = std::make_unique<Ctx>();
    ctx->api = a;
    ctx->nft = a->ctx_new(NFT_CTX_DEFAULT);
    if (!ctx->nft) return Err("nftables: create a context");
    if (a->buffer_output(ctx->nft) != 0 || a->buffer_error(ctx->nft) != 0) return Err("nftables: buffer the output");
    return Firewall(std::move(ctx));
}

Result<std::string> Firewall::run(const std::string& batch, const std::string& what, bool json) {
    const Api& a = *ctx_->api;
    a.set_output_flags(ctx_->nft, json ? NFT_CTX_OUTPUT_JSON : 0);
    int rc = a.run_cmd(ctx_->nft, batch.c_str());
    // Both buffers are read after every run: reading one rewinds it.
    std::string out = a.output_buffer(ctx_->nft);
    std::string err = a.error_buffer(ctx_->nft);
    if (rc != 0) return Err("nftables: ", what, ": ", first_line(err));
    return out;
}

Result<std::optional<std::string>> Firewall::list_table(const std::string& what, bool json) {
    for (int attempt = 1;; ++attempt) {
        auto listed = run("list table inet berth\n", what, json);
        if (listed) return std::optional<std::string>(std::move(*listed));
        // nft's error for a missing table is ENOENT's text: check that it is
        // missing. Found now, it was made meanwhile by another berth: list again.
        auto tables = TRY(run("list tables inet\n", what, true));
        auto doc = TRY_CTX(json::parse(tables), "nftables: ", what);
        bool found = false;
        if (const json::Value* all = doc.find("nftables"); all && all->is_array())
            for (const auto& item : all->items())
                if (const json::Value* t = item.find("table"); t && text_of(t->find("name")) == "berth") found = true;
        if (!found) return std::optional<std::string>();
        if (attempt == 3) return std::unexpected(listed.error());
    }
}

Result<void> Firewall::replace(const std::string& owner, const std::string& adds, const std::string& what,
                               const std::string& bridge) {
    // The batch is a compare-and-swap: it deletes by handle what the listing
    // showed (handles are never reused) and `create`s the bridge's element,
    // so if another berth changed that owner's rules in between, the whole
    // batch fails (ENOENT, EEXIST) and is made again from a new listing.
    constexpr int kAttempts = 10;
    static thread_local std::minstd_rand jitter{std::random_device{}()};
    for (int attempt = 1;; ++attempt) {
        std::string batch = adds.empty() ? "" : kSkeleton;
        if (auto listed = TRY(list_table(what, true))) {
            auto owned = TRY_CTX(parse_listing(*listed), "nftables: ", what);
            // The bridge's element goes whoever it was left by: the bridge is this network's now.
            for (const auto& o : owned)
                if (o.comment == owner || (!bridge.empty() && o.element == bridge)) batch += o.delete_cmd + "\n";
        }
        batch += adds;
        if (batch.empty()) return {};
        auto r = run(batch, what);
        if (r) return {};
        const std::string& m = r.error().message;
        bool raced = m.ends_with("No such file or directory") || m.ends_with("File exists");
        if (!raced || attempt == kAttempts) return std::unexpected(r.error());
        // Apart, or two berths replacing one network would collide again.
        std::this_thread::sleep_for(std::chrono::microseconds(jitter() % (attempt * 2000)));
    }
}

Result<void> Firewall::add_network(const NetworkRules& net) {
    std::string what = cat("add rules for network ", net.name);
    if (!plain(net.name, kMaxOwner)) return Err("nftables: ", what, ": not a name nft can take");
    if (!plain(net.bridge, kMaxIfname))
        return Err("nftables: ", what, ": bridge name \"", net.bridge, "\" is not a link name");
    for (const auto* s : {&net.subnet4, &net.subnet6})
        if (*s && (*s)->network.empty()) return Err("nftables: ", what, ": a subnet without an address");
    std::string owner = "net:" + net.name;
    return replace(owner, network_rules(net, owner), what, net.bridge);
}

Result<void> Firewall::remove_network(const std::string& name) {
    std::string what = cat("remove rules of network ", name);
    if (!plain(name, kMaxOwner)) return Err("nftables: ", what, ": not a name nft can take");
    return replace("net:" + name, "", what);
}

Result<void> Firewall::add_ports(const std::string& container_id, const std::vector<PortMapping>& ports,
                                 const IpAddress& v4, const IpAddress& v6) {
    std::string what = cat("add ports of container ", container_id);
    if (!plain(container_id, kMaxOwner)) return Err("nftables: ", what, ": not an id nft can take");
    if (ports.empty()) return {};
    std::string owner = "ctr:" + container_id;
    std::string rules = TRY_CTX(port_rules(ports, v4, v6, owner), "nftables: ", what);
    TRY(run(kSkeleton + rules, what));
    return {};
}

Result<void> Firewall::replace_ports(const std::string& container_id, const std::vector<PortMapping>& ports,
                                     const IpAddress& v4, const IpAddress& v6) {
    std::string what = cat("set ports of container ", container_id);
    if (!plain(container_id, kMaxOwner)) return Err("nftables: ", what, ": not an id nft can take");
    std::string owner = "ctr:" + container_id;
    std::string rules;
    if (!ports.empty()) rules = TRY_CTX(port_rules(ports, v4, v6, owner), "nftables: ", what);
    return replace(owner, rules, what);
}

Result<void> Firewall::remove_container(const std::string& container_id) {
    std::string what = cat("remove rules of container ", container_id);
    if (!plain(container_id, kMaxOwner)) return Err("nftables: ", what, ": not an id nft can take");
    return replace("ctr:" + container_id, "", what);
}

Result<std::vector<std::string>> Firewall::owners(const std::string& prefix) {
    std::string what = "list table inet berth";
    auto listed = TRY(list_table(what, true));
    if (!listed) return std::vector<std::string>{};
    std::set<std::string> found;
    for (const auto& o : TRY_CTX(parse_listing(*listed), "nftables: ", what))
        if (o.comment.starts_with(prefix)) found.insert(o.comment.substr(prefix.size()));
    return std::vector<std::string>(found.begin(), found.end());
}

Result<std::vector<std::string>> Firewall::container_owners() {
    return owners("ctr:");
}
Result<std::vector<std::string>> Firewall::network_owners() {
    return owners("net:");
}

Result<std::string> Firewall::list() {
    auto listed = TRY(list_table("list table inet berth", false));
    return listed ? *listed : std::string();
}

}  // namespace berth::manager
