// What an Engine API handler gets (the request, its connection, the path's
// parameters) and the replies it sends, docker's way: JSON bodies, errors as
// {"message": "..."} with the status the docker CLI maps to its messages.
#pragma once
#include <expected>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libutil/json.hpp"
#include "manager/cli/commands.hpp"
#include "manager/containers/lifecycle.hpp"
#include "manager/serve/api.hpp"
#include "manager/serve/http.hpp"

namespace berth::manager::serve {

using ApiResult = std::expected<void, HttpError>;

struct Call {
    const GlobalOptions& g;
    Connection& conn;
    const Request& req;
    std::vector<std::string> args;  // the path's {parameters}, in order
    bool responded = false;         // a response head went out
    bool close = false;             // the connection ends after this call
    std::unique_ptr<Engine> eng;

    // The engine (containers, images, paths), opened on first use.
    std::expected<Engine*, HttpError> engine();
};

// docker's status for a berth error: 404 for "no such ...", "... not
// known"; 409 for a conflict (a name in use, a running container); 400
// for an invalid value; else 500. The message starts with a capital, as
// docker's ("No such container: x").
HttpError api_error(const Error& e);
HttpError http_error(int status, std::string message);

ApiResult send(Call& c, int status, std::string_view content_type, std::string_view body,
               std::vector<std::pair<std::string, std::string>> headers = {});
ApiResult send_json(Call& c, int status, const json::Value& v);
ApiResult send_empty(Call& c, int status);  // 204, 304: no body
// The head of a 200 whose chunked body follows as it comes (events, stats,
// logs, wait, pull, save); Api-Version is added. False: the client is gone.
bool send_stream_head(Call& c, std::vector<std::pair<std::string, std::string>> headers);
// ?h=ROWS&w=COLS of a resize (0 to 65535 each), else a 400.
struct WindowSize {
    unsigned short rows, cols;
};
std::expected<WindowSize, HttpError> window_size(Call& c);
ApiResult send_error(Call& c, const HttpError& e);

// The request's JSON body (16 MiB at most). `optional`: no body is null.
std::expected<json::Value, HttpError> read_json(Call& c, bool optional = false);
// A container by name, id or id prefix (404 when none).
std::expected<ContainerRecord, HttpError> find_container(Call& c, const std::string& name);

// JSON pieces the handlers share.
json::Value str(std::string_view s);
// The strings of an array (others skipped); none for a non-array.
std::vector<std::string> strings_of(const json::Value* v);
// The query's `filters` (docker's {"key": ["v"]} or {"key": {"v": true}}) as
// key -> values; a 400 when it is no JSON object or names a key not in `known`.
std::expected<std::map<std::string, std::vector<std::string>>, HttpError> query_filters(
    Call& c, std::initializer_list<std::string_view> known);
// {"k": "v"} of a map, and back (non-string values are "").
json::Value string_map(const std::map<std::string, std::string>& m);
std::map<std::string, std::string> map_of(const json::Value* v);
// docker's multiplexed frame: the stream (1 stdout, 2 stderr), three zero
// bytes, the length (big-endian), the bytes.
std::string frame(int stream, std::string_view data);
// docker's label filter: every "k=v" (or "k") of `want` matches `labels`
// (unlike the other filters, whose values are alternatives).
bool labels_match(const std::map<std::string, std::string>& labels, const std::vector<std::string>& want);

// System.
ApiResult ping(Call& c);
ApiResult version(Call& c);
ApiResult info(Call& c);
ApiResult events(Call& c);  // api_events.cpp

// Containers (api_containers.cpp).
ApiResult containers_list(Call& c);
ApiResult container_create(Call& c);
ApiResult container_inspect(Call& c);
ApiResult container_start(Call& c);
ApiResult container_stop(Call& c);
ApiResult container_restart(Call& c);
ApiResult container_kill(Call& c);
ApiResult container_pause(Call& c);
ApiResult container_unpause(Call& c);
ApiResult container_delete(Call& c);
ApiResult container_rename(Call& c);
ApiResult container_changes(Call& c);
ApiResult containers_prune(Call& c);
// Streams (api_streams.cpp).
ApiResult container_wait(Call& c);
ApiResult container_attach(Call& c);
ApiResult container_logs(Call& c);
ApiResult container_resize(Call& c);
// api_top_stats.cpp
ApiResult container_top(Call& c);
ApiResult container_stats(Call& c);
// api_archive.cpp
ApiResult archive_stat(Call& c);
ApiResult archive_get(Call& c);
ApiResult archive_put(Call& c);

// Exec instances (api_exec.cpp).
ApiResult exec_create(Call& c);
ApiResult exec_start(Call& c);
ApiResult exec_resize(Call& c);
ApiResult exec_inspect(Call& c);

// Volumes (api_volumes.cpp).
ApiResult volumes_list(Call& c);
ApiResult volume_create(Call& c);
ApiResult volumes_prune(Call& c);
ApiResult volume_inspect(Call& c);
ApiResult volume_delete(Call& c);

// Networks (api_networks.cpp).
ApiResult networks_list(Call& c);
ApiResult network_create(Call& c);
ApiResult networks_prune(Call& c);
ApiResult network_inspect(Call& c);
ApiResult network_delete(Call& c);
ApiResult network_connect(Call& c);
ApiResult network_disconnect(Call& c);

// Attach requests waiting for a created container's start: start lets the
// process run once they are connected (at most `timeout_ms`).
bool has_attach_waiters(Engine& e, const std::string& id);
void wait_attachers_connected(Engine& e, const std::string& id, int timeout_ms);
// A failed start: the waiting attach requests end.
void drop_attach_waiters(Engine& e, const std::string& id);

// Images (api_images.cpp).
ApiResult images_list(Call& c);
ApiResult image_inspect(Call& c);
ApiResult image_create(Call& c);
ApiResult image_delete(Call& c);
ApiResult image_tag(Call& c);
ApiResult images_get(Call& c);   // docker save
ApiResult images_load(Call& c);  // docker load
ApiResult image_push(Call& c);
ApiResult image_history(Call& c);
ApiResult images_prune(Call& c);

}  // namespace berth::manager::serve
