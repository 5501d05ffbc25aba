#include "e2e/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

extern char** environ;

namespace mbuild::e2e {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void throw_errno(const std::string& what, int err) {
  throw std::runtime_error(what + ": " + std::strerror(err));
}

// A file descriptor closed when it goes out of scope.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : m_fd(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  ~Fd() { reset(); }

  int get() const { return m_fd; }
  int release() { return std::exchange(m_fd, -1); }
  void reset(int fd = -1) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = fd;
  }

 private:
  int m_fd = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

// Close-on-exec on both ends: the child gets only the ends dup2'ed onto its stdout/stderr.
Pipe make_pipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    throw_errno("pipe2", errno);
  }
  return {Fd(fds[0]), Fd(fds[1])};
}

// posix_spawn_file_actions_t with a destructor.
class SpawnActions {
 public:
  SpawnActions() {
    if (int rc = ::posix_spawn_file_actions_init(&m_actions); rc != 0) {
      throw_errno("posix_spawn_file_actions_init", rc);
    }
  }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
  ~SpawnActions() { ::posix_spawn_file_actions_destroy(&m_actions); }

  posix_spawn_file_actions_t* get() { return &m_actions; }

  void check(int rc, const char* what) {
    if (rc != 0) {
      throw_errno(what, rc);
    }
  }

 private:
  posix_spawn_file_actions_t m_actions{};
};

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

