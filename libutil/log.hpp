// Logging as runc does it, so engines can parse it: with --log FILE lines go
// to FILE, as logrus text (time="..." level=error msg="...") or, with
// --log-format json, as {"level":"error","msg":"...","time":"RFC3339"}.
// Without --log, log lines go to stderr (debug only with --debug).
// Errors that end a command additionally go to stderr as one plain line:
//   berth-runtime: create c1: ...
#pragma once
#include <string>
#include <string_view>

namespace berth::log {

enum class Level { Debug, Info, Warning, Error };

struct Config {
    std::string program = "berth";  // prefix of the plain stderr line
    std::string path;               // empty: stderr
    bool json = false;
    bool debug = false;
};

void configure(Config cfg);
const Config& config();

// The file is opened on first use (nothing is done when nothing is logged).
void write(Level level, std::string_view msg);
inline void debug(std::string_view m) { write(Level::Debug, m); }
inline void info(std::string_view m) { write(Level::Info, m); }
inline void warn(std::string_view m) { write(Level::Warning, m); }
inline void error(std::string_view m) { write(Level::Error, m); }

// An error that ends the command: logged at error level, and printed as
// "PROGRAM: MSG" on stderr when the log is not stderr itself.
void fatal(std::string_view msg);

// One log line formatted as configured (exposed for tests).
std::string format_line(Level level, std::string_view msg, bool json, std::string_view time);

}  // namespace berth::log
