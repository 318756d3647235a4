#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "manager/serve/http.hpp"

using namespace std::literals;
using namespace berth;
using namespace berth::manager::serve;

namespace {

void send_all(int fd, std::string_view s) {
    while (!s.empty()) {
        ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
        REQUIRE(n > 0);
        s.remove_prefix(static_cast<size_t>(n));
    }
}

// Bytes queued for reading on `fd`.
int queued(int fd) {
    int n = 0;
    ::ioctl(fd, FIONREAD, &n);
    return n;
}

// What has arrived on `fd` so far (all writes happened before).
std::string drain(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) return out;
        out.append(buf, static_cast<size_t>(n));
    }
}

// A client (`client`) connected to a server-side Connection (`conn`).
struct Wire {
    UniqueFd client;
    std::unique_ptr<Connection> conn;

    Wire() {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        client.reset(sv[0]);
        conn = std::make_unique<Connection>(UniqueFd(sv[1]));
    }
    void send(std::string_view s) { send_all(client.get(), s); }
    void end() { ::shutdown(client.get(), SHUT_WR); }

    Request next(const Limits& l = {}) {
        auto r = conn->read_request(l);
        INFO((r ? std::string("nullopt") : r.error().message));
        REQUIRE(r);
        REQUIRE(r->has_value());
        return std::move(**r);
    }
    int fail(const Limits& l = {}) {
        auto r = conn->read_request(l);
        REQUIRE_FALSE(r);
        return r.error().status;
    }
    std::string body(const Request& r, size_t max = 1 << 20) {
        auto b = conn->read_body(r, max);
        INFO((b ? std::string() : b.error().message));
        REQUIRE(b);
        return *b;
    }
    int body_fail(const Request& r, size_t max = 1 << 20) {
        auto b = conn->read_body(r, max);
        REQUIRE_FALSE(b);
        return b.error().status;
    }
};

// read_request's status for `bytes` followed by EOF (0: a request, -1: nullopt).
int head_status(std::string_view bytes) {
    Wire w;
    w.send(bytes);
    w.end();
    auto r = w.conn->read_request();
    if (!r) return r.error().status;
    return *r ? 0 : -1;
}

// read_body's status for a request `bytes` followed by EOF (0: read).
int body_status(std::string_view bytes, size_t max = 1 << 20) {
    Wire w;
    w.send(bytes);
    w.end();
    Request r = w.next();
    auto b = w.conn->read_body(r, max);
    return b ? 0 : b.error().status;
}

ResponseHead head(int status, std::vector<std::pair<std::string, std::string>> headers = {},
                  std::optional<uint64_t> content_length = std::nullopt, bool raw_stream = false, bool close = false) {
    ResponseHead h;
    h.status = status;
    h.headers = std::move(headers);
    h.content_length = content_length;
    h.raw_stream = raw_stream;
    h.close = close;
    return h;
}

// Writes `data` one byte at a time, each once the reader took the one
// before: every read() of the connection gets a single byte.
std::thread trickle(int client, int server, std::string data) {
    return std::thread([=] {
        for (char ch : data) {
            if (::send(client, &ch, 1, MSG_NOSIGNAL) != 1) return;
            for (int i = 0; i < 20000 && queued(server) > 0; ++i)
                ::usleep(100);
        }
    });
}

}  // namespace

TEST_CASE("serve http: percent_decode", "[serve_http]") {
    CHECK(percent_decode("/a%20b", false) == "/a b");
    CHECK(percent_decode("%2Fx%2fy", false) == "/x/y");
    CHECK(percent_decode("a+b", false) == "a+b");
    CHECK(percent_decode("a+b%2B", true) == "a b+");
    CHECK(percent_decode("", true) == "");
    CHECK(percent_decode("%e2%82%AC", false) == "\xe2\x82\xac");
    CHECK(percent_decode("%00", false) == std::string(1, '\0'));
    CHECK_FALSE(percent_decode("%G1", false));
    CHECK_FALSE(percent_decode("%1G", true));
    CHECK_FALSE(percent_decode("%", false));
    CHECK_FALSE(percent_decode("ab%4", false));
    CHECK_FALSE(percent_decode("ab%", true));
}