// The time left until `until` (0 when past it), capped at a minute, for ppoll.
timespec remaining(Clock::time_point until) {
  auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(until - Clock::now());
  const int64_t ns = std::clamp<int64_t>(left.count(), 0, int64_t{60'000'000'000});
  return {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

// fork + exec with RLIMIT_FSIZE set and SIGXFSZ ignored in the child (posix_spawn cannot set a
// resource limit). Everything the child needs is prepared before the fork: between fork and
// exec it makes only async-signal-safe calls.
pid_t spawn_with_limit(std::vector<char*>& args, std::vector<char*>& vars, int out_fd, int err_fd,
                       const std::filesystem::path& cwd, uint64_t file_size_limit) {
  const std::string dir = cwd.string();
  const rlimit limit{static_cast<rlim_t>(file_size_limit), static_cast<rlim_t>(file_size_limit)};
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  const pid_t pid = ::fork();
  if (pid < 0) {
    throw_errno("fork", errno);
  }
  if (pid == 0) {
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) {
      ::_exit(127);
    }
    if (!dir.empty() && ::chdir(dir.c_str()) != 0) {
      ::_exit(127);
    }
    if (::sigaction(SIGXFSZ, &ignore, nullptr) != 0 || ::setrlimit(RLIMIT_FSIZE, &limit) != 0) {
      ::_exit(127);
    }
    ::execve(args[0], args.data(), vars.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

ProcessEnvironment ProcessEnvironment::inherit() {
  ProcessEnvironment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    if (auto eq = entry.find('='); eq != std::string::npos && eq > 0) {
      env.m_vars[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
  return env;
}

ProcessEnvironment& ProcessEnvironment::set(const std::string& name, const std::string& value) {
  m_vars[name] = value;
  return *this;
}

ProcessEnvironment& ProcessEnvironment::unset(const std::string& name) {
  m_vars.erase(name);
  return *this;
}

ProcessEnvironment& ProcessEnvironment::unset_prefix(const std::string& prefix) {
  std::erase_if(m_vars, [&](const auto& kv) { return kv.first.starts_with(prefix); });
  return *this;
}

std::vector<std::string> ProcessEnvironment::entries() const {
  std::vector<std::string> out;
  out.reserve(m_vars.size());
  for (const auto& [name, value] : m_vars) {
    out.push_back(name + "=" + value);
  }
  return out;
}

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessEnvironment& env,
                          std::chrono::milliseconds timeout, const std::filesystem::path& cwd) {
  SpawnOptions options;
  options.cwd = cwd;
  return run_process_with(argv, env, timeout, options);
}

ProcessResult run_process_with(const std::vector<std::string>& argv, const ProcessEnvironment& env,
                               std::chrono::milliseconds timeout, const SpawnOptions& options) {
  if (argv.empty()) {
    throw std::invalid_argument("run_process: empty argv");
  }
  Pipe out = make_pipe();
  Pipe err = make_pipe();

  std::vector<std::string> args = argv;
  std::vector<std::string> vars = env.entries();
  std::vector<char*> c_args = c_strings(args);
  std::vector<char*> c_vars = c_strings(vars);
  const Clock::time_point started = Clock::now();

  pid_t pid = 0;
  if (options.file_size_limit) {
    pid = spawn_with_limit(c_args, c_vars, out.write.get(), err.write.get(), options.cwd,
                           *options.file_size_limit);
  } else {
    SpawnActions actions;
    actions.check(::posix_spawn_file_actions_addopen(actions.get(), 0, "/dev/null", O_RDONLY, 0),
                  "posix_spawn_file_actions_addopen");
    actions.check(::posix_spawn_file_actions_adddup2(actions.get(), out.write.get(), 1),
                  "posix_spawn_file_actions_adddup2");
    actions.check(::posix_spawn_file_actions_adddup2(actions.get(), err.write.get(), 2),
                  "posix_spawn_file_actions_adddup2");
    if (!options.cwd.empty()) {
      actions.check(::posix_spawn_file_actions_addchdir_np(actions.get(), options.cwd.c_str()),
                    "posix_spawn_file_actions_addchdir_np");
    }
    if (int rc =
            ::posix_spawn(&pid, c_args[0], actions.get(), nullptr, c_args.data(), c_vars.data());
        rc != 0) {
      throw_errno("posix_spawn " + argv[0], rc);
    }
  }
  out.write.reset();
  err.write.reset();

  ProcessResult result;
  const Clock::time_point deadline = started + timeout;
  std::optional<Clock::time_point> kill_at;
  if (options.kill_after) {
    kill_at = started + *options.kill_after;
  }
  bool kill_sent = false;
  auto kill_if_due = [&] {
    if (kill_at && !kill_sent && Clock::now() >= *kill_at) {
      ::kill(pid, SIGKILL);  // harmless on a child that already exited and is not yet reaped
      kill_sent = true;
    }
  };
  auto wake_up = [&] { return kill_at && !kill_sent ? std::min(deadline, *kill_at) : deadline; };

  std::array<Fd*, 2> fds{&out.read, &err.read};
  std::array<std::string*, 2> sinks{&result.out, &result.err};
  std::array<char, 64 * 1024> buffer{};
  while (out.read.get() >= 0 || err.read.get() >= 0) {
    std::array<pollfd, 2> polled{};
    for (size_t i = 0; i < 2; ++i) {
      polled[i] = {fds[i]->get(), POLLIN, 0};  // a negative fd is ignored by poll
    }
    const timespec wait = remaining(wake_up());
    int ready = ::ppoll(polled.data(), polled.size(), &wait, nullptr);
    if (ready < 0 && errno != EINTR) {
      throw_errno("ppoll", errno);
    }
    kill_if_due();
    if (ready == 0 && Clock::now() >= deadline) {
      result.timed_out = true;
      break;
    }
    if (ready <= 0) {
      continue;
    }
    for (size_t i = 0; i < 2; ++i) {
      if (polled[i].fd < 0 || polled[i].revents == 0) {
        continue;
      }
      ssize_t n = ::read(polled[i].fd, buffer.data(), buffer.size());
      if (n > 0) {
        sinks[i]->append(buffer.data(), static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i]->reset();
      }
    }
  }

  // Both pipes are closed; the child may still be running (or hung) until the deadline.
  int status = 0;
  for (;;) {
    if (!result.timed_out) {
      pid_t done = ::waitpid(pid, &status, WNOHANG);
      if (done == pid) {
        break;
      }
      if (done < 0 && errno != EINTR) {
        throw_errno("waitpid", errno);
      }
      kill_if_due();
      if (Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        continue;
      }
      result.timed_out = true;
    }
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    break;
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
    result.killed = kill_sent && !result.timed_out && result.signal == SIGKILL;
  }
  return result;
}

}  // namespace mbuild::e2e
