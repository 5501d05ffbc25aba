// `mbuild lint-config` run as a CI script would: exact configs pass, broken ones are listed one
// line per problem, and the exit codes.
#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/fixtures.hpp"

namespace mbuild::e2e {
namespace {

using nlohmann::json;

std::filesystem::path lint_data(const std::string& name) {
  return std::filesystem::path(MBUILD_TEST_DATA) / "lint" / name;
}

ProcessResult lint(std::vector<std::string> args) {
  args.insert(args.begin(), "lint-config");
  return run_mbuild(args);
}

}  // namespace

TEST_CASE("lint-config passes exact hand-written configs with exit 0", "[lint]") {
  const ProcessResult r = lint({lint_data("good").string()});
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out == "2 files linted: 0 with errors; 0 errors, 0 notes\n");
}

TEST_CASE("lint-config lists each problem on a line naming file and entry, exit 1", "[lint]") {
  const ProcessResult r = lint({lint_data("bad").string()});
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.empty());
  const std::string wrong = lint_data("bad/org_wrong.json").string();
  const auto lines = split_lines(r.out);
  CHECK(std::count(lines.begin(), lines.end(),
                   wrong + ": mlp: error: MLPLayer: num_projections must be 2 or 3") == 1);
  CHECK(std::count(lines.begin(), lines.end(),
                   lint_data("bad/not-json.json").string() + ": error: not valid JSON (byte 42)") ==
        1);
  CHECK(lines.back() == "5 files linted: 5 with errors; 12 errors, 6 notes");
  CHECK(lines.size() == 12 + 6 + 1);  // a line per problem, then the summary
}

TEST_CASE("lint-config --format json gives an object per file with its problems", "[lint]") {
  const ProcessResult r =
      lint({lint_data("bad/org_inline.json").string(),
            lint_data("good/org_tiny-llama.json").string(), "--format", "json"});
  CHECK(r.exit_code == 1);
  const json doc = json::parse(r.out);
  CHECK(doc["passed"] == false);
  CHECK(doc["errors"] == 1);
  REQUIRE(doc["files"].size() == 2);
  const json& inline_file = doc["files"][0];
  CHECK(inline_file["file"] == lint_data("bad/org_inline.json").string());
  CHECK(inline_file["passed"] == false);
  REQUIRE(inline_file["problems"].size() == 1);
  CHECK(inline_file["problems"][0]["severity"] == "error");
  CHECK(inline_file["problems"][0]["entry"] == "lm_head");
  CHECK(doc["files"][1]["passed"] == true);
  CHECK(doc["files"][1]["problems"].empty());
}

TEST_CASE("lint-config exit codes: missing path 4, bad flag 2, bad catalog 3", "[lint]") {
  TempDir dir;
  const ProcessResult missing = lint({(dir / "none.json").string()});
  CHECK(missing.exit_code == 4);
  CHECK(missing.out.empty());
  CHECK(split_lines(missing.err).size() == 1);
  CHECK(missing.err.starts_with("mbuild: error: "));
  CHECK(lint({dir.path().string()}).exit_code == 4);  // a folder with no *.json
  CHECK(lint({lint_data("good").string(), "--format", "md"}).exit_code == 2);
  CHECK(lint({}).exit_code == 2);
  write_file(dir / "bad.json", "{\"classes\": 3}");
  CHECK(lint({lint_data("good").string(), "--catalog", (dir / "bad.json").string()}).exit_code ==
        3);
  CHECK(lint({lint_data("good").string(), "--catalog", (dir / "no.json").string()}).exit_code == 4);
}

TEST_CASE("lint-config --catalog replaces the catalog the configs are checked against", "[lint]") {
  TempDir dir;
  // A version-2 catalog that has the output head: the inline lm_head entry is then fine.
  write_file(dir / "catalog.json", R"json({"schema_version": 2, "classes": [
      {"class": "EmbeddingLayer", "params": ["vocab_size", "hidden_size"],
       "param_count": "vocab_size * hidden_size"},
      {"class": "GroupedQueryAttentionLayer",
       "params": ["hidden_size", "num_heads", "num_kv_heads", "head_dim", "layer_idx"],
       "defaults": {"layer_idx": 0},
       "param_count": "hidden_size * num_heads * head_dim + 2 * hidden_size * num_kv_heads * head_dim + hidden_size * hidden_size"},
      {"class": "GatedMLPLayer", "params": ["hidden_size", "intermediate_size", "layer_idx"],
       "param_count": "3 * hidden_size * intermediate_size"},
      {"class": "NormLayer", "params": ["hidden_size", "has_bias", "layer_idx"],
       "defaults": {"has_bias": false}, "kinds": {"has_bias": "bool"},
       "param_count": "(has_bias ? 2 : 1) * hidden_size"},
      {"class": "OutputHeadLayer", "params": ["hidden_size", "vocab_size"],
       "param_count": "hidden_size * vocab_size"}]})json");
  const ProcessResult r = lint(
      {lint_data("bad/org_inline.json").string(), "--catalog", (dir / "catalog.json").string()});
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("lm_head: note: marked \"supported\": false, but the catalog has class "
                   "OutputHeadLayer") != std::string::npos);
}

}  // namespace mbuild::e2e
