#include <cstdio>

#include "runtime/cli/commands.hpp"
#include "runtime/container/state.hpp"

namespace berth::runtime {

// runc's state document: the OCI state plus rootfs, created and owner.
json::Value runc_state(const ContainerState& st, Status s) {
    auto doc = json::Value::object();
    doc.set("ociVersion", json::Value::string(oci::kSpecVersion));
    doc.set("id", json::Value::string(st.id));
    doc.set("pid", json::Value::number(static_cast<int64_t>(s == Status::Stopped ? 0 : st.pid)));
    doc.set("status", json::Value::string(status_name(s)));
    doc.set("bundle", json::Value::string(st.bundle));
    doc.set("rootfs", json::Value::string(st.rootfs));
    doc.set("created", json::Value::string(st.created));
    if (auto a = st.config.find("annotations"); a && a->is_object() && !a->members().empty())
        doc.set("annotations", *a);
    doc.set("owner", json::Value::string(state_owner(st)));
    return doc;
}

int cmd_state(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {});
    if (!a) return fail(a.error());
    auto id = one_id(*a, "state");
    if (!id) return fail(id.error());
    auto st = load_state(g.root, *id);
    if (!st) return fail(st.error());
    std::string out = json::write(runc_state(*st, container_status(*st)), true);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
}

}  // namespace berth::runtime
