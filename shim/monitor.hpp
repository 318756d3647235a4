// The shim's one thread: an epoll loop over the container's output (pipes or
// the pty master), the attach and control sockets, and a signalfd for
// SIGCHLD. It reaps every child (the shim is a subreaper), and when the
// container's process exits it drains the output, writes the exit file,
// tells attach clients, runs `delete` when asked, and returns.
#pragma once
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>

#include "libutil/error.hpp"
#include "libutil/fd.hpp"
#include "shim/cri_log.hpp"
#include "shim/exit_record.hpp"
#include "shim/options.hpp"

namespace berth::shim {

class Monitor {
public:
    explicit Monitor(const Options& o) : o_(o) {}
    // create (or exec) through the runtime, and start when asked. On failure
    // the error carries the runtime's own message and nothing is left behind.
    Result<pid_t> launch();
    // Serves until the process has exited and its exit file is written.
    // Returns the shim's exit status.
    int run();
    // Removes the sockets and pid file the shim made in the run dir.
    void remove_run_files();

private:
    struct Client {
        UniqueFd fd;
        bool ctl = false;      // a control connection, not an attach one
        size_t key_match = 0;  // detach keys typed so far
    };
    static constexpr size_t kMaxClients = 64;

    Result<void> setup_io();
    Result<pid_t> run_create();
    Result<void> run_start();
    Result<int> wait_runtime(pid_t rt, UniqueFd* capture, std::string& captured);
    bool copy_to_log(UniqueFd& fd, Stream s, std::string* tail);
    Result<void> receive_console();
    void cleanup_failed_create();
    void watch(int fd, uint32_t events, uint64_t tag);
    void unwatch(int fd);

    void on_signal();
    void reap();
    void on_output(UniqueFd& fd, Stream s, uint32_t events);
    void drain(UniqueFd& fd, Stream s);
    void on_accept(int listen_fd, bool ctl);
    void on_client(size_t i);
    void on_ctl(Client& c, const char* msg, size_t len);
    void drop_client(size_t i);
    void broadcast(unsigned char type, const char* data, size_t len);
    void feed_stdin(Client& c, size_t i, const char* data, size_t len);
    void write_stdin(const char* data, size_t len);
    void flush_stdin();
    void pause_clients(bool paused);
    void close_stdin();
    Result<void> resize(const char* text, size_t len);
    void finish();

    const Options& o_;
    UniqueFd epoll_, signals_;
    UniqueFd out_r_, err_r_, in_w_, master_;
    UniqueFd attach_l_, ctl_l_, console_l_, run_dir_;
    std::array<Client, kMaxClients> clients_;
    std::string detach_keys_;
    pid_t pid_ = -1;
    bool exited_ = false, done_ = false;
    CriLog log_;
    ExitRecord record_;
    std::string oom_path_;
    uint64_t oom_before_ = 0;
    // Stdin bytes the container has not taken yet; clients are not read
    // while this is non-empty, so the shim never buffers more than one packet.
    char pending_[16384];
    size_t pending_len_ = 0, pending_off_ = 0;
};

// "ctrl-p,ctrl-q" -> "\x10\x11"; "" -> "" (detaching disabled).
Result<std::string> parse_detach_keys(const std::string& spec);

}  // namespace berth::shim
