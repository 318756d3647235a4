#include "runtime/container/criu_request.hpp"

#include <fcntl.h>
#include <rpc.pb-c.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <thread>

#include "runtime/container/criu_swrk.hpp"

using namespace berth;
using namespace berth::runtime;

namespace {

using ReqPtr = std::unique_ptr<CriuReq, void (*)(CriuReq*)>;
ReqPtr unpack(const std::string& bytes) {
    return ReqPtr(criu_req__unpack(nullptr, bytes.size(), reinterpret_cast<const uint8_t*>(bytes.data())),
                  [](CriuReq* r) {
                      if (r) criu_req__free_unpacked(r, nullptr);
                  });
}

std::string pack(CriuResp& r) {
    std::string out(criu_resp__get_packed_size(&r), '\0');
    criu_resp__pack(&r, reinterpret_cast<uint8_t*>(out.data()));
    return out;
}
std::string notify(const char* script, int pid = 0) {
    CriuNotify n = CRIU_NOTIFY__INIT;
    n.script = const_cast<char*>(script);
    n.has_pid = pid != 0;
    n.pid = pid;
    CriuResp r = CRIU_RESP__INIT;
    r.type = CRIU_REQ_TYPE__NOTIFY;
    r.success = true;
    r.notify = &n;
    return pack(r);
}
std::string dump_reply(bool success, const char* errmsg = nullptr) {
    CriuDumpResp d = CRIU_DUMP_RESP__INIT;
    CriuResp r = CRIU_RESP__INIT;
    r.type = CRIU_REQ_TYPE__DUMP;
    r.success = success;
    r.dump = &d;
    if (errmsg) r.cr_errmsg = const_cast<char*>(errmsg);
    return pack(r);
}

CriuRequest dump_request() {
    CriuRequest r;
    r.images_dir_fd = 5;
    r.work_dir_fd = 6;
    r.log_file = "dump.log";
    r.cgroups_mode = CgroupsMode::Default;
    r.tcp_established = true;
    r.empty_ns = CLONE_NEWNET;
    r.lazy_pages = true;
    r.root = "/bundle/rootfs";
    r.ext_mounts = {{"/shared", "/shared"}, {"/proc/kcore", "/dev/null"}};
    r.pid = 4242;
    r.ps_address = "127.0.0.1";
    r.ps_port = 27277;
    r.freeze_cgroup = "/sys/fs/cgroup/c1";
    r.external = {"net[4026532000]:extRootNetNS"};
    return r;
}

// The far end of a socketpair, speaking as `criu swrk` would.
struct FakeCriu {
    int ours = -1, theirs = -1;
    FakeCriu() {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
        ours = sv[0];
        theirs = sv[1];
    }
    ~FakeCriu() {
        ::close(ours);
        if (theirs >= 0) ::close(theirs);
    }
    std::string recv() {
        char buf[65536];
        ssize_t n = ::recv(theirs, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    }
    void send(const std::string& m, int fd = -1) {
        iovec iov{const_cast<char*>(m.data()), m.size()};
        msghdr mh{};
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
        if (fd >= 0) {
            mh.msg_control = control;
            mh.msg_controllen = sizeof control;
            cmsghdr* c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
        }
        ::sendmsg(theirs, &mh, 0);
    }
};

}  // namespace

TEST_CASE("criu request: a lazy dump carries lazy_pages, the page server and the dump options") {
    auto req = unpack(pack_criu_request(CriuCall::Dump, dump_request()));
    REQUIRE(req);
    CHECK(req->type == CRIU_REQ_TYPE__DUMP);
    CriuOpts* o = req->opts;
    REQUIRE(o);
    CHECK(o->has_lazy_pages);
    CHECK(o->lazy_pages);
    REQUIRE(o->ps);
    CHECK(std::string(o->ps->address) == "127.0.0.1");
    CHECK(o->ps->has_port);
    CHECK(o->ps->port == 27277);
    CHECK(o->images_dir_fd == 5);
    CHECK(o->has_work_dir_fd);
    CHECK(o->work_dir_fd == 6);
    CHECK(std::string(o->log_file) == "dump.log");
    CHECK(o->log_level == 4);
    CHECK(o->has_pid);
    CHECK(o->pid == 4242);
    CHECK(std::string(o->root) == "/bundle/rootfs");
    CHECK(std::string(o->freeze_cgroup) == "/sys/fs/cgroup/c1");
    CHECK(o->manage_cgroups_mode == CRIU_CG_MODE__SOFT);  // runc's default
    CHECK(o->manage_cgroups);
    CHECK(o->tcp_established);
    CHECK(o->empty_ns == CLONE_NEWNET);
    CHECK(o->notify_scripts);  // the pty master and status-ready come as notifications
    CHECK(o->orphan_pts_master);
    CHECK_FALSE(o->has_rst_sibling);
    CHECK_FALSE(o->has_status_fd);  // obsolete in CRIU: the client writes the status byte
    REQUIRE(o->n_ext_mnt == 2);
    CHECK(std::string(o->ext_mnt[1]->key) == "/proc/kcore");
    CHECK(std::string(o->ext_mnt[1]->val) == "/dev/null");
    REQUIRE(o->n_external == 1);
    CHECK(std::string(o->external[0]) == "net[4026532000]:extRootNetNS");
    CHECK(o->config_file == nullptr);
}

TEST_CASE("criu request: the lazy page server's address also goes in a config file CRIU reads after the RPC") {
    CHECK(lazy_page_server_config("127.0.0.1") == "address 127.0.0.1\n");
    CHECK(lazy_page_server_config("::1") == "address ::1\n");
    CriuRequest r = dump_request();
    r.config_file = "/proc/1/fd/9";
    auto req = unpack(pack_criu_request(CriuCall::Dump, r));
    REQUIRE(req);
    REQUIRE(req->opts->config_file);
    CHECK(std::string(req->opts->config_file) == "/proc/1/fd/9");
}

TEST_CASE("criu request: a restore is rst_sibling with its inherited fds, joined namespaces and cgroup roots") {
    CriuRequest r;
    r.images_dir_fd = 7;
    r.log_file = "restore.log";
    r.cgroups_mode = CgroupsMode::Ignore;
    r.lazy_pages = true;
    r.root = "/run/x/c1/criu-root";
    r.evasive_devices = true;
    r.pid = 99;                 // dump-only: not sent
    r.ps_address = "10.0.0.1";  // dump-only: not sent
    r.inherit_fds = {{"extRootNetNS", 9}, {"pipe:[123]", 1}};
    r.join_ns = {{"uts", "/proc/1/ns/uts"}};
    r.cg_roots = {{"", "/c1"}, {"cpu,cpuacct", "/c1"}};
    auto req = unpack(pack_criu_request(CriuCall::Restore, r));
    REQUIRE(req);
    CHECK(req->type == CRIU_REQ_TYPE__RESTORE);
    CriuOpts* o = req->opts;
    CHECK(o->lazy_pages);
    CHECK(o->rst_sibling);
    CHECK(o->evasive_devices);
    CHECK(o->manage_cgroups_mode == CRIU_CG_MODE__IGNORE);
    CHECK_FALSE(o->has_pid);
    CHECK(o->ps == nullptr);
    CHECK_FALSE(o->has_work_dir_fd);
    REQUIRE(o->n_inherit_fd == 2);
    CHECK(std::string(o->inherit_fd[0]->key) == "extRootNetNS");
    CHECK(o->inherit_fd[0]->fd == 9);
    CHECK(o->inherit_fd[1]->fd == 1);
    REQUIRE(o->n_join_ns == 1);
    CHECK(std::string(o->join_ns[0]->ns_file) == "/proc/1/ns/uts");
    REQUIRE(o->n_cg_root == 2);
    CHECK(o->cg_root[0]->ctrl == nullptr);
    CHECK(std::string(o->cg_root[1]->ctrl) == "cpu,cpuacct");
}

TEST_CASE("criu request: without --lazy-pages nothing lazy is asked") {
    CriuRequest r = dump_request();
    r.lazy_pages = false;
    auto req = unpack(pack_criu_request(CriuCall::Dump, r));
    REQUIRE(req);
    CHECK_FALSE(req->opts->has_lazy_pages);
}

TEST_CASE("criu request: replies and notification acks") {
    auto ack = unpack(pack_notify_ack(true));
    REQUIRE(ack);
    CHECK(ack->type == CRIU_REQ_TYPE__NOTIFY);
    CHECK(ack->has_notify_success);
    CHECK(ack->notify_success);
    CHECK_FALSE(unpack(pack_notify_ack(false))->notify_success);

    auto n = parse_criu_reply(notify("status-ready"));
    REQUIRE(n);
    CHECK(n->kind == CriuReply::Notify);
    CHECK(n->script == "status-ready");
    CHECK(n->notify_pid == 0);
    n = parse_criu_reply(notify("setup-namespaces", 4242));
    REQUIRE(n);
    CHECK(n->script == "setup-namespaces");
    CHECK(n->notify_pid == 4242);

    auto d = parse_criu_reply(dump_reply(false, "Lazy pages transfer FAILED"));
    REQUIRE(d);
    CHECK(d->kind == CriuReply::Dump);
    CHECK_FALSE(d->success);
    CHECK(d->cr_errmsg == "Lazy pages transfer FAILED");

    CriuRestoreResp rr = CRIU_RESTORE_RESP__INIT;
    rr.pid = 777;
    CriuResp resp = CRIU_RESP__INIT;
    resp.type = CRIU_REQ_TYPE__RESTORE;
    resp.success = true;
    resp.restore = &rr;
    auto restored = parse_criu_reply(pack(resp));
    REQUIRE(restored);
    CHECK(restored->kind == CriuReply::Restore);
    CHECK(restored->restored_pid == 777);

    auto bad = parse_criu_reply("\xff\xff\xff");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().what().find("not a CriuResp") != std::string::npos);
}

