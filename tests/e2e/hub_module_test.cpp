// The binary does not link libcurl: the Hub source lives in mbuild-hub.so beside it, loaded only
// for a Hub id. A local source works without the module; a Hub id without it fails cleanly.
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/fixtures.hpp"

namespace mbuild::e2e {
namespace {

namespace fs = std::filesystem;

// A copy of the binary alone in a fresh folder: no mbuild-hub.so beside it.
fs::path lone_binary(const TempDir& dir) {
  const fs::path copy = dir / "mbuild";
  fs::copy_file(binary(), copy);
  return copy;
}

ProcessResult run(const fs::path& program, const std::vector<std::string>& args,
                  const ProcessEnvironment& env) {
  std::vector<std::string> argv{program.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, env, std::chrono::seconds(60));
}

}  // namespace

TEST_CASE("the mbuild binary does not link libcurl", "[hub-module]") {
  // What ldd prints: the dynamic loader lists the libraries it would load, and stops.
  ProcessEnvironment env = base_environment();
  env.set("LD_TRACE_LOADED_OBJECTS", "1");
  const ProcessResult r = run(binary(), {"--version"}, env);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("libc.so") != std::string::npos);  // the listing is there
  CHECK(r.out.find("libcurl") == std::string::npos);
  CHECK(r.out.find("libssl") == std::string::npos);
}

TEST_CASE("without the Hub module a local folder is inspected exactly", "[hub-module]") {
  TempDir dir;
  const ProcessResult r =
      run(lone_binary(dir),
          {"inspect", corpus_model("openai-community__gpt2").string(), "--format", "json"},
          base_environment());
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(nlohmann::json::parse(r.out).at("params").at("total").get<uint64_t>() ==
        truth_total("openai-community__gpt2"));
}

TEST_CASE("without the Hub module a Hub id fails with exit 6 naming the module", "[hub-module]") {
  TempDir dir;
  ProcessEnvironment env = base_environment();
  env.set("HF_HUB_OFFLINE", "0");
  const ProcessResult r = run(lone_binary(dir), {"inspect", "org/model"}, env);
  CHECK(r.exit_code == 6);
  CHECK(r.out.empty());
  CHECK(split_lines(r.err).size() == 1);
  CHECK(r.err.find((dir / "mbuild-hub.so").string()) != std::string::npos);
  CHECK(r.err.find("cannot load the Hub module") != std::string::npos);

  SECTION("offline, the HF cache still answers without the module") {
    env.set("HF_HUB_OFFLINE", "1");
    const ProcessResult offline = run(dir / "mbuild", {"inspect", "org/model"}, env);
    CHECK(offline.exit_code == 6);
    CHECK(offline.err.find("not in the HF cache") != std::string::npos);
  }
}

TEST_CASE("a damaged Hub module is refused with exit 6, not a crash", "[hub-module]") {
  TempDir dir;
  const fs::path program = lone_binary(dir);
  write_file(dir / "mbuild-hub.so", "not a shared object\n");
  ProcessEnvironment env = base_environment();
  env.set("HF_HUB_OFFLINE", "0");
  const ProcessResult r = run(program, {"inspect", "org/model"}, env);
  CHECK(r.exit_code == 6);
  CHECK(r.signal == 0);
  CHECK(split_lines(r.err).size() == 1);
  CHECK(r.err.find("mbuild-hub.so") != std::string::npos);
}

}  // namespace mbuild::e2e
