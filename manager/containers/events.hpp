// What happened to containers and images, for `GET /events` (berth serve)
// without a daemon to remember it: each berth process that changes a
// container or an image appends a line of JSON to RUNROOT/events.log (one
// write with O_APPEND, so concurrent writers never interleave), as podman's
// "file" events backend does. The log lives on the run root's tmpfs (gone at
// reboot, as dockerd's in-memory events) and is rotated to events.log.1 past
// 1 MiB.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "libutil/json.hpp"

namespace berth::manager {

struct Event {
    std::string type;    // "container", "image", "network", "volume"
    std::string action;  // docker's: create, start, die, destroy, pause, unpause, kill, pull, tag, untag, delete
    std::string id;
    std::map<std::string, std::string> attributes;  // name, image, exitCode, signal, ...
    int64_t time_nano = 0;                          // 0: now
};

// Appends `ev` to RUNROOT/events.log; a failure is logged, never returned
// (an event lost must not fail the operation it reports).
void record_event(const std::string& runroot, Event ev);

// docker's JSON message for an event line of the log (nullopt: not one).
std::optional<json::Value> event_message(const std::string& line);

std::string events_log(const std::string& runroot);

}  // namespace berth::manager