TEST_CASE("serve http: parse_query", "[serve_http]") {
    using Q = std::multimap<std::string, std::string>;
    CHECK((parse_query("a=1&b=&c") == Q{{"a", "1"}, {"b", ""}, {"c", ""}}));
    CHECK(parse_query("") == Q{});
    CHECK((parse_query("&&x=1&") == Q{{"x", "1"}}));
    CHECK((parse_query("a%3Db=c%26d&q=a+b%2Bc") == Q{{"a=b", "c&d"}, {"q", "a b+c"}}));
    CHECK((parse_query("=v&k==") == Q{{"", "v"}, {"k", "="}}));
    auto q = parse_query("x=2&x=1&x=3");
    REQUIRE(q);
    std::vector<std::string> xs;
    for (auto [b, e] = q->equal_range("x"); b != e; ++b)
        xs.push_back(b->second);
    CHECK((xs == std::vector<std::string>{"2", "1", "3"}));
    CHECK_FALSE(parse_query("k=%zz"));
    CHECK_FALSE(parse_query("%=1"));
}

TEST_CASE("serve http: a GET's request line, headers and query", "[serve_http]") {
    Wire w;
    w.send("GET /v1.43/containers/my%20c/json?all=1&filters=%7B%22a%22%3A1%7D&x=1&x=2&flag&size=false HTTP/1.1\r\n"
           "Host: api.moby.localhost\r\n"
           "User-Agent:Docker-Client/24.0.7 (linux)\r\n"
           "X-Dup: first\r\n"
           "x-dup: \t second \t\r\n"
           "X-Empty:\r\n"
           "\r\n");
    Request r = w.next();
    CHECK(r.method == "GET");
    CHECK(r.target == "/v1.43/containers/my%20c/json?all=1&filters=%7B%22a%22%3A1%7D&x=1&x=2&flag&size=false");
    CHECK(r.path == "/v1.43/containers/my c/json");
    CHECK(r.minor_version == 1);
    CHECK(r.keep_alive);
    CHECK_FALSE(r.chunked);
    CHECK_FALSE(r.content_length);
    CHECK(r.headers.size() == 5);
    CHECK(r.header("host") == "api.moby.localhost");
    CHECK(r.header("user-agent") == "Docker-Client/24.0.7 (linux)");
    CHECK(r.header("x-dup") == "first");
    CHECK(r.headers.count("x-dup") == 2);
    CHECK(r.headers.find("x-empty")->second == "");
    CHECK(r.header("missing") == "");
    CHECK(r.param("filters") == "{\"a\":1}");
    CHECK((r.params("x") == std::vector<std::string>{"1", "2"}));
    CHECK(r.params("nope").empty());
    CHECK(r.param("x") == "1");
    CHECK(r.has_param("flag"));
    CHECK(r.param("flag") == "");
    CHECK_FALSE(r.has_param("nope"));
    CHECK(r.flag("all"));
    CHECK_FALSE(r.flag("size"));
    CHECK_FALSE(r.flag("flag"));
    CHECK_FALSE(r.flag("nope"));
    CHECK(w.conn->body_read(r));
    CHECK(w.body(r) == "");
}

TEST_CASE("serve http: Request::flag reads docker's booleans", "[serve_http]") {
    Request r;
    r.query = *parse_query("a=1&b=true&c=True&d=&e=0&f=false&g=False&h=no&i=yes&j=TRUE");
    CHECK(r.flag("a"));
    CHECK(r.flag("b"));
    CHECK(r.flag("c"));
    CHECK_FALSE(r.flag("d"));
    CHECK_FALSE(r.flag("e"));
    CHECK_FALSE(r.flag("f"));
    CHECK_FALSE(r.flag("g"));
    CHECK_FALSE(r.flag("h"));
    CHECK(r.flag("i"));
    CHECK(r.flag("j"));
    CHECK_FALSE(r.flag("absent"));
}

TEST_CASE("serve http: bare LF line ends and leading empty lines", "[serve_http]") {
    Wire w;
    w.send("\r\n\nGET /_ping HTTP/1.1\nHost: x\n\n\r\nHEAD /b?q=1 HTTP/1.0\r\nA: b\n\r\n");
    w.end();
    Request a = w.next();
    CHECK(a.method == "GET");
    CHECK(a.path == "/_ping");
    CHECK(a.header("host") == "x");
    Request b = w.next();
    CHECK(b.method == "HEAD");
    CHECK(b.path == "/b");
    CHECK(b.param("q") == "1");
    CHECK(b.minor_version == 0);
    CHECK(b.header("a") == "b");
    auto eof = w.conn->read_request();
    REQUIRE(eof);
    CHECK_FALSE(eof->has_value());
}

