#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "libutil/dbus.hpp"
#include "runtime/linux/systemd.hpp"

using namespace berth;
using namespace berth::runtime;

namespace {

std::string hex(const std::string& s) {
    std::string out;
    char buf[4];
    for (unsigned char c : s) {
        snprintf(buf, sizeof buf, "%02x", c);
        out += buf;
    }
    return out;
}

}  // namespace

TEST_CASE("dbus: a method call is encoded as the spec lays it out", "[dbus]") {
    dbus::Message m;
    m.serial = 1;
    m.path = "/o";
    m.member = "M";
    m.signature = "u";
    dbus::Writer b;
    b.u32(7);
    m.body = b.data();
    std::string wire = dbus::encode(m);
    // 'l', call, no flags, version 1; body length 4; serial 1; fields array
    // of 39 bytes: (1, "o", "/o") pad, (3, "s", "M") pad, (8, "g", "u"), then
    // padding to 8 before the body.
    CHECK(hex(wire) ==
          "6c010001" "04000000" "01000000" "27000000"
          "01016f00" "02000000" "2f6f0000" "00000000"
          "03017300" "01000000" "4d000000" "00000000"
          "08016700" "01750000"
          "07000000");
}

TEST_CASE("dbus: decode reads back what encode wrote, and waits for whole messages", "[dbus]") {
    dbus::Message m;
    m.type = dbus::MessageType::Signal;
    m.serial = 42;
    m.reply_serial = 0;
    m.path = "/org/freedesktop/systemd1";
    m.interface = "org.freedesktop.systemd1.Manager";
    m.member = "JobRemoved";
    m.signature = "uoss";
    dbus::Writer b;
    b.u32(9);
    b.object_path("/org/freedesktop/systemd1/job/9");
    b.string("x.scope");
    b.string("done");
    m.body = b.data();
    std::string wire = dbus::encode(m);

    dbus::Message out;
    auto part = dbus::decode(std::string_view(wire).substr(0, wire.size() - 1), out);
    REQUIRE(part);
    CHECK(*part == 0);
    auto whole = dbus::decode(wire + "trailing", out);
    REQUIRE(whole);
    CHECK(*whole == wire.size());
    CHECK(out.type == dbus::MessageType::Signal);
    CHECK(out.serial == 42);
    CHECK(out.interface == m.interface);
    CHECK(out.member == "JobRemoved");
    CHECK(out.signature == "uoss");
    dbus::Reader r(out.body, out.big_endian);
    CHECK(*r.u32() == 9);
    CHECK(*r.object_path() == "/org/freedesktop/systemd1/job/9");
    CHECK(*r.string() == "x.scope");
    CHECK(*r.string() == "done");
    CHECK(!r.string());  // past the end: an error, not a read
}

TEST_CASE("dbus: malformed messages are errors", "[dbus]") {
    dbus::Message out;
    std::string bad(16, '\0');
    bad[0] = 'x';
    CHECK(!dbus::decode(bad, out));
    bad[0] = 'l';
    bad[3] = 2;
    CHECK(!dbus::decode(bad, out));
    // A string whose length runs past the body.
    dbus::Writer w;
    w.u32(1000);
    dbus::Reader r(w.data(), false);
    CHECK(!r.string());
}

TEST_CASE("dbus: arrays count their bytes from the first element, after its padding", "[dbus]") {
    dbus::Writer w;
    auto a = w.begin_array(8);  // a(st)
    w.begin_struct();
    w.string("k");
    w.u64(5);
    w.end_array(a);
    // length (4) + padding (4) + "k" struct: 4+2 bytes, pad to 8, u64.
    CHECK(w.data().size() == 24);
    dbus::Reader r(w.data(), false);
    auto end = r.begin_array(8);
    REQUIRE(end);
    CHECK(*end == 24);
    CHECK(*r.string() == "k");
    CHECK(*r.u64() == 5);
    CHECK(r.at(*end));
}

TEST_CASE("dbus: a connection authenticates, calls, and keeps signals that come first", "[dbus]") {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    UniqueFd server(sv[1]);
    // The peer: a scripted server on the other end of a socket pair.
    std::thread peer([fd = server.get()] {
        std::string in;
        char buf[4096];
        while (in.find("BEGIN\r\n") == std::string::npos) {
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n <= 0) return;
            if (in.empty() && n > 0 && buf[0] == '\0') {
                in.append(buf + 1, static_cast<size_t>(n - 1));
            } else {
                in.append(buf, static_cast<size_t>(n));
            }
            if (in.find("AUTH EXTERNAL ") != std::string::npos && in.find("\r\n") != std::string::npos &&
                in.find("OK-sent") == std::string::npos) {
                (void)!::write(fd, "OK 0123456789abcdef\r\n", 21);
                in += "OK-sent";
            }
        }
        in.erase(0, in.find("BEGIN\r\n") + 7);
        dbus::Message call;
        for (;;) {
            auto used = dbus::decode(in, call);
            if (used && *used) break;
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n <= 0) return;
            in.append(buf, static_cast<size_t>(n));
        }
        dbus::Message sig;
        sig.type = dbus::MessageType::Signal;
        sig.serial = 100;
        sig.path = "/p";
        sig.interface = "i.f";
        sig.member = "Ev";
        sig.signature = "s";
        dbus::Writer sb;
        sb.string("early");
        sig.body = sb.data();
        dbus::Message err;
        err.type = dbus::MessageType::Error;
        err.serial = 101;
        err.reply_serial = call.serial;
        err.error_name = "x.Error.NoSuchThing";
        err.signature = "s";
        dbus::Writer eb;
        eb.string("no " + call.member);
        err.body = eb.data();
        std::string out = dbus::encode(sig) + dbus::encode(err);
        (void)!::write(fd, out.data(), out.size());
    });
    auto c = dbus::Connection::adopt(UniqueFd(sv[0]), false);
    REQUIRE(c);
    auto r = c->call("", "/p", "i.f", "Frob", "", "");
    REQUIRE(!r);
    CHECK(r.error().message == "x.Error.NoSuchThing: no Frob");
    auto s = c->wait_signal("i.f", "Ev", [](const dbus::Message&) { return true; }, std::chrono::seconds(1));
    REQUIRE(s);
    dbus::Reader sr(s->body, s->big_endian);
    CHECK(*sr.string() == "early");
    peer.join();
}

