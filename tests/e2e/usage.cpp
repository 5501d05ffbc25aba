// Exit codes for usage errors and missing inputs, --help, and folders without safetensors.
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/fixtures.hpp"

namespace mbuild::e2e {
namespace {

const std::string k_gpt2 = "openai-community__gpt2";

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

std::vector<std::vector<std::string>> usage_errors() {
  const std::string gpt2 = corpus_model(k_gpt2).string();
  return {
      {"inspect", gpt2, "--no-such-flag"},
      {"inspect", gpt2, "--format", "xml"},
      {"inspect", gpt2, "--context", "abc"},
      {"inspect", gpt2, "--context", "0"},
      {"inspect", gpt2, "--context", "-5"},
      {"inspect", gpt2, "--batch", "1.5"},
      {"inspect", gpt2, "--jobs", "0"},
      {"inspect"},
      {},
      {"no-such-command"},
  };
}

std::string joined(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) {
    out += (out.empty() ? "" : " ") + a;
  }
  return out;
}

}  // namespace

TEST_CASE("usage errors exit 2 and print nothing on stdout", "[usage]") {
  const std::vector<std::string> args = GENERATE(from_range(usage_errors()));
  INFO("mbuild " << joined(args));
  const ProcessResult run = run_mbuild(args);
  INFO("stderr: " << run.err);
  CHECK(run.exit_code == 2);
  CHECK(run.out.empty());
  CHECK_FALSE(run.err.empty());
}

TEST_CASE("usage errors are one `mbuild: error:` line on stderr", "[usage]") {
  // DESIGN.md: every error is one line on stderr, `mbuild: error: <what>: <why>`.
  const std::vector<std::string> args = GENERATE(from_range(usage_errors()));
  INFO("mbuild " << joined(args));
  const ProcessResult run = run_mbuild(args);
  INFO("stderr: " << run.err);
  const std::vector<std::string> lines = split_lines(run.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].starts_with("mbuild: error: "));
}

TEST_CASE("inspect --format md is refused by inspect", "[usage]") {
  const ProcessResult run =
      run_mbuild({"inspect", corpus_model(k_gpt2).string(), "--format", "md"});
  CHECK(run.exit_code == 2);
  CHECK(run.out.empty());
  CHECK(run.err.starts_with("mbuild: error: "));
}

TEST_CASE("a missing local path exits 4 naming it", "[usage][not-found]") {
  TempDir cwd;
  for (const std::string& path : {std::string("./nope"), std::string("../nope/model"),
                                  (cwd / "nope").string(), std::string("nope.safetensors")}) {
    INFO("path " << path);
    const ProcessResult run = run_mbuild({"inspect", path}, base_environment(), cwd.path());
    INFO("stderr: " << run.err);
    CHECK(run.exit_code == 4);
    CHECK(run.out.empty());
    const std::vector<std::string> lines = split_lines(run.err);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].starts_with("mbuild: error: " + path + ": "));
  }
}

TEST_CASE("a folder with neither config.json nor safetensors exits 4 naming it once",
          "[usage][not-found]") {
  TempDir cwd;
  std::filesystem::create_directory(cwd / "empty-model");
  for (const std::string& path : {std::string("empty-model"), (cwd / "empty-model").string()}) {
    INFO("path " << path);
    const ProcessResult run = run_mbuild({"inspect", path}, base_environment(), cwd.path());
    INFO("stderr: " << run.err);
    CHECK(run.exit_code == 4);
    CHECK(run.out.empty());
    const std::vector<std::string> lines = split_lines(run.err);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].starts_with("mbuild: error: " + path + ": "));
    CHECK(count_of(lines[0], "empty-model") == 1);
  }
}

TEST_CASE("mbuild --help lists every exit code", "[usage][help]") {
  const std::vector<std::string> args =
      GENERATE(as<std::vector<std::string>>{}, std::vector<std::string>{"--help"},
               std::vector<std::string>{"inspect", "--help"});
  INFO("mbuild " << joined(args));
  const ProcessResult run = run_mbuild(args);
  CHECK(run.exit_code == 0);
  CHECK(run.err.empty());
  CHECK(run.out.find("Exit codes") != std::string::npos);
  for (const char* line : {"0  success", "1  validate", "2  usage error", "3  bad input",
                           "4  not found", "5  access denied", "6  network"}) {
    INFO("help line " << line);
    CHECK(run.out.find(line) != std::string::npos);
  }
}

TEST_CASE("mbuild --version prints the version and exits 0", "[usage][help]") {
  const ProcessResult run = run_mbuild({"--version"});
  CHECK(run.exit_code == 0);
  CHECK(run.out.starts_with("mbuild "));
}

TEST_CASE("a folder with only pytorch_model.bin exits 4 with a safetensors hint",
          "[usage][not-found]") {
  TempDir dir;
  write_file(dir / "config.json", read_file(corpus_model(k_gpt2) / "config.json"));
  write_file(dir / "pytorch_model.bin", std::string(4096, '\0'));

  // No weights, no report (README "Exit codes"): one error line, nothing on stdout, in both
  // formats, so a script never reads a report of a model mbuild could not count.
  for (const std::string format : {"text", "json"}) {
    const ProcessResult run = run_mbuild({"inspect", dir.path().string(), "--format", format});
    INFO(format << " stdout: " << run.out);
    INFO("stderr: " << run.err);
    CHECK(run.exit_code == 4);
    CHECK(run.out.empty());
    const std::vector<std::string> lines = split_lines(run.err);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].starts_with("mbuild: error: "));
    CHECK(lines[0].find("safetensors") != std::string::npos);
    CHECK(lines[0].find("pytorch_model.bin") != std::string::npos);
  }
}

TEST_CASE("validate on a folder with config.json and no weights is not a pass",
          "[usage][not-found]") {
  TempDir dir;
  write_file(dir / "config.json", read_file(corpus_model(k_gpt2) / "config.json"));
  const ProcessResult run = run_mbuild({"validate", dir.path().string()});
  INFO("stdout: " << run.out);
  CHECK(run.exit_code == 1);
  CHECK(run.out.find("FAIL: no check could run") != std::string::npos);
  CHECK(run.out.find("PASS") == std::string::npos);
  // The analytic count is still reported: GPT-2 small without its attention-mask buffers, the
  // published 124,439,808.
  CHECK(run.out.find("124,439,808") != std::string::npos);
}

TEST_CASE("a folder with only pytorch_model.bin and no config.json exits 4", "[usage][not-found]") {
  TempDir dir;
  write_file(dir / "pytorch_model.bin", std::string(4096, '\0'));
  const ProcessResult run = run_mbuild({"inspect", dir.path().string()});
  INFO("stderr: " << run.err);
  CHECK(run.exit_code == 4);
  CHECK(run.out.empty());
  REQUIRE(split_lines(run.err).size() == 1);
  CHECK(run.err.find("safetensors") != std::string::npos);
}

}  // namespace mbuild::e2e
