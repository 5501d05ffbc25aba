// Runs a program the way a user or a CI script would: argv, an environment, a working folder,
// and a time limit; captures what it prints and how it ended.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mbuild::e2e {

// How a child process ended and everything it printed.
struct ProcessResult {
  int exit_code = -1;  // the exit status, or -1 when a signal ended it
  int signal = 0;      // the signal that ended it, 0 when it exited
  bool timed_out = false;
  bool killed = false;  // SpawnOptions::kill_after fired before the child ended by itself
  std::string out;
  std::string err;
};

// A process environment: starts as a copy of this process's, then variables are set or removed.
class ProcessEnvironment {
 public:
  // A copy of the current process environment.
  static ProcessEnvironment inherit();
  // An environment with no variables at all.
  static ProcessEnvironment empty() { return {}; }

  ProcessEnvironment& set(const std::string& name, const std::string& value);
  ProcessEnvironment& unset(const std::string& name);
  // Removes every variable whose name starts with `prefix`.
  ProcessEnvironment& unset_prefix(const std::string& prefix);

  // "NAME=value" strings, sorted by name.
  std::vector<std::string> entries() const;

 private:
  std::map<std::string, std::string> m_vars;
};

// Runs argv[0] (a path, not searched in PATH) with `argv`, `env` and stdin from /dev/null,
// in `cwd` when it is not empty. A child still running after `timeout` is killed (SIGKILL) and
// reported as timed_out. Throws std::runtime_error only when the process cannot be started.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessEnvironment& env,
                          std::chrono::milliseconds timeout, const std::filesystem::path& cwd = {});

// What a crash or a full disk looks like to a child, on top of run_process's argv and env.
struct SpawnOptions {
  std::filesystem::path cwd;  // empty: this process's working folder
  // RLIMIT_FSIZE for the child, with SIGXFSZ ignored: a write past this many bytes fails with
  // EFBIG, the way a write to a full disk fails with ENOSPC.
  std::optional<std::uint64_t> file_size_limit;
  // SIGKILL the child this long after it started (if it is still running): a crash at a chosen
  // moment. The result then has killed = true and signal = SIGKILL.
  std::optional<std::chrono::microseconds> kill_after;
};

// run_process with SpawnOptions.
ProcessResult run_process_with(const std::vector<std::string>& argv, const ProcessEnvironment& env,
                               std::chrono::milliseconds timeout, const SpawnOptions& options);

}  // namespace mbuild::e2e
