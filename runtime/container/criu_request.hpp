// What berth asks of CRIU for one dump or restore, as plain data, and that
// request as CRIU's RPC message (rpc.proto's CriuReq, packed) with CRIU's
// replies parsed back. checkpoint.cpp fills a CriuRequest once and hands it
// either to libcriu (criu_local_set_*) or, for --lazy-pages, which libcriu
// cannot ask for, to `criu swrk` directly (criu_swrk.hpp). Nothing here talks
// to CRIU, so all of it is unit-tested.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libutil/error.hpp"
#include "runtime/container/criu_options.hpp"

namespace berth::runtime {

struct CriuInheritFd {
    std::string key;  // what CRIU calls the fd in the image ("pipe:[12]", "extRootNetNS")
    int fd = -1;      // ours, inherited by `criu swrk`
};
struct CriuJoinNs {
    std::string ns, file;
};
struct CriuCgRoot {
    std::string ctrl;  // v1 controllers ("cpu,cpuacct"); empty: all (cgroup2)
    std::string path;
};

struct CriuRequest {
    // Both.
    int images_dir_fd = -1;
    int work_dir_fd = -1;
    std::string log_file;
    int log_level = 4;
    CgroupsMode cgroups_mode = CgroupsMode::Default;
    bool shell_job = false;
    bool ext_unix_sk = false;
    bool tcp_established = false;
    bool file_locks = false;
    bool auto_dedup = false;
    int empty_ns = 0;
    bool lazy_pages = false;
    std::string root;
    std::vector<ExtMount> ext_mounts;
    // Dump.
    int pid = 0;
    bool leave_running = false;
    bool tcp_skip_in_flight = false;
    bool link_remap = false;
    bool track_mem = false;
    std::string parent_img;
    std::string freeze_cgroup;
    std::string ps_address;  // page server; empty: none
    int ps_port = 0;
    std::string config_file;  // CRIU reads it after the RPC options, which it overrides
    std::vector<std::string> external;
    // Restore.
    bool evasive_devices = false;
    std::vector<CriuInheritFd> inherit_fds;
    std::vector<CriuJoinNs> join_ns;
    std::vector<CriuCgRoot> cg_roots;
};

enum class CriuCall { Dump, Restore };

// CriuReq{type, opts} packed. Asked always, as runc does and as libcriu's
// path asks it: cgroups managed by CRIU (soft unless told), notifications on
// (the pty master comes in one), the pty master left outside the image. A
// restore is rst_sibling: the restored init is the caller's child, as with
// libcriu's criu_local_restore_child.
std::string pack_criu_request(CriuCall call, const CriuRequest& r);
// A CRIU config file (one "option value" a line) that sets the page
// server's address: CRIU before checkpoint-restore/criu#2959 (4.1.1 among
// them) drops the RPC's ps.address when lazy_pages is set, and its page
// server then listens on every address of the host.
std::string lazy_page_server_config(const std::string& address);

// CriuReq{NOTIFY, notify_success}: the answer to each notification.
std::string pack_notify_ack(bool ok);

// One CriuResp.
struct CriuReply {
    enum Kind { Notify, Dump, Restore, Other } kind = Other;
    bool success = false;
    std::string script;  // Notify: "status-ready", "orphan-pts-master", ...
    int notify_pid = 0;  // Notify: the root task, for "setup-namespaces"
    int restored_pid = 0;
    int cr_errno = 0;
    std::string cr_errmsg;  // CRIU's first error line, when it sends one
};
Result<CriuReply> parse_criu_reply(std::string_view bytes);

// CRIU's lazy page server (CRIU 4.1) serves pages through pipes it sizes to
// its PIPE_MAX_SIZE (as many pages as 8 pages of 40-byte pipe buffers hold:
// 819 pages of 4 KiB); above fs.pipe-max-size that needs CAP_SYS_RESOURCE.
// Refused, CRIU ignores the error, leaves its /dev/null sink unopened and
// fails at the first page the restoring side asks for ("page-pipe: splice:
// -1: Bad file descriptor"). Returns why the page server cannot work here,
// in a line; empty when it can.
long criu_lazy_pipe_bytes(long page_size);
std::string lazy_page_server_obstacle(long pipe_max_size, bool cap_sys_resource, long page_size);

}  // namespace berth::runtime
