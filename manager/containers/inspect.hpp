// A container as `inspect` and `ps` show it, in docker's JSON shape: what
// the record, its run options, its bundle's config.json and the network
// leases say. Shared by the CLI and the Engine API (berth serve).
#pragma once
#include <ctime>
#include <string>

#include "libutil/json.hpp"
#include "manager/containers/lifecycle.hpp"

namespace berth::manager {

// Seconds since the epoch of an RFC 3339 time (0 when empty or bad).
std::time_t parse_time(const std::string& t);
// docker's STATUS column: "Up 5 seconds", "Exited (0) 2 minutes ago", ...
std::string status_text(const ContainerRecord& c);
// The config.json the container runs with (an empty object when gone).
json::Value bundle_spec(Engine& e, const ContainerRecord& c);
// process.args joined by spaces.
std::string command_of(const json::Value& spec);
// docker's PORTS column: "127.0.0.1:8080->80/tcp, ...".
std::string ports_text(Engine& e, const ContainerRecord& c);
// docker's NetworkSettings.
json::Value network_settings(Engine& e, const ContainerRecord& c);
// `docker inspect`'s object for the container.
json::Value inspect_json(Engine& e, const ContainerRecord& c);

}  // namespace berth::manager
