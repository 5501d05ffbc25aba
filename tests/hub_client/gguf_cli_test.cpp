// GGUF repos on the mock Hub through the real binary: org/name, org/name:TAG (also as
// hf.co/org/name:TAG), the exit codes and the one error line of a missing or absent pick, and a
// malformed header.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "e2e/fixtures.hpp"
#include "e2e/process.hpp"
#include "gguf_writer.hpp"
#include "hub/mock_hub.hpp"

using namespace mbuild::e2e;
using mbuild::test::GgufWriter;
using mbuild::test::MockHub;
using mbuild::test::RepoSpec;
namespace fs = std::filesystem;

namespace {

constexpr const char* k_token = "hf_valid_secret_token_1234567890";

struct GgufHub {
  MockHub mock;
  TempDir files;
  TempDir cache;

  // Serves `id` from GGUF files written for it, each at its full size.
  void serve(const std::string& id, const std::map<std::string, GgufWriter>& gguf) {
    RepoSpec spec;
    spec.id = id;
    spec.folder = files / id;
    fs::create_directories(spec.folder);
    for (const auto& [path, writer] : gguf) {
      const std::string header = writer.header();
      write_file(spec.folder / path, header);
      spec.sizes[path] = header.size() + writer.data_bytes();
    }
    mock.add_repo(spec);
  }
  ProcessEnvironment env() const {
    return base_environment()
        .unset("HF_HUB_OFFLINE")
        .set("HF_ENDPOINT", mock.endpoint())
        .set("HF_TOKEN", k_token)
        .set("MBUILD_CACHE", cache.path().string());
  }
  ProcessResult run(const std::vector<std::string>& args) const { return run_mbuild(args, env()); }
};

void check_one_error_line(const ProcessResult& run, int exit_code, std::string_view says) {
  INFO("stdout: " << run.out);
  INFO("stderr: " << run.err);
  REQUIRE_FALSE(run.timed_out);
  CHECK(run.exit_code == exit_code);
  CHECK(run.out.empty());
  const std::vector<std::string> lines = split_lines(run.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].starts_with("mbuild: error: "));
  CHECK(lines[0].find(says) != std::string::npos);
  CHECK(run.err.find(k_token) == std::string::npos);
}

uint64_t total_params(const ProcessResult& run) {
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  return nlohmann::json::parse(run.out)["params"]["total"].get<uint64_t>();
}

}  // namespace

