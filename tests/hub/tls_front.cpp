#include "tls_front.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

extern char** environ;

namespace mbuild::test {
namespace fs = std::filesystem;

namespace {

void run(const std::string& command) {
  if (std::system((command + " >/dev/null 2>&1").c_str()) != 0) {
    throw std::runtime_error("test CA: failed: " + command);
  }
}

bool accepts(const std::string& host, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

void make_test_ca(const fs::path& dir) {
  fs::create_directories(dir);
  const std::string d = dir.string();
  // EC keys: made in milliseconds where RSA takes a second.
  run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
      " -subj /CN=mbuild-test-ca -addext basicConstraints=critical,CA:TRUE"
      " -addext keyUsage=critical,keyCertSign,cRLSign -keyout " +
      d + "/ca.key -out " + d + "/ca.pem");
  run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1"
      " -keyout " +
      d + "/server.key -out " + d + "/server.csr");
  {
    std::ofstream ext(dir / "server.ext");
    ext << "subjectAltName=IP:127.0.0.1,IP:127.0.0.2\n"
           "basicConstraints=CA:FALSE\n"
           "keyUsage=digitalSignature\n"
           "extendedKeyUsage=serverAuth\n";
  }
  run("openssl x509 -req -days 2 -in " + d + "/server.csr -CA " + d + "/ca.pem -CAkey " + d +
      "/ca.key -CAcreateserial -extfile " + d + "/server.ext -out " + d + "/server.pem");
}

int free_port(const std::string& host) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = 0;
  inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) {
      ::close(fd);
    }
    throw std::runtime_error("no free port on " + host);
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

TlsFront::TlsFront(const std::string& host, const std::string& backend_origin,
                   const fs::path& cert_dir, int port)
    : m_host(host), m_port(port > 0 ? port : free_port(host)) {
  // backend_origin is "http://h:p": nghttpx wants "h,p".
  std::string backend = backend_origin.substr(backend_origin.find("://") + 3);
  backend.replace(backend.rfind(':'), 1, ",");
  std::vector<std::string> args = {
      "nghttpx",
      "--conf=/dev/null",  // Debian's default config adds a listener on port 3000
      "--frontend=" + host + "," + std::to_string(m_port),
      "--backend=" + backend + ";;proto=http/1.1",
      "--workers=1",
      "--no-ocsp",
      "--errorlog-file=/dev/null",
      "--log-level=WARN",
      "--backend-keep-alive-timeout=30s",
      "--backend-connections-per-host=128",  // the front is not the bottleneck
      (cert_dir / "server.key").string(),
      (cert_dir / "server.pem").string()};
  std::vector<char*> argv;
  for (std::string& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  // Its start-up notice goes to stderr before any option is read: not into the test's output.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  const int spawned = posix_spawnp(&m_pid, "nghttpx", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    throw std::runtime_error("cannot start nghttpx (Debian package nghttp2-proxy)");
  }
  for (int i = 0; i < 100; ++i) {
    if (accepts(host, m_port)) {
      return;
    }
    int status = 0;
    if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      throw std::runtime_error("nghttpx exited at start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(m_pid, SIGTERM);  // the destructor does not run for a constructor that throws
  waitpid(m_pid, nullptr, 0);
  throw std::runtime_error("nghttpx does not listen");
}

TlsFront::~TlsFront() {
  if (m_pid > 0) {
    ::kill(m_pid, SIGTERM);
    int status = 0;
    waitpid(m_pid, &status, 0);
  }
}

std::string TlsFront::origin() const {
  return "https://" + m_host + ":" + std::to_string(m_port);
}

}  // namespace mbuild::test