TEST_CASE("criu swrk conversation: notifications are answered, their fd handed over, the final reply returned") {
    FakeCriu criu;
    int pipefd[2];
    REQUIRE(::pipe2(pipefd, O_CLOEXEC) == 0);
    std::vector<bool> acks;
    std::string request;
    std::thread peer([&] {
        request = criu.recv();
        criu.send(notify("status-ready"));
        auto a = unpack(criu.recv());
        acks.push_back(a && a->notify_success);
        criu.send(notify("orphan-pts-master"), pipefd[0]);
        a = unpack(criu.recv());
        acks.push_back(a && a->notify_success);
        criu.send(dump_reply(true));
    });
    std::vector<std::string> seen;
    UniqueFd got;
    auto reply = criu_converse(criu.ours, "REQ", [&](CriuNotice& n) -> Result<void> {
        seen.push_back(n.script);
        if (n.fd) got = std::move(n.fd);
        return {};
    });
    ::shutdown(criu.ours, SHUT_RDWR);  // a conversation cut short must not leave the peer waiting
    peer.join();
    ::close(pipefd[0]);
    REQUIRE(reply);
    CHECK(request == "REQ");
    CHECK(reply->kind == CriuReply::Dump);
    CHECK(reply->success);
    CHECK(seen == std::vector<std::string>{"status-ready", "orphan-pts-master"});
    CHECK(acks == std::vector<bool>{true, true});
    // The fd CRIU sent is the pipe's read end, received close-on-exec.
    REQUIRE(got);
    CHECK(::fcntl(got.get(), F_GETFD) & FD_CLOEXEC);
    REQUIRE(::write(pipefd[1], "x", 1) == 1);
    char c = 0;
    CHECK(::read(got.get(), &c, 1) == 1);
    CHECK(c == 'x');
    ::close(pipefd[1]);
}