TEST_CASE("inspect of a GGUF-only repo on the Hub reads its one quantization") {
  GgufHub hub;
  hub.serve("org/Llama-3-8B-GGUF",
            {{"Meta-Llama-3-8B-Instruct-Q4_K_M.gguf", mbuild::test::llama3_8b_q4_k_m()}});
  const ProcessResult run = hub.run({"inspect", "org/Llama-3-8B-GGUF", "--format", "json"});
  // meta-llama/Meta-Llama-3-8B model card: 8,030,261,248 parameters.
  CHECK(total_params(run) == 8'030'261'248ULL);
  const nlohmann::json doc = nlohmann::json::parse(run.out);
  CHECK(doc["model"]["source"] == "hub");
  CHECK(doc["files"][0]["name"] == "Meta-Llama-3-8B-Instruct-Q4_K_M.gguf");
  CHECK(doc["gguf"]["version"] == 3);
}

TEST_CASE("org/name:TAG picks a quantization on the Hub, and a missing pick is one error line") {
  GgufHub hub;
  const GgufWriter q4 = mbuild::test::llama3_8b_q4_k_m();
  hub.serve("org/Llama-3-8B-GGUF", {{"Meta-Llama-3-8B-Instruct-Q4_K_M.gguf", q4},
                                    {"Meta-Llama-3-8B-Instruct-Q8_0.gguf", q4},
                                    {"Meta-Llama-3-8B-Instruct-IQ2_XXS.gguf", q4}});
  const std::string sha = hub.mock.commit_of("org/Llama-3-8B-GGUF", "main");

  const std::vector<std::string> sources = {
      "org/Llama-3-8B-GGUF:Q8_0", "hf.co/org/Llama-3-8B-GGUF:q8_0",
      "org/Llama-3-8B-GGUF:Q8_0@" + sha, "org/Llama-3-8B-GGUF@" + sha + ":Q8_0"};
  for (const std::string& source : sources) {
    DYNAMIC_SECTION(source) {
      const ProcessResult run = hub.run({"inspect", source, "--format", "json"});
      CHECK(total_params(run) == 8'030'261'248ULL);
      const nlohmann::json doc = nlohmann::json::parse(run.out);
      CHECK(doc["files"][0]["name"] == "Meta-Llama-3-8B-Instruct-Q8_0.gguf");
      CHECK(doc["model"]["id"] == "org/Llama-3-8B-GGUF");
    }
  }
  SECTION("--file picks one as the tag does") {
    const ProcessResult run =
        hub.run({"inspect", "org/Llama-3-8B-GGUF", "--file", "IQ2_XXS", "--format", "json"});
    CHECK(total_params(run) == 8'030'261'248ULL);
    CHECK(nlohmann::json::parse(run.out)["files"][0]["name"] ==
          "Meta-Llama-3-8B-Instruct-IQ2_XXS.gguf");
  }
  SECTION("no tag: exit 2, the tags to pick from") {
    check_one_error_line(hub.run({"inspect", "org/Llama-3-8B-GGUF"}), 2,
                         "holds 3 GGUF quantizations: IQ2_XXS, Q4_K_M, Q8_0 (pick one as "
                         "org/Llama-3-8B-GGUF:IQ2_XXS or with --file)");
  }
  SECTION("a tag that matches nothing: exit 4, the tags to pick from") {
    check_one_error_line(hub.run({"inspect", "org/Llama-3-8B-GGUF:Q5_K_M"}), 4,
                         "org/Llama-3-8B-GGUF: no GGUF quantization matches 'Q5_K_M' (available: "
                         "IQ2_XXS, Q4_K_M, Q8_0)");
  }
  SECTION("a tag and --file together, or an empty tag: exit 2") {
    check_one_error_line(hub.run({"inspect", "org/Llama-3-8B-GGUF:Q8_0", "--file", "Q4_K_M"}), 2,
                         "names a quantization and so does --file");
    check_one_error_line(hub.run({"inspect", "org/Llama-3-8B-GGUF:"}), 2, "empty quantization tag");
  }
  SECTION("offline, the cache answers for the tag it holds and only for it") {
    REQUIRE(hub.run({"inspect", "org/Llama-3-8B-GGUF:Q8_0"}).exit_code == 0);
    hub.mock.clear_requests();
    const ProcessResult cached =
        hub.run({"inspect", "org/Llama-3-8B-GGUF:Q8_0", "--offline", "--format", "json"});
    CHECK(total_params(cached) == 8'030'261'248ULL);
    CHECK(hub.mock.request_count() == 0);
    check_one_error_line(hub.run({"inspect", "org/Llama-3-8B-GGUF:Q4_K_M", "--offline"}), 6,
                         "org/Llama-3-8B-GGUF");
  }
}

TEST_CASE("a malformed GGUF header on the Hub exits 3 naming the file") {
  GgufHub hub;
  GgufWriter bad;
  bad.str("general.architecture", "llama");
  bad.tensor_at("blk.0.attn_q.weight", {256, 256}, 99, 0);
  hub.serve("org/bad-GGUF", {{"bad-Q4_K_M.gguf", bad}});
  check_one_error_line(hub.run({"inspect", "org/bad-GGUF"}), 3,
                       "org/bad-GGUF/bad-Q4_K_M.gguf: tensor 'blk.0.attn_q.weight' has unknown "
                       "ggml type id 99");
}
