// One function per berth-runtime verb (runtime/cli/VERB.cpp). Each returns
// the process exit code; errors are reported through log::fatal.
#pragma once
#include <sys/types.h>

#include "libutil/json.hpp"
#include "runtime/cli/args.hpp"
#include "runtime/options.hpp"

namespace berth::runtime {

int cmd_create(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_start(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_run(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_state(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_kill(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_delete(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_list(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_spec(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_pause(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_resume(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_ps(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_features(const GlobalOptions& g, int argc, char** argv, int start);

int cmd_update(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_events(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_exec(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_checkpoint(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_restore(const GlobalOptions& g, int argc, char** argv, int start);

// Blocks every signal and returns a signalfd for them (before a child exists,
// so none is lost; children unblock for themselves).
int block_signals_fd();
// Waits for `pid` forwarding signals, and with a pty `master` copies stdio
// through it (raw mode on a terminal); returns the exit code (128+N).
int foreground(pid_t pid, int pidfd, int sigfd, int master);

// update's pure parts: the --resources document (a LinuxResources object;
// "FILE: expected a JSON object (LinuxResources)"), and the stored config
// with it merged into linux.resources.
Result<json::Value> parse_resources_update(std::string_view text, const std::string& file);
json::Value config_with_resources(json::Value config, const json::Value& update);

// Reports an error the runc way (log + one stderr line) and returns 1.
int fail(const Error& e);
// Exactly one positional argument, the container id: runc's messages.
Result<std::string> one_id(const Args& a, const char* verb);

}  // namespace berth::runtime