TEST_CASE("serve http: EOF before a request is clean, inside a head it is a 400", "[serve_http]") {
    CHECK(head_status("") == -1);
    CHECK(head_status("\r\n\r\n") == -1);
    CHECK(head_status("G") == 400);
    CHECK(head_status("\r") == 400);
    CHECK(head_status("GET / HTTP/1.1\r\n") == 400);
    CHECK(head_status("GET / HTTP/1.1\r\nHost: x\r\n\r") == 400);
    CHECK(head_status("GET / HTTP/1.1\r\n\r\n") == 0);
}

TEST_CASE("serve http: malformed heads", "[serve_http]") {
    struct {
        const char* head;
        int status;
    } cases[] = {
        {"GET / HTTP/2.0\r\n\r\n", 505},
        {"GET / HTTP/1.2\r\n\r\n", 505},
        {"GET / HTTP/0.9\r\n\r\n", 505},
        {"GET / HTTP/1\r\n\r\n", 400},
        {"GET / HTTP/1.10\r\n\r\n", 400},
        {"GET / HTTPS/1.1\r\n\r\n", 400},
        {"GET / http/1.1\r\n\r\n", 400},
        {"GET /\r\n\r\n", 400},
        {"GET  / HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/1.1 \r\n\r\n", 400},
        {"GET /a b HTTP/1.1\r\n\r\n", 400},
        {"G(T / HTTP/1.1\r\n\r\n", 400},
        {" GET / HTTP/1.1\r\n\r\n", 400},
        {"GET a/b HTTP/1.1\r\n\r\n", 400},
        {"GET /a%zz HTTP/1.1\r\n\r\n", 400},
        {"GET /a%2 HTTP/1.1\r\n\r\n", 400},
        {"GET /a%00b HTTP/1.1\r\n\r\n", 400},
        {"GET /a?x=%G1 HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\n\tfolded\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\n: no name\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        {"GET / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
        {"GET / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", 501},
        {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", 400},
    };
    for (const auto& c : cases) {
        INFO(c.head);
        CHECK(head_status(c.head) == c.status);
    }
}

TEST_CASE("serve http: message framing headers", "[serve_http]") {
    Wire w;
    w.send("POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"
           "POST /b HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\nde"
           "POST /c HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n1\r\nf\r\n0\r\n\r\n"
           "POST /d HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    Request a = w.next();
    CHECK(a.content_length == 3u);
    CHECK(w.body(a) == "abc");
    Request b = w.next();
    CHECK(b.content_length == 2u);
    CHECK(w.body(b) == "de");
    Request c = w.next();
    CHECK(c.chunked);
    CHECK_FALSE(c.content_length);
    CHECK(w.body(c) == "f");
    Request d = w.next();
    CHECK(d.content_length == 0u);
    CHECK(w.conn->body_read(d));
    CHECK(w.body(d) == "");
}

TEST_CASE("serve http: absolute-form and asterisk targets", "[serve_http]") {
    Wire w;
    w.send("GET http://docker/v1.43/info?all=1 HTTP/1.1\r\n\r\n"
           "GET HTTPS://host HTTP/1.1\r\n\r\n"
           "OPTIONS * HTTP/1.1\r\n\r\n");
    Request a = w.next();
    CHECK(a.target == "http://docker/v1.43/info?all=1");
    CHECK(a.path == "/v1.43/info");
    CHECK(a.param("all") == "1");
    CHECK(w.next().path == "/");
    CHECK(w.next().path == "*");
}

TEST_CASE("serve http: keep-alive by version and Connection", "[serve_http]") {
    struct {
        const char* head;
        bool keep_alive;
    } cases[] = {
        {"GET / HTTP/1.1\r\n\r\n", true},
        {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nConnection: Upgrade\r\nConnection: close\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nConnection: Upgrade\r\n\r\n", true},
        {"GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", true},
        {"GET / HTTP/1.0\r\n\r\n", false},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
        {"GET / HTTP/1.0\r\nConnection: Upgrade,KEEP-ALIVE\r\n\r\n", true},
        {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
        {"GET / HTTP/1.0\r\nKeep-Alive: timeout=5\r\n\r\n", false},
    };
    for (const auto& c : cases) {
        INFO(c.head);
        Wire w;
        w.send(c.head);
        CHECK(w.next().keep_alive == c.keep_alive);
    }
}

TEST_CASE("serve http: pipelined requests, bodies read, skipped or absent", "[serve_http]") {
    Wire w;
    w.send("POST /one HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
           "POST /two HTTP/1.1\r\nContent-Length: 6\r\n\r\nunread"
           "POST /three HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
           "POST /four HTTP/1.1\r\n\r\n"
           "PUT /five HTTP/1.1\r\nContent-Length: 4\r\n\r\nwxyz"
           "GET /six HTTP/1.1\r\n\r\n");
    w.end();
    Request one = w.next();
    CHECK(one.path == "/one");
    CHECK_FALSE(w.conn->body_read(one));
    CHECK(w.body(one) == "hello");
    CHECK(w.conn->body_read(one));
    // The bodies of two and three are not read: the next read_request skips them.
    Request two = w.next();
    CHECK(two.path == "/two");
    Request three = w.next();
    CHECK(three.path == "/three");
    CHECK_FALSE(w.conn->body_read(three));
    Request four = w.next();
    CHECK(four.path == "/four");
    CHECK(w.conn->body_read(four));
    CHECK(w.body(four) == "");
    Request five = w.next();
    CHECK(five.path == "/five");
    REQUIRE(w.conn->discard_body(five));
    CHECK(w.conn->body_read(five));
    CHECK(w.body(five) == "");
    CHECK(w.next().path == "/six");
    auto eof = w.conn->read_request();
    REQUIRE(eof);
    CHECK_FALSE(eof->has_value());
}

TEST_CASE("serve http: chunked bodies with extensions and trailers", "[serve_http]") {
    Wire w;
    w.send("POST /load HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
           "4;ext=1\r\nWiki\r\n"
           "5 ; name=\"v\"\r\npedia\r\n"
           "E\r\n in\r\n\r\nchunks.\r\n"
           "0;last\r\nX-Checksum: abc\r\nX-Other: d\r\n\r\n"
           "GET /next HTTP/1.1\r\n\r\n");
    Request r = w.next();
    CHECK(r.chunked);
    CHECK(w.body(r) == "Wikipedia in\r\n\r\nchunks.");
    CHECK(w.conn->body_read(r));
    Request n = w.next();
    CHECK(n.path == "/next");
    CHECK(n.headers.empty());
}

TEST_CASE("serve http: bad chunked and Content-Length bodies", "[serve_http]") {
    const std::string te = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    CHECK(body_status(te + "3\r\nabc\r\n0\r\n\r\n") == 0);
    CHECK(body_status(te + "zz\r\nabc\r\n0\r\n\r\n") == 400);
    CHECK(body_status(te + "\r\nabc\r\n0\r\n\r\n") == 400);
    CHECK(body_status(te + "-3\r\nabc\r\n0\r\n\r\n") == 400);
    CHECK(body_status(te + "10000000000000000\r\n") == 400);
    CHECK(body_status(te + "0000000000000000000003\r\nabc\r\n0\r\n\r\n") == 0);
    CHECK(body_status(te + "ffffffffffffffff\r\nabc", 100) == 413);
    CHECK(body_status(te + "3\r\nabcX\r\n0\r\n\r\n") == 400);
    CHECK(body_status(te + "3\r\nab") == 400);
    CHECK(body_status(te + "3\r\nabc\r\n") == 400);
    CHECK(body_status(te + "3\r\nabc\r\n0\r\nTrailer: x\r\n") == 400);
    CHECK(body_status(te + "3;" + std::string(10000, 'x') + "\r\nabc\r\n0\r\n\r\n") == 400);
    CHECK(body_status("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc") == 400);
}

TEST_CASE("serve http: read_body stops at its limit with a 413", "[serve_http]") {
    SECTION("Content-Length above the limit: nothing of the body is read") {
        Wire w;
        w.send("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789");
        Request r = w.next();
        CHECK(w.body_fail(r, 9) == 413);
        CHECK(w.conn->take_buffered() == "0123456789");
    }
    SECTION("Content-Length at the limit") {
        Wire w;
        w.send("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789");
        Request r = w.next();
        CHECK(w.body(r, 10) == "0123456789");
    }
    SECTION("chunked above the limit") {
        Wire w;
        w.send("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n");
        Request r = w.next();
        CHECK(w.body_fail(r, 9) == 413);
    }
    SECTION("chunked at the limit") {
        Wire w;
        w.send("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n");
        Request r = w.next();
        CHECK(w.body(r, 10) == "0123456789");
    }
}

TEST_CASE("serve http: read_body_to hands the body on in pieces", "[serve_http]") {
    std::string big(200000, 'x');
    for (size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<char>('a' + i % 26);
    Wire w;
    std::thread writer([&] {
        send_all(w.client.get(), "PUT /archive HTTP/1.1\r\nContent-Length: 200000\r\n\r\n" + big +
                                     "POST /load HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
    });
    Request r = w.next();
    std::string got;
    int calls = 0;
    auto ok = w.conn->read_body_to(r, [&](std::string_view p) -> Result<void> {
        got.append(p);
        ++calls;
        return {};
    });
    REQUIRE(ok);
    CHECK(got == big);
    CHECK(calls > 1);
    CHECK(w.conn->body_read(r));

    Request load = w.next();
    auto failed = w.conn->read_body_to(load, [](std::string_view) -> Result<void> { return Err("disk full"); });
    writer.join();
    REQUIRE_FALSE(failed);
    CHECK(failed.error().status == 500);
    CHECK(failed.error().message == "disk full");
}

TEST_CASE("serve http: requests delivered a byte at a time", "[serve_http]") {
    Wire w;
    std::thread t = trickle(w.client.get(), w.conn->fd(),
                            "\r\nPOST /v1.43/images/load?quiet=1 HTTP/1.1\r\nHost: docker\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n"
                            "GET /x HTTP/1.0\nConnection: keep-alive\n\n"
                            "PUT /y HTTP/1.1\r\nContent-Length: 4\r\n\r\nwxyz");
    Request a = w.next();
    CHECK(a.path == "/v1.43/images/load");
    CHECK(a.flag("quiet"));
    CHECK(a.header("host") == "docker");
    CHECK(w.body(a) == "abcde");
    Request b = w.next();
    CHECK(b.path == "/x");
    CHECK(b.keep_alive);
    Request c = w.next();
    CHECK(c.path == "/y");
    CHECK(w.body(c) == "wxyz");
    t.join();
}

TEST_CASE("serve http: the head size limit", "[serve_http]") {
    const std::string head = "GET /limit HTTP/1.1\r\nX-Pad: " + std::string(100, 'p') + "\r\n\r\n";
    SECTION("a head of exactly the limit") {
        Wire w;
        w.send(head);
        CHECK(w.next(Limits{head.size()}).path == "/limit");
    }
    SECTION("one byte over") {
        Wire w;
        w.send(head);
        CHECK(w.fail(Limits{head.size() - 1}) == 431);
    }
    SECTION("a head that never ends is not read to its end") {
        Wire w;
        std::thread writer([fd = w.client.get()] {
            std::string line = "X-Flood: " + std::string(1000, 'f') + "\r\n";
            if (::send(fd, "GET / HTTP/1.1\r\n", 16, MSG_NOSIGNAL) != 16) return;
            for (int i = 0; i < 2000; ++i)
                if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) < 0) return;
        });
        CHECK(w.fail(Limits{4096}) == 431);
        CHECK(w.conn->take_buffered().size() <= 4096 + (64 << 10));
        w.conn.reset();  // the writer gets EPIPE
        writer.join();
    }
    SECTION("the default limit is 64 KiB") {
        Wire w;
        std::thread writer([fd = w.client.get()] {
            std::string big = "GET / HTTP/1.1\r\nX-Big: " + std::string(70000, 'b') + "\r\n\r\n";
            (void)::send(fd, big.data(), big.size(), MSG_NOSIGNAL);
        });
        CHECK(w.fail() == 431);
        w.conn.reset();
        writer.join();
    }
}

TEST_CASE("serve http: take_buffered returns what follows a head", "[serve_http]") {
    Wire w;
    w.send("POST /v1.43/containers/c1/attach?stream=1&stdin=1 HTTP/1.1\r\n"
           "Upgrade: tcp\r\nConnection: Upgrade\r\n\r\n"
           "raw\x01\x00 stream"sv);
    Request r = w.next();
    CHECK(r.path == "/v1.43/containers/c1/attach");
    CHECK(r.keep_alive);
    CHECK(w.conn->take_buffered() == std::string("raw\x01\x00 stream", 12));
    CHECK(w.conn->take_buffered() == "");
    w.send("more");
    w.end();
    // The connection is a raw stream now: its reads are the caller's.
    char buf[8];
    CHECK(::read(w.conn->fd(), buf, sizeof buf) == 4);
}

TEST_CASE("serve http: status_text", "[serve_http]") {
    for (int s : {100, 101, 200, 201, 204, 206, 301, 304, 400, 401, 403, 404, 405, 406, 409, 411, 413, 414, 415, 416,
                  431, 500, 501, 502, 503, 505}) {
        INFO(s);
        CHECK_FALSE(status_text(s).empty());
    }
    CHECK(status_text(200) == "OK");
    CHECK(status_text(101) == "Switching Protocols");
    CHECK(status_text(304) == "Not Modified");
    CHECK(status_text(404) == "Not Found");
    CHECK(status_text(409) == "Conflict");
    CHECK(status_text(413) == "Request Entity Too Large");
    CHECK(status_text(431) == "Request Header Fields Too Large");
    CHECK(status_text(500) == "Internal Server Error");
    CHECK(status_text(505) == "HTTP Version Not Supported");
    CHECK(status_text(418) == "");
    CHECK(status_text(0) == "");
    CHECK(status_text(999) == "");
}

TEST_CASE("serve http: format_head", "[serve_http]") {
    CHECK(format_head(head(200, {{"Content-Type", "application/json"}, {"Api-Version", "1.43"}}, 2)) ==
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nApi-Version: 1.43\r\nContent-Length: 2\r\n\r\n");
    CHECK(format_head(ResponseHead()) == "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    CHECK(format_head(head(101, {{"Connection", "Upgrade"}, {"Upgrade", "tcp"}}, std::nullopt, true)) ==
          "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
    CHECK(format_head(head(200, {{"Content-Type", "application/vnd.docker.raw-stream"}}, std::nullopt, true)) ==
          "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n");
    CHECK(format_head(head(404, {}, 10, false, true)) ==
          "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\nConnection: close\r\n\r\n");
    CHECK(format_head(head(500, {}, std::nullopt, false, true)) ==
          "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    CHECK(format_head(head(200, {}, std::nullopt, true, true)) == "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
    CHECK(format_head(head(201, {}, 0)) == "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    CHECK(format_head(head(299, {}, 0)) == "HTTP/1.1 299 \r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("serve http: format_head frames no body for 1xx, 204, 304", "[serve_http]") {
    CHECK(format_head(head(204)) == "HTTP/1.1 204 No Content\r\n\r\n");
    CHECK(format_head(head(204, {}, 0)) == "HTTP/1.1 204 No Content\r\n\r\n");
    CHECK(format_head(head(100)) == "HTTP/1.1 100 Continue\r\n\r\n");
    CHECK(format_head(head(304)) == "HTTP/1.1 304 Not Modified\r\n\r\n");
    CHECK(format_head(head(304, {}, 7)) == "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n");
}

TEST_CASE("serve http: format_head keeps CR and LF out of headers", "[serve_http]") {
    CHECK(format_head(head(200, {{"X-Name", "a\r\nSet-Cookie: x"}, {"X\nBad", "v"}}, 0)) ==
          "HTTP/1.1 200 OK\r\nX-Name: a  Set-Cookie: x\r\nX Bad: v\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("serve http: ChunkedWriter frames each write as one chunk", "[serve_http]") {
    Wire w;
    ChunkedWriter cw(*w.conn);
    REQUIRE(cw.write("hello"));
    REQUIRE(cw.write(""));
    REQUIRE(cw.write("abcdefghijklmnopqrstuvwxyz"));
    REQUIRE(cw.write(std::string(256, 'z')));
    REQUIRE(cw.finish());
    CHECK(drain(w.client.get()) ==
          "5\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n100\r\n" + std::string(256, 'z') + "\r\n0\r\n\r\n");
}

TEST_CASE("serve http: write_all", "[serve_http]") {
    SECTION("more than a socket buffer holds, to a slow reader") {
        std::string data(4 << 20, '\0');
        for (size_t i = 0; i < data.size(); ++i)
            data[i] = static_cast<char>(i * 7);
        Wire w;
        std::string got;
        std::thread reader([&] {
            char buf[7000];
            for (ssize_t n; (n = ::read(w.client.get(), buf, sizeof buf)) > 0;)
                got.append(buf, static_cast<size_t>(n));
        });
        REQUIRE(w.conn->write_all(data));
        w.conn.reset();
        reader.join();
        CHECK(got.size() == data.size());
        CHECK(got == data);
    }
    SECTION("a closed peer is EPIPE, not a signal") {
        Wire w;
        w.client.reset();
        auto r = w.conn->write_all("x");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == EPIPE);
    }
    SECTION("a pipe is written with write()") {
        int p[2];
        REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
        UniqueFd rd(p[0]);
        Connection c{UniqueFd(p[1])};
        REQUIRE(c.write_all("through a pipe"));
        REQUIRE(c.write_all(" twice"));
        char buf[64];
        ssize_t n = ::read(rd.get(), buf, sizeof buf);
        CHECK(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0) == "through a pipe twice");
    }
}