TEST_CASE("systemd: cgroupsPath slice:prefix:name names the scope and its cgroup", "[systemd]") {
    auto u = systemd_unit("system.slice:docker:abc", "id");
    REQUIRE(u);
    CHECK(u->slice == "system.slice");
    CHECK(u->name == "docker-abc.scope");
    CHECK(u->path == "/system.slice/docker-abc.scope");

    u = systemd_unit("", "c1");
    REQUIRE(u);
    CHECK(u->name == "berth-runtime-c1.scope");
    CHECK(u->path == "/system.slice/berth-runtime-c1.scope");

    u = systemd_unit("machine-a.slice::x", "c1");
    REQUIRE(u);
    CHECK(u->name == "x.scope");
    CHECK(u->path == "/machine.slice/machine-a.slice/x.scope");

    u = systemd_unit("-.slice:p:x", "c1");
    REQUIRE(u);
    CHECK(u->path == "/p-x.scope");

    auto bad = systemd_unit("/a/b", "c1");
    REQUIRE(!bad);
    CHECK(bad.error().message == "linux.cgroupsPath \"/a/b\": expected \"slice:prefix:name\" with --systemd-cgroup");
    CHECK(!systemd_unit("a--b.slice:p:x", "c1"));
    CHECK(!systemd_unit("system:p:x", "c1"));
    CHECK(!systemd_unit("system.slice:p:", "c1"));
    CHECK(!systemd_unit("system.slice:p:a/b", "c1"));
    CHECK(!systemd_unit("system.slice:p:x.slice", "c1"));
}

TEST_CASE("systemd: slices expand to their nesting", "[systemd]") {
    CHECK(*expand_slice("-.slice") == "/");
    CHECK(*expand_slice("a.slice") == "/a.slice");
    CHECK(*expand_slice("a-b-c.slice") == "/a.slice/a-b.slice/a-b-c.slice");
    CHECK(!expand_slice(".slice"));
    CHECK(!expand_slice("-a.slice"));
    CHECK(!expand_slice("a-.slice"));
    CHECK(!expand_slice("a/b.slice"));
}

TEST_CASE("systemd: cpu lists become AllowedCPUs bitmasks", "[systemd]") {
    CHECK(*cpu_list_mask("0") == std::vector<uint8_t>{0x01});
    CHECK(*cpu_list_mask("0-3,9") == std::vector<uint8_t>{0x0f, 0x02});
    CHECK(*cpu_list_mask(" 7 ") == std::vector<uint8_t>{0x80});
    CHECK(!cpu_list_mask("3-1"));
    CHECK(!cpu_list_mask("x"));
}

TEST_CASE("systemd: resources become unit properties with runc's conversions", "[systemd]") {
    oci::Resources res;
    res.memory = oci::Resources::Memory{};
    res.memory->limit = 64 << 20;
    res.memory->swap = 96 << 20;
    res.cpu = oci::Resources::Cpu{};
    res.cpu->shares = 1024;
    res.cpu->quota = 12345;
    res.cpu->period = 100000;
    res.cpu->cpus = "0-1";
    res.pids = oci::Resources::Pids{-1};
    auto read_props = [](const std::string& data) {
        std::vector<std::pair<std::string, std::string>> out;
        dbus::Reader r(data, false);
        auto end = r.begin_array(8);
        REQUIRE(end);
        while (!r.at(*end)) {
            REQUIRE(r.align(8));
            std::string name = *r.string();
            std::string sig = *r.signature();
            std::string val;
            if (sig == "t") val = std::to_string(*r.u64());
            else if (sig == "ay") {
                auto e = r.begin_array(1);
                while (!r.at(*e)) val += std::to_string(*r.byte()) + ",";
            } else FAIL("unexpected property type " + sig);
            out.emplace_back(name, val);
        }
        return out;
    };
    dbus::Writer w;
    auto a = w.begin_array(8);
    resource_properties(w, res, true);
    w.end_array(a);
    auto v2 = read_props(w.data());
    using P = std::vector<std::pair<std::string, std::string>>;
    CHECK(v2 == P{{"MemoryMax", "67108864"},
                  {"MemorySwapMax", "33554432"},
                  {"CPUWeight", "39"},
                  {"CPUQuotaPerSecUSec", "130000"},
                  {"CPUQuotaPeriodUSec", "100000"},
                  {"AllowedCPUs", "3,"},
                  {"TasksMax", "18446744073709551615"}});
    dbus::Writer w1;
    a = w1.begin_array(8);
    resource_properties(w1, res, false);
    w1.end_array(a);
    CHECK(read_props(w1.data()) == P{{"MemoryLimit", "67108864"},
                                     {"CPUShares", "1024"},
                                     {"CPUQuotaPerSecUSec", "130000"},
                                     {"CPUQuotaPeriodUSec", "100000"},
                                     {"TasksMax", "18446744073709551615"}});
}
