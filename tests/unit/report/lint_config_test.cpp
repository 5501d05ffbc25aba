// lint-config: each problem it reports, on hand-written configs (tests/data/lint/ and inline)
// and the real hand-written contracts of the corpus.
#include "mbuild/report/lint_config.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace mbuild;

namespace {

namespace fs = std::filesystem;

fs::path lint_data(const std::string& name) {
  return test::data_dir() / "lint" / name;
}

// An existing gap report, by absolute path.
std::string gap_report() {
  return lint_data("gaps/lm_head.md").string();
}

LintedConfig lint(const fs::path& file, const Catalog& catalog = builtin_catalog()) {
  return lint_config_file(file, catalog);
}

LintedConfig lint_text(const std::string& text, const std::string& file = "org_x.json") {
  return lint_config(file, text, builtin_catalog());
}

// The problems of `severity` about `entry` whose message contains `part`.
size_t found(const LintedConfig& r, LintSeverity severity, const std::string& entry,
             const std::string& part) {
  size_t n = 0;
  for (const LintProblem& p : r.problems) {
    if (p.severity == severity && p.entry == entry && p.message.find(part) != std::string::npos) {
      ++n;
    }
  }
  return n;
}

void print(const LintedConfig& r) {
  for (const LintProblem& p : r.problems) {
    UNSCOPED_INFO(p.entry << ": " << lint_severity_name(p.severity) << ": " << p.message);
  }
}

// A tiny exact config (vocab 8, hidden 4: embedding 8*4 = 32, norm 4) with `entries` after the
// embedding entry and the given total.
std::string tiny(const std::string& entries, uint64_t total, const std::string& extra = "") {
  return R"({"model_id": "org_x", "hidden_size": 4, "num_layers": 1, "vocab_size": 8,
             "total_params": )" +
         std::to_string(total) + R"(, "layer_types": [
    {"name": "embedding", "class": "EmbeddingLayer", "count": 1, "supported": true,
     "specs": {"vocab_size": 8, "hidden_size": 4, "parameter_count": 32}})" +
         entries + "]" + extra + "}";
}

}  // namespace

TEST_CASE("exact hand-written configs pass with nothing to say") {
  // org_tiny-llama: embedding 8*4 = 32; GQA 4*2*2 + 2*4*1*2 + 4*4 = 48; gated MLP 3*4*8 = 96;
  // 3 norms of 4; untied lm_head 8*4 = 32 (unsupported, report in lint/gaps/). 220 in all.
  // org_tiny-moe: embedding 32; 2 x sliding with bias 2*4*2*2 + 2*4*1*2 + (4 + 4 + 4) = 60;
  // 2 x MoE (E 2, Es 1, p 2, bias) 4*2 + 2 + 3 * (2*4*8 + 8 + 4) = 238; MLP p 3 3*4*8 = 96;
  // 5 norms with bias 8; MHA 4*4*4 = 64. 32 + 120 + 476 + 96 + 40 + 64 = 828.
  for (const char* name : {"good/org_tiny-llama.json", "good/org_tiny-moe.json"}) {
    const LintedConfig r = lint(lint_data(name));
    print(r);
    CHECK(r.passed());
    CHECK(r.problems.empty());
  }
}

TEST_CASE("a file that is not JSON is a lint error, not a failure") {
  const LintedConfig r = lint(lint_data("bad/not-json.json"));
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].entry.empty());
  CHECK(r.problems[0].message.find("not valid JSON") != std::string::npos);
  CHECK_FALSE(r.passed());
  CHECK(found(lint_text("[1, 2]"), LintSeverity::error, "", "not a JSON object") == 1);
}

TEST_CASE("model_id must be the file stem") {
  const LintedConfig r = lint(lint_data("bad/org_stem.json"));
  CHECK(found(r, LintSeverity::error, "", "model_id 'org_other' is not the file stem 'org_stem'") ==
        1);
  CHECK(found(lint_text(R"({"layer_types": [], "total_params": 0})"), LintSeverity::error, "",
              "model_id is missing") == 1);
}

TEST_CASE("entry names must be unique across both lists") {
  const LintedConfig r = lint_text(tiny("", 64, R"(, "unsupported_layer_types": [
    {"name": "embedding", "class": "OutputHeadLayer", "count": 1, "supported": false,
     "gap_report": ")" + gap_report() + R"(", "specs": {"parameter_count": 32}}])"));
  CHECK(found(r, LintSeverity::error, "embedding",
              "name used twice: layer_types[0] and unsupported_layer_types[0]") == 1);
  print(r);
  CHECK(r.count(LintSeverity::error) == 1);
}

