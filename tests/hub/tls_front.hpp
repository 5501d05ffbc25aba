// An HTTP/2 TLS front for the mock Hub: nghttpx (Debian's nghttp2-proxy) before the Hub server and
// another before the CDN server, with a certificate signed by a CA made for the test. What the
// Hub and its CDN look like on the wire: TLS, ALPN h2, ~100 streams per connection.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "mock_hub.hpp"

namespace mbuild::test {

// Makes a CA and a server certificate for 127.0.0.1 and 127.0.0.2 in `dir` with the openssl
// command: ca.pem (what a client trusts), server.key, server.pem. Throws std::runtime_error.
void make_test_ca(const std::filesystem::path& dir);

// One nghttpx process: TLS on host:port (port 0: a free one), forwarding to backend_origin over
// HTTP/1.1. Stopped (SIGTERM, then reaped) by the destructor. Throws std::runtime_error when
// nghttpx is missing or does not listen within a few seconds.
class TlsFront {
 public:
  TlsFront(const std::string& host, const std::string& backend_origin,
           const std::filesystem::path& cert_dir, int port = 0);
  ~TlsFront();
  TlsFront(const TlsFront&) = delete;
  TlsFront& operator=(const TlsFront&) = delete;

  // "https://host:port".
  std::string origin() const;

 private:
  std::string m_host;
  int m_port = 0;
  pid_t m_pid = -1;
};

// A free TCP port on `host` now (the kernel's pick; closed again before it is returned).
int free_port(const std::string& host);

}  // namespace mbuild::test
