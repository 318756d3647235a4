// A small D-Bus client: enough of the wire protocol to call systemd's
// manager (StartTransientUnit, StopUnit, ...) and wait for its JobRemoved
// signal, without libdbus or sd-bus (the runtime is linked statically and
// must not load a shared library on its start path).
//
// Messages are built and read in the sender's byte order ('l' or 'B'); body
// writers and readers follow the spec's alignment rules. Only what the
// callers need is there: the basic types, arrays, structs and variants.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/fd.hpp"

namespace berth::dbus {

enum class MessageType : uint8_t { MethodCall = 1, MethodReturn = 2, Error = 3, Signal = 4 };

// Builds a message body (or any marshalled block) that starts 8-aligned.
class Writer {
public:
    void byte(uint8_t v);
    void boolean(bool v);
    void u32(uint32_t v);
    void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
    void u64(uint64_t v);
    void string(std::string_view s);
    void object_path(std::string_view s) { string(s); }
    void signature(std::string_view s);
    // An array: begin_array returns a mark for end_array, which fills in the
    // length. `elem_align` is the alignment of the element type (8 for
    // structs and 64-bit values, 4 for u32 and strings, 1 for bytes).
    struct ArrayMark {
        size_t len_at, start;
    };
    ArrayMark begin_array(size_t elem_align);
    void end_array(ArrayMark mark);
    void begin_struct() { align(8); }
    // A variant's signature; its value follows with the usual writers.
    void variant(std::string_view sig) { signature(sig); }

    const std::string& data() const { return buf_; }
    void align(size_t n);

private:
    std::string buf_;
};

struct Message {
    MessageType type = MessageType::MethodCall;
    bool big_endian = false;
    uint8_t flags = 0;
    uint32_t serial = 0;
    uint32_t reply_serial = 0;
    std::string path, interface, member, error_name, destination, sender, signature;
    std::string body;
};

// Reads a body in the message's byte order. Every read checks bounds: a
// short or malformed body is an error, never a read past the end.
class Reader {
public:
    Reader(std::string_view data, bool big_endian) : data_(data), big_(big_endian) {}
    Result<uint8_t> byte();
    Result<bool> boolean();
    Result<uint32_t> u32();
    Result<uint64_t> u64();
    Result<std::string> string();
    Result<std::string> object_path() { return string(); }
    Result<std::string> signature();
    // The end offset of an array (its contents follow, aligned).
    Result<size_t> begin_array(size_t elem_align);
    bool at(size_t end) const { return pos_ >= end; }
    Result<void> align(size_t n);
    size_t pos() const { return pos_; }

private:
    std::string_view data_;
    bool big_;
    size_t pos_ = 0;
};

// The whole message as sent on the wire (little-endian).
std::string encode(const Message& m);
// Parses one message at the start of `buf`: how many bytes it took, or 0
// when `buf` holds only part of one. Malformed input is an error.
Result<size_t> decode(std::string_view buf, Message& out);

class Connection {
public:
    // Connects to the unix socket at `path` and authenticates (EXTERNAL, as
    // our uid). `bus`: a message bus (dbus-daemon) that wants Hello and a
    // destination, not a peer such as systemd's private socket.
    static Result<Connection> open(const std::string& path, bool bus);
    // The same over a socket already connected.
    static Result<Connection> adopt(UniqueFd fd, bool bus);

    // Calls a method and returns the reply; an error reply becomes an Error
    // "NAME: text". Signals that arrive meanwhile are kept for wait_signal.
    Result<Message> call(std::string_view destination, std::string_view path, std::string_view interface,
                         std::string_view member, std::string_view signature, const std::string& body,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // Waits for a signal `interface.member` for which `match` returns true.
    template <class F>
    Result<Message> wait_signal(std::string_view interface, std::string_view member, F match,
                                std::chrono::milliseconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            for (auto it = signals_.begin(); it != signals_.end(); ++it)
                if (it->interface == interface && it->member == member && match(*it)) {
                    Message m = std::move(*it);
                    signals_.erase(it);
                    return m;
                }
            auto m = TRY(read_message(deadline));
            if (m.type == MessageType::Signal) signals_.push_back(std::move(m));
        }
    }
    bool is_bus() const { return bus_; }

private:
    Result<void> send(const Message& m);
    Result<Message> read_message(std::chrono::steady_clock::time_point deadline);

    UniqueFd fd_;
    bool bus_ = false;
    uint32_t serial_ = 0;
    std::string in_;
    std::deque<Message> signals_;
};

}  // namespace berth::dbus
