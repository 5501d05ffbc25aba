// The binary behind an HTTP/2 TLS front with a private CA: the CA variables users already set for
// curl, Python's requests or OpenSSL are honoured, and an untrusted certificate is its own error.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "e2e/fixtures.hpp"
#include "e2e/process.hpp"
#include "hub/mock_hub.hpp"
#include "hub/tls_front.hpp"
#include "test_support.hpp"

using namespace mbuild::e2e;
using mbuild::test::MockHub;
using mbuild::test::MockHubOptions;
namespace fs = std::filesystem;

namespace {

// The mock Hub behind two nghttpx fronts (Hub and CDN), with a CA made for the test.
struct TlsHub {
  mbuild::test::TempDir temp;
  int cdn_port = mbuild::test::free_port("127.0.0.2");
  MockHub mock{[this] {
    MockHubOptions o;
    o.cdn_advertised_origin = fmt::format("https://127.0.0.2:{}", cdn_port);
    return o;
  }()};
  std::unique_ptr<mbuild::test::TlsFront> hub_front;
  std::unique_ptr<mbuild::test::TlsFront> cdn_front;

  TlsHub() {
    mbuild::test::make_test_ca(temp.path() / "ca");
    hub_front =
        std::make_unique<mbuild::test::TlsFront>("127.0.0.1", mock.endpoint(), temp.path() / "ca");
    cdn_front = std::make_unique<mbuild::test::TlsFront>("127.0.0.2", mock.cdn_origin(),
                                                         temp.path() / "ca", cdn_port);
    mock.add_repo(mbuild::test::corpus_repo(corpus_model("Qwen__Qwen2.5-7B-Instruct")));
  }

  ProcessEnvironment env() const {
    return base_environment()
        .unset("HF_HUB_OFFLINE")
        .unset("CURL_CA_BUNDLE")
        .unset("REQUESTS_CA_BUNDLE")
        .unset("SSL_CERT_FILE")
        .unset("SSL_CERT_DIR")
        .set("HF_ENDPOINT", hub_front->origin())
        .set("MBUILD_CACHE", (temp.path() / "cache").string())
        // Under the sanitizer binary, LeakSanitizer reports ~10 KB of OpenSSL state from the
        // TLS connections at exit (libcurl's global state is never torn down). Not checked
        // here until that is fixed; what these tests check is trust and the messages.
        .set("ASAN_OPTIONS", "detect_leaks=0");
  }
  std::string ca() const { return (temp.path() / "ca" / "ca.pem").string(); }
};

}  // namespace

TEST_CASE("each CA variable makes a private CA trusted, and HTTP/2 is used") {
  TlsHub hub;
  for (const char* var : {"CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"}) {
    INFO(var);
    fs::remove_all(hub.temp.path() / "cache");
    const ProcessResult r =
        run_mbuild({"inspect", "Qwen/Qwen2.5-7B-Instruct", "--format", "json", "--verbose"},
                   hub.env().set(var, hub.ca()));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    // Published: 7,615,616,512 (the Hub API's safetensors.total, truth.json).
    CHECK(nlohmann::json::parse(r.out)["params"]["total"] == 7615616512);
    CHECK_THAT(r.err, Catch::Contains("(HTTP/2)"));
  }
}

TEST_CASE("an untrusted certificate is one line naming the host and the CA variables") {
  TlsHub hub;
  const ProcessResult r = run_mbuild({"inspect", "Qwen/Qwen2.5-7B-Instruct"}, hub.env());
  CHECK(r.exit_code == 6);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK_THAT(r.err, Catch::Contains("TLS certificate not trusted"));
  CHECK_THAT(r.err, Catch::Contains(hub.hub_front->origin().substr(8)));
  CHECK_THAT(r.err, Catch::Contains("CURL_CA_BUNDLE"));
}

TEST_CASE("a CA variable naming no file is a usage error naming the variable") {
  TlsHub hub;
  const ProcessResult r = run_mbuild({"inspect", "Qwen/Qwen2.5-7B-Instruct"},
                                     hub.env().set("CURL_CA_BUNDLE", "/nonexistent/ca.pem"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("CURL_CA_BUNDLE"));
  CHECK_THAT(r.err, Catch::Contains("/nonexistent/ca.pem"));
}
