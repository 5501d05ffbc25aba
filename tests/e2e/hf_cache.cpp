// Offline reads from a huggingface_hub cache laid out as the library lays it out:
// models--org--name/{refs/<branch>, blobs/<hash>, snapshots/<commit>/<file> -> ../../blobs/<hash>}.
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/fixtures.hpp"

namespace mbuild::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* k_main_commit = "0123456789abcdef0123456789abcdef01234567";
constexpr const char* k_pinned_commit = "fedcba9876543210fedcba9876543210fedcba98";
constexpr const char* k_llama70b = "meta-llama__Llama-3.3-70B-Instruct";
constexpr const char* k_gpt2 = "openai-community__gpt2";

// A 64-hex blob name standing in for the sha256 huggingface_hub uses (FNV-1a, 4 seeds).
std::string blob_name(std::string_view content) {
  std::string out;
  for (uint64_t seed = 0; seed < 4; ++seed) {
    uint64_t h = 14695981039346656037ULL ^ seed;
    for (char c : content) {
      h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    }
    static constexpr char k_hex[] = "0123456789abcdef";
    for (int shift = 60; shift >= 0; shift -= 4) {
      out += k_hex[(h >> shift) & 0xfU];
    }
  }
  return out;
}

// Adds snapshots/<commit>/ to `repo` holding every file of a corpus model (REPLICA.md aside),
// each a relative symlink to its blob.
void add_snapshot(const fs::path& repo, const std::string& commit, const std::string& model) {
  const fs::path snapshot = repo / "snapshots" / commit;
  fs::create_directories(snapshot);
  fs::create_directories(repo / "blobs");
  for (const auto& entry : fs::directory_iterator(corpus_model(model))) {
    const std::string name = entry.path().filename().string();
    if (name == "REPLICA.md") {
      continue;
    }
    const std::string content = read_file(entry.path());
    const std::string blob = blob_name(content);
    write_file(repo / "blobs" / blob, content);
    fs::create_symlink(fs::path("..") / ".." / "blobs" / blob, snapshot / name);
  }
}

// A cache holding models--org--name with refs/main -> k_main_commit (Llama-3.3-70B) and a second
// snapshot k_pinned_commit (GPT-2) that no ref names.
void make_cache(const fs::path& cache) {
  const fs::path repo = cache / "models--org--name";
  write_file(repo / "refs" / "main", k_main_commit);  // no newline, as huggingface_hub writes it
  add_snapshot(repo, k_main_commit, k_llama70b);
  add_snapshot(repo, k_pinned_commit, k_gpt2);
}

ProcessEnvironment cache_environment(const fs::path& cache) {
  return base_environment().set("HF_HUB_OFFLINE", "1").set("HF_HUB_CACHE", cache.string());
}

}  // namespace

TEST_CASE("offline, a Hub id is read from the HF cache snapshot refs/main names", "[hf-cache]") {
  TempDir cache;
  make_cache(cache.path());

  const ProcessResult run =
      run_mbuild({"inspect", "org/name", "--format", "json"}, cache_environment(cache.path()));
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  const json doc = json::parse(run.out);
  CHECK(doc.at("params").at("total").get<uint64_t>() == truth_total(k_llama70b));
  CHECK(doc.at("files").size() == 30);
  CHECK(doc.at("model").at("id") == "org/name");
}

TEST_CASE("offline, the HF cache result names the commit it read", "[hf-cache]") {
  TempDir cache;
  make_cache(cache.path());

  const ProcessResult run =
      run_mbuild({"inspect", "org/name", "--format", "json"}, cache_environment(cache.path()));
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  const json doc = json::parse(run.out);
  CHECK(doc.at("model").at("commit") == k_main_commit);
}

TEST_CASE("offline, org/name@<commit> goes straight to that snapshot", "[hf-cache]") {
  TempDir cache;
  make_cache(cache.path());
  const ProcessEnvironment env = cache_environment(cache.path());

  SECTION("@commit in the source") {
    const ProcessResult run = run_mbuild(
        {"inspect", std::string("org/name@") + k_pinned_commit, "--format", "json"}, env);
    INFO("stderr: " << run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(json::parse(run.out).at("params").at("total").get<uint64_t>() == truth_total(k_gpt2));
  }
  SECTION("--revision commit") {
    const ProcessResult run =
        run_mbuild({"inspect", "org/name", "--revision", k_pinned_commit, "--format", "json"}, env);
    INFO("stderr: " << run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(json::parse(run.out).at("params").at("total").get<uint64_t>() == truth_total(k_gpt2));
  }
  SECTION("@commit that is not in the cache") {
    const ProcessResult run = run_mbuild(
        {"inspect", "org/name@1111111111111111111111111111111111111111", "--format", "json"}, env);
    INFO("stderr: " << run.err);
    CHECK(run.exit_code == 6);
    CHECK(run.out.empty());
    CHECK(split_lines(run.err).size() == 1);
  }
}

TEST_CASE("offline, --offline works without HF_HUB_OFFLINE", "[hf-cache]") {
  TempDir cache;
  make_cache(cache.path());
  ProcessEnvironment env = cache_environment(cache.path());
  env.unset("HF_HUB_OFFLINE");

  const ProcessResult run =
      run_mbuild({"inspect", "org/name", "--offline", "--format", "json"}, env);
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(json::parse(run.out).at("params").at("total").get<uint64_t>() == truth_total(k_llama70b));
}

TEST_CASE("offline, the cache defaults to $HF_HOME/hub", "[hf-cache]") {
  TempDir home;
  make_cache(home / "hub");
  ProcessEnvironment env = base_environment();
  env.unset("HF_HUB_CACHE").set("HF_HOME", home.path().string());

  const ProcessResult run = run_mbuild({"inspect", "org/name", "--format", "json"}, env);
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(json::parse(run.out).at("params").at("total").get<uint64_t>() == truth_total(k_llama70b));
}

TEST_CASE("offline, a repo missing from the HF cache exits 6 with one clear line", "[hf-cache]") {
  TempDir cache;
  make_cache(cache.path());
  const ProcessEnvironment env = cache_environment(cache.path());

  for (const std::string& spec :
       {std::string("org/missing"), std::string("org/name@no-such-branch")}) {
    INFO("source " << spec);
    const ProcessResult run = run_mbuild({"inspect", spec, "--format", "json"}, env);
    INFO("stderr: " << run.err);
    CHECK(run.exit_code == 6);
    CHECK(run.out.empty());
    const std::vector<std::string> lines = split_lines(run.err);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].starts_with("mbuild: error: org/"));
    CHECK(lines[0].find("offline") != std::string::npos);
  }
}

}  // namespace mbuild::e2e
