// What happened to containers, images, volumes and networks, for `berth
// events` and `GET /events` (berth serve) without a daemon to remember it:
// each berth process that changes one appends a line of JSON to
// RUNROOT/events.log (one write with O_APPEND, so concurrent writers never
// interleave), as podman's "file" events backend does. The log lives on the
// run root's tmpfs (gone at reboot, as dockerd's in-memory events) and is
// rotated to events.log.1 past 1 MiB.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "libutil/json.hpp"
#include "libutil/error.hpp"

namespace berth::manager {

struct Event {
    std::string type;    // "container", "image", "network", "volume"
    std::string action;  // docker's: create, start, die, destroy, pause, unpause, kill, pull, push, tag, untag,
                         // delete, load, save, import, connect, disconnect
    std::string id;
    std::map<std::string, std::string> attributes;  // name, image, exitCode, signal, ...
    int64_t time_nano = 0;                          // 0: now
};

// Appends `ev` to RUNROOT/events.log, making RUNROOT when missing (a
// container command makes it anyway); a failure is logged, never returned
// (an event lost must not fail the operation it reports).
void record_event(const std::string& runroot, Event ev);

// The run root of this process's image, volume and network events (berth's
// main sets it from --runroot). Those commands make no run root of their
// own (an image command on a root that never ran a container leaves nothing
// under /run), so their events are recorded once a run root exists: a
// container was made there, or `berth serve` listens on its default socket.
void set_event_runroot(std::string runroot);
void record_event(Event ev);

// docker's JSON message for an event line of the log (nullopt: not one).
std::optional<json::Value> event_message(const std::string& line);

std::string events_log(const std::string& runroot);

// docker's event filters, each key a set of values any of which may match:
// type, event, container (id prefix or name), image, volume, network.
using EventFilters = std::map<std::string, std::set<std::string>>;
Result<void> add_event_filter(EventFilters& f, const std::string& key, const std::string& value);
bool event_passes(const EventFilters& f, const json::Value& message);

// A time as docker's and podman's `since`/`until` take it: unix seconds
// (a fraction allowed), RFC 3339 ("2026-11-29T10:00:00Z", offsets, or a
// date alone), or a duration before `now_nano` ("10m", "1h30m", "90s").
Result<int64_t> parse_event_time(const std::string& text, int64_t now_nano);
int64_t event_now_nano();

// Replays the log's messages from `from` (rotated part first) that pass
// `filters`, then, when `follow`, waits for new lines until `until` passes or
// `keep_going` says no (asked every 100 ms). `emit` returns false to stop.
void read_events(const std::string& runroot, int64_t from, std::optional<int64_t> until, const EventFilters& filters,
                 bool follow, const std::function<bool(const json::Value&)>& emit,
                 const std::function<bool()>& keep_going);

}  // namespace berth::manager