TEST_CASE("an unsupported entry inline in layer_types is an error: the estimator resolves it") {
  const LintedConfig r = lint(lint_data("bad/org_inline.json"));
  print(r);
  CHECK(r.count(LintSeverity::error) == 1);
  CHECK(found(r, LintSeverity::error, "lm_head", "class OutputHeadLayer is not in the catalog") ==
        1);
  CHECK(found(r, LintSeverity::error, "lm_head", "move it to unsupported_layer_types") == 1);
}

TEST_CASE("a layer_types class the catalog lacks is an error") {
  const LintedConfig r = lint_text(tiny(R"(,
    {"name": "mla", "class": "MLALayer", "count": 1, "specs": {"parameter_count": 8}})",
                                        40));
  CHECK(found(r, LintSeverity::error, "mla", "class MLALayer is not in the catalog (built-in") ==
        1);
  CHECK(found(r, LintSeverity::note, "mla", "no \"supported\": assumed true") == 1);
}

TEST_CASE("constructor arguments: missing, wrong type, and what the constructor rejects") {
  const LintedConfig r = lint(lint_data("bad/org_wrong.json"));
  print(r);
  CHECK(found(r, LintSeverity::error, "attention_gqa",
              "GroupedQueryAttentionLayer: required argument 'num_kv_heads' is missing") == 1);
  CHECK(found(r, LintSeverity::error, "norm",
              "NormLayer: 'has_bias' must be true or false, not \"no\"") == 1);
  CHECK(found(r, LintSeverity::error, "mlp", "MLPLayer: num_projections must be 2 or 3") == 1);
  CHECK(found(r, LintSeverity::error, "moe", "MoELayer: top_k must not exceed num_experts") == 1);
}

TEST_CASE("parameter_count must equal the class formula, and both numbers are reported") {
  // GQA h 4, nh 2, nkv 1, d 2: 4*2*2 + 2*4*1*2 + 4*4 = 48; the file says 40.
  const LintedConfig r = lint(lint_data("bad/org_wrong.json"));
  CHECK(found(r, LintSeverity::error, "attention",
              "parameter_count 40 differs from the GroupedQueryAttentionLayer formula's 48 (by "
              "-8)") == 1);
}

TEST_CASE("the accounting invariant: the entries add up to total_params exactly") {
  // embedding 32 + norm 4 = 36.
  const std::string norm = R"(,
    {"name": "norm", "class": "NormLayer", "count": 1, "specs": {"hidden_size": 4,
     "parameter_count": 4}})";
  CHECK(found(lint_text(tiny(norm, 36)), LintSeverity::error, "", "Σ") == 0);
  CHECK(found(lint_text(tiny(norm, 35)), LintSeverity::error, "",
              "Σ count × parameter_count = 36 is 1 more than total_params = 35") == 1);
  CHECK(found(lint_text(tiny(norm, 100)), LintSeverity::error, "",
              "Σ count × parameter_count = 36 is 64 short of total_params = 100") == 1);
  CHECK(found(lint_text(tiny(norm, 1001)), LintSeverity::error, "", "lm_head") == 0);  // 965
}

TEST_CASE("a sum short by exactly an untied lm_head (and whole norms) says so") {
  const std::string norm = R"(,
    {"name": "norm", "class": "NormLayer", "count": 1, "specs": {"hidden_size": 4,
     "parameter_count": 4}})";
  // 36 + lm_head 8*4 = 68.
  CHECK(found(lint_text(tiny(norm, 68)), LintSeverity::error, "",
              "is 32 short of total_params = 68; exactly vocab_size × hidden_size (8 × 4): an "
              "untied lm_head left out") == 1);
  // org_hand-written: 48 + 96 + 4 + 32 = 180 of 220: 40 = 8*4 + 2*4.
  const LintedConfig hand = lint(lint_data("bad/org_hand-written.json"));
  CHECK(found(hand, LintSeverity::error, "", "an untied lm_head (and 2 norms) left out") == 1);
  // The corpus's hand-written Mistral-7B contract: 131,207,168 = 32000*4096 + 33*4096.
  const LintedConfig mistral =
      lint(test::corpus_dir() / "contracts" / "mistralai_Mistral-7B-v0.1.json");
  CHECK(found(mistral, LintSeverity::error, "",
              "is 131207168 short of total_params = 7241732096; exactly vocab_size × "
              "hidden_size (32000 × 4096) plus 33 × hidden_size: an untied lm_head (and 33 "
              "norms) left out") == 1);
}

