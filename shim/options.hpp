// berth-shim's command line, parsed once in main.cpp and read everywhere else.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace berth::shim {

struct Options {
    std::string id;                  // container id (required)
    std::string bundle;              // --bundle: for create
    std::string runtime = "berth-runtime";
    std::string runtime_root;        // passed to the runtime as --root
    std::vector<std::string> runtime_args;  // extra global runtime flags
    std::string run_dir;             // attach/ctl sockets, pid files
    std::string log_path;            // CRI-format container log; empty: none
    uint64_t log_size_max = 0;       // rotate above this size; 0: never
    std::string exit_dir;            // exit file is EXIT_DIR/NAME
    std::string exit_file;           // or an explicit path
    std::string container_pid_file;  // where the runtime writes the pid
    std::string detach_keys = "ctrl-p,ctrl-q";
    bool terminal = false;  // --console-socket; the pty master is the stream
    bool stdin_open = false;  // a stdin pipe attach clients can write to
    bool start = false;     // the shim runs `start` after `create`
    bool remove = false;    // --delete: `RUNTIME delete` after the exit
    // Restore mode: `RUNTIME restore --detach --bundle B --image-path DIR
    // [restore_args...] ID` instead of create (and no start: the restored
    // process runs), as conmon's --restore.
    std::string restore_dir;
    std::vector<std::string> restore_args;
    // Exec mode: `RUNTIME exec --detach --process FILE ID` instead of create.
    bool exec = false;
    std::string process_file;
    std::string exec_id;
    // --exit-command PATH [--exit-command-arg ARG]...: run once the exit
    // file is written (and the container deleted), as conmon does for
    // `podman container cleanup`.
    std::string exit_command;
    std::vector<std::string> exit_command_args;

    // The exit file's path (explicit, or EXIT_DIR/ID, EXIT_DIR/ID.EXEC_ID).
    std::string exit_path() const;
    // The name used in messages: "ID" or "ID exec EXEC_ID".
    std::string label() const;
};

}  // namespace berth::shim
