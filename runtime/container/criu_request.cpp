#include "runtime/container/criu_request.hpp"

#include <rpc.pb-c.h>

#include <deque>
#include <memory>

namespace berth::runtime {

namespace {

CriuCgMode rpc_cg_mode(CgroupsMode m) {
    switch (m) {
        case CgroupsMode::Full:
            return CRIU_CG_MODE__FULL;
        case CgroupsMode::Strict:
            return CRIU_CG_MODE__STRICT;
        case CgroupsMode::Ignore:
            return CRIU_CG_MODE__IGNORE;
        case CgroupsMode::Soft:
        case CgroupsMode::Default:
            break;
    }
    return CRIU_CG_MODE__SOFT;  // runc's default
}

void set(protobuf_c_boolean& has, protobuf_c_boolean& field, bool value) {
    has = true;
    field = value;
}

}  // namespace

std::string pack_criu_request(CriuCall call, const CriuRequest& r) {
    // The message points into these; they live until it is packed.
    std::deque<std::string> text;
    auto str = [&](const std::string& s) { return text.emplace_back(s).data(); };
    std::deque<ExtMountMap> mounts;
    std::deque<InheritFd> inherit;
    std::deque<JoinNamespace> joins;
    std::deque<CgroupRoot> cg_roots;
    std::vector<ExtMountMap*> mount_ptrs;
    std::vector<InheritFd*> inherit_ptrs;
    std::vector<JoinNamespace*> join_ptrs;
    std::vector<CgroupRoot*> cg_root_ptrs;
    std::vector<char*> externals;
    CriuPageServerInfo ps = CRIU_PAGE_SERVER_INFO__INIT;

    CriuOpts o = CRIU_OPTS__INIT;
    o.images_dir_fd = r.images_dir_fd;
    if (r.work_dir_fd >= 0) {
        o.has_work_dir_fd = true;
        o.work_dir_fd = r.work_dir_fd;
    }
    o.has_log_level = true;
    o.log_level = r.log_level;
    if (!r.log_file.empty()) o.log_file = str(r.log_file);
    set(o.has_manage_cgroups, o.manage_cgroups, true);
    o.has_manage_cgroups_mode = true;
    o.manage_cgroups_mode = rpc_cg_mode(r.cgroups_mode);
    set(o.has_shell_job, o.shell_job, r.shell_job);
    set(o.has_ext_unix_sk, o.ext_unix_sk, r.ext_unix_sk);
    set(o.has_tcp_established, o.tcp_established, r.tcp_established);
    set(o.has_file_locks, o.file_locks, r.file_locks);
    set(o.has_auto_dedup, o.auto_dedup, r.auto_dedup);
    o.has_empty_ns = true;
    o.empty_ns = static_cast<uint32_t>(r.empty_ns);
    set(o.has_orphan_pts_master, o.orphan_pts_master, true);
    set(o.has_notify_scripts, o.notify_scripts, true);
    if (r.lazy_pages) set(o.has_lazy_pages, o.lazy_pages, true);
    if (!r.root.empty()) o.root = str(r.root);
    for (auto& m : r.ext_mounts) {
        auto& e = mounts.emplace_back(ExtMountMap EXT_MOUNT_MAP__INIT);
        e.key = str(m.key);
        e.val = str(m.value);
        mount_ptrs.push_back(&e);
    }
    o.n_ext_mnt = mount_ptrs.size();
    o.ext_mnt = mount_ptrs.data();

    if (call == CriuCall::Dump) {
        o.has_pid = true;
        o.pid = r.pid;
        set(o.has_leave_running, o.leave_running, r.leave_running);
        set(o.has_tcp_skip_in_flight, o.tcp_skip_in_flight, r.tcp_skip_in_flight);
        set(o.has_link_remap, o.link_remap, r.link_remap);
        if (r.track_mem) set(o.has_track_mem, o.track_mem, true);
        if (!r.parent_img.empty()) o.parent_img = str(r.parent_img);
        if (!r.freeze_cgroup.empty()) o.freeze_cgroup = str(r.freeze_cgroup);
        if (!r.config_file.empty()) o.config_file = str(r.config_file);
        if (!r.ps_address.empty()) {
            ps.address = str(r.ps_address);
            ps.has_port = true;
            ps.port = r.ps_port;
            o.ps = &ps;
        }
        for (auto& e : r.external)
            externals.push_back(str(e));
        o.n_external = externals.size();
        o.external = externals.data();
    } else {
        set(o.has_evasive_devices, o.evasive_devices, r.evasive_devices);
        set(o.has_rst_sibling, o.rst_sibling, true);
        for (auto& f : r.inherit_fds) {
            auto& e = inherit.emplace_back(InheritFd INHERIT_FD__INIT);
            e.key = str(f.key);
            e.fd = f.fd;
            inherit_ptrs.push_back(&e);
        }
        o.n_inherit_fd = inherit_ptrs.size();
        o.inherit_fd = inherit_ptrs.data();
        for (auto& j : r.join_ns) {
            auto& e = joins.emplace_back(JoinNamespace JOIN_NAMESPACE__INIT);
            e.ns = str(j.ns);
            e.ns_file = str(j.file);
            join_ptrs.push_back(&e);
        }
        o.n_join_ns = join_ptrs.size();
        o.join_ns = join_ptrs.data();
        for (auto& c : r.cg_roots) {
            auto& e = cg_roots.emplace_back(CgroupRoot CGROUP_ROOT__INIT);
            e.ctrl = c.ctrl.empty() ? nullptr : str(c.ctrl);
            e.path = str(c.path);
            cg_root_ptrs.push_back(&e);
        }
        o.n_cg_root = cg_root_ptrs.size();
        o.cg_root = cg_root_ptrs.data();
    }

    CriuReq req = CRIU_REQ__INIT;
    req.type = call == CriuCall::Dump ? CRIU_REQ_TYPE__DUMP : CRIU_REQ_TYPE__RESTORE;
    req.opts = &o;
    std::string out(criu_req__get_packed_size(&req), '\0');
    criu_req__pack(&req, reinterpret_cast<uint8_t*>(out.data()));
    return out;
}

std::string lazy_page_server_config(const std::string& address) {
    return "address " + address + "\n";
}

std::string pack_notify_ack(bool ok) {
    CriuReq req = CRIU_REQ__INIT;
    req.type = CRIU_REQ_TYPE__NOTIFY;
    req.has_notify_success = true;
    req.notify_success = ok;
    std::string out(criu_req__get_packed_size(&req), '\0');
    criu_req__pack(&req, reinterpret_cast<uint8_t*>(out.data()));
    return out;
}

Result<CriuReply> parse_criu_reply(std::string_view bytes) {
    std::unique_ptr<CriuResp, void (*)(CriuResp*)> resp(
        criu_resp__unpack(nullptr, bytes.size(), reinterpret_cast<const uint8_t*>(bytes.data())),
        [](CriuResp* p) { criu_resp__free_unpacked(p, nullptr); });
    if (!resp) return Err("criu swrk: a reply of ", bytes.size(), " bytes that is not a CriuResp");
    CriuReply r;
    r.success = resp->success;
    if (resp->has_cr_errno) r.cr_errno = resp->cr_errno;
    if (resp->cr_errmsg) r.cr_errmsg = resp->cr_errmsg;
    switch (resp->type) {
        case CRIU_REQ_TYPE__NOTIFY:
            if (!resp->notify || !resp->notify->script) return Err("criu swrk: a notification without a name");
            r.kind = CriuReply::Notify;
            r.script = resp->notify->script;
            if (resp->notify->has_pid) r.notify_pid = resp->notify->pid;
            break;
        case CRIU_REQ_TYPE__DUMP:
            r.kind = CriuReply::Dump;
            break;
        case CRIU_REQ_TYPE__RESTORE:
            r.kind = CriuReply::Restore;
            if (r.success && !resp->restore) return Err("criu swrk: a restore reply without the restored pid");
            if (resp->restore) r.restored_pid = resp->restore->pid;
            break;
        default:
            // CRIU answers a request it refuses outright with EMPTY.
            r.kind = CriuReply::Other;
            break;
    }
    return r;
}

long criu_lazy_pipe_bytes(long page_size) {
    // 8 pages (PAGE_ALLOC_COSTLY_ORDER 3) of struct pipe_buffer (40 bytes
    // on 64-bit), one page each.
    return 8 * page_size / 40 * page_size;
}

std::string lazy_page_server_obstacle(long pipe_max_size, bool cap_sys_resource, long page_size) {
    long need = criu_lazy_pipe_bytes(page_size);
    if (cap_sys_resource || pipe_max_size >= need) return "";
    return cat("CRIU's lazy page server needs pipes of ", need, " bytes: fs.pipe-max-size is ", pipe_max_size,
               " and this process lacks CAP_SYS_RESOURCE (raise /proc/sys/fs/pipe-max-size to ", need, ")");
}

}  // namespace berth::runtime