TEST_CASE("gap reports of unsupported entries must exist beside the config or in its parent") {
  CHECK(found(lint(lint_data("bad/org_wrong.json")), LintSeverity::error, "mla",
              "gap report 'gaps/mla.md' not found") == 1);
  // lint/good/org_tiny-llama.json names gaps/lm_head.md, which is in lint/gaps/ (the parent).
  CHECK(lint(lint_data("good/org_tiny-llama.json")).passed());
  test::TempDir dir;
  dir.write("gaps/mla.md", "# mla\n");
  const std::string config = tiny("", 40, R"(, "unsupported_layer_types": [
    {"name": "mla", "class": "MLALayer", "count": 1, "gap_report": "gaps/mla.md",
     "specs": {"parameter_count": 8}}])");
  CHECK(lint_config(dir.write("org_x.json", config), config, builtin_catalog()).passed());
  const LintedConfig below =
      lint_config(dir.write("model_configs/org_x.json", config), config, builtin_catalog());
  print(below);
  CHECK(below.passed());
  const LintedConfig elsewhere =
      lint_config(dir.write("a/b/org_x.json", config), config, builtin_catalog());
  CHECK(found(elsewhere, LintSeverity::error, "mla", "not found") == 1);
}

TEST_CASE("notes: spec keys the constructor ignores, no parameter_count, no supported") {
  const LintedConfig r = lint(lint_data("bad/org_hand-written.json"));
  print(r);
  CHECK(found(r, LintSeverity::note, "attention",
              "spec keys GroupedQueryAttentionLayer does not take (the estimator ignores them): "
              "input_dim, output_dim") == 1);
  // Gated MLP h 4, I 8: 3*4*8 = 96.
  CHECK(found(r, LintSeverity::note, "feedforward",
              "no parameter_count: the estimator computes 96 from the GatedMLPLayer formula") == 1);
  CHECK(found(r, LintSeverity::note, "norm", "no \"supported\": assumed true") == 1);
  CHECK(r.count(LintSeverity::error) == 1);  // only the accounting
}

TEST_CASE("an unsupported entry without parameter_count leaves the accounting unchecked") {
  const LintedConfig r = lint_text(tiny("", 40,
                                        R"(, "unsupported_layer_types": [
    {"name": "mla", "class": "MLALayer", "count": 1, "gap_report": ")" +
                                            gap_report() + R"(",
     "specs": {}}])"));
  CHECK(found(r, LintSeverity::error, "mla", "no parameter_count, and no catalog formula") == 1);
  CHECK(found(r, LintSeverity::error, "", "Σ") == 0);
  print(r);
  CHECK(r.count(LintSeverity::error) == 1);
}

TEST_CASE("malformed entries are errors naming their place") {
  const LintedConfig r = lint_text(tiny(R"(, 3,
    {"class": "NormLayer", "count": -1, "supported": "yes", "specs": []})",
                                        32));
  CHECK(found(r, LintSeverity::error, "layer_types[1]", "not an object") == 1);
  CHECK(found(r, LintSeverity::error, "layer_types[2]", "has no \"name\" string") == 1);
  CHECK(found(r, LintSeverity::error, "layer_types[2]", "count must be a non-negative integer") ==
        1);
  CHECK(found(r, LintSeverity::error, "layer_types[2]", "supported must be true or false") == 1);
  CHECK(found(r, LintSeverity::error, "layer_types[2]", "specs must be an object") == 1);
  CHECK(found(lint_text(R"({"model_id": "org_x", "total_params": 0})"), LintSeverity::error, "",
              "layer_types is missing") == 1);
}

TEST_CASE("with a version-1 catalog, classes are known but not size-checked") {
  auto catalog = parse_catalog("old.json", R"({"schema_version": 1, "classes": [
      {"class": "EmbeddingLayer", "params": ["vocab_size", "hidden_size", "layer_idx"]}]})");
  REQUIRE(catalog);
  const LintedConfig r = lint_config("org_x.json", tiny("", 32), *catalog);
  print(r);
  CHECK(r.passed());
  CHECK(found(r, LintSeverity::note, "embedding",
              "the catalog (old.json) has no param_count formula for EmbeddingLayer") == 1);
}

TEST_CASE("a folder names its *.json files, sorted and not recursively") {
  test::TempDir dir;
  dir.write("b.json", "{}");
  dir.write("a.json", "{}");
  dir.write("notes.md", "");
  dir.write("sub/c.json", "{}");
  auto files = lint_config_files({dir.path().string(), lint_data("bad/org_stem.json").string()});
  REQUIRE(files);
  REQUIRE(files->size() == 3);
  CHECK((*files)[0].filename() == "a.json");
  CHECK((*files)[1].filename() == "b.json");
  CHECK((*files)[2].filename() == "org_stem.json");
  auto missing = lint_config_files({(dir.path() / "nope.json").string()});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::not_found);
  auto empty = lint_config_files(
      {(dir.path() / "sub" / "..").string(), dir.write("e/x.md", "").parent_path().string()});
  REQUIRE_FALSE(empty);
  CHECK(empty.error().kind == ErrorKind::not_found);
  CHECK(empty.error().why == "no *.json file in the folder");
}