TEST_CASE("criu swrk conversation: a failed notification is answered as failed and returned") {
    FakeCriu criu;
    bool acked_ok = true;
    std::thread peer([&] {
        criu.recv();
        criu.send(notify("post-dump"));
        auto a = unpack(criu.recv());
        acked_ok = !a || a->notify_success;
    });
    auto reply = criu_converse(criu.ours, "REQ", [](CriuNotice&) -> Result<void> { return Err("no"); });
    ::shutdown(criu.ours, SHUT_RDWR);  // a conversation cut short must not leave the peer waiting
    peer.join();
    REQUIRE_FALSE(reply);
    CHECK(reply.error().what() == "criu notification post-dump: no");
    CHECK_FALSE(acked_ok);
}

TEST_CASE("criu swrk conversation: CRIU gone before its reply is an error") {
    FakeCriu criu;
    std::thread peer([&] {
        criu.recv();
        ::close(criu.theirs);
        criu.theirs = -1;
    });
    auto reply = criu_converse(criu.ours, "REQ", nullptr);
    ::shutdown(criu.ours, SHUT_RDWR);  // a conversation cut short must not leave the peer waiting
    peer.join();
    REQUIRE_FALSE(reply);
    CHECK(reply.error().what() == "criu swrk exited without a reply");
}

TEST_CASE("criu lazy pages: the page server's pipes against fs.pipe-max-size and CAP_SYS_RESOURCE") {
    CHECK(criu_lazy_pipe_bytes(4096) == 3354624);  // 819 pages, as CRIU 4.1 asks on x86_64
    CHECK(lazy_page_server_obstacle(3354624, false, 4096).empty());
    CHECK(lazy_page_server_obstacle(1048576, true, 4096).empty());
    auto why = lazy_page_server_obstacle(1048576, false, 4096);
    CHECK(why.find("fs.pipe-max-size is 1048576") != std::string::npos);
    CHECK(why.find("CAP_SYS_RESOURCE") != std::string::npos);
    CHECK(why.find("3354624") != std::string::npos);
}
