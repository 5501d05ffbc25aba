// The named limits through the real binary: a crafted header-only checkpoint claiming 10^18
// parameters is refused with exit 3 and one line naming the file and the limit.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "e2e/fixtures.hpp"

using namespace mbuild::e2e;

TEST_CASE("a header-only checkpoint claiming 10^18 parameters is refused, not counted",
          "[bad-input]") {
  TempDir dir;
  write_file(dir / "config.json", tiny_llama_config().dump());
  // 10^9 x 10^9 one-byte elements, offsets matching: 10^18 bytes that a header-only replica
  // does not have to hold.
  const auto header =
      header_for({{"model.embed_tokens.weight", "U8", {1'000'000'000, 1'000'000'000}}});
  write_file(dir / "model.safetensors", safetensors_bytes(header.dump()));

  const ProcessResult run = run_mbuild({"inspect", dir.path().string(), "--format", "json"});
  INFO("stdout: " << run.out);
  INFO("stderr: " << run.err);
  REQUIRE_FALSE(run.timed_out);
  CHECK(run.exit_code == 3);
  CHECK(run.out.empty());
  const std::vector<std::string> lines = split_lines(run.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].starts_with("mbuild: error: "));
  CHECK(lines[0].find("model.safetensors") != std::string::npos);
  CHECK(lines[0].find("1000000000000000000 bytes") != std::string::npos);
  CHECK(lines[0].find("40000000000000 byte limit") != std::string::npos);
}
