// mbuild validate run as CI runs it: exit 0 when every check passes, 1 when one fails, 2 for a
// bad flag, 3 for a malformed contract naming the field; text, markdown and JSON reports.
#include <functional>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/fixtures.hpp"

namespace mbuild::e2e {
namespace {

namespace fs = std::filesystem;

// Published: meta-llama/Llama-3.3-70B-Instruct holds 70,553,706,496 parameters.
constexpr uint64_t k_llama_70b = 70'553'706'496ULL;

std::string llama() {
  return corpus_model("meta-llama__Llama-3.3-70B-Instruct").string();
}

std::string hand_made_contract() {
  return (corpus_dir() / "contracts" / "meta-llama_Llama-3.3-70B-Instruct.json").string();
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The contract mbuild emits for Llama-3.3-70B, every tensor in one entry:
// 80 x 150,994,944 (attention) + 80 x 704,643,072 (SwiGLU) + 161 x 8,192 (norms)
// + 1,050,673,152 (embedding) + 1,050,673,152 (untied lm_head) = 70,553,706,496.
nlohmann::ordered_json emitted_contract() {
  return nlohmann::ordered_json::parse(R"({
  "schema_version": 1, "model_id": "meta-llama_Llama-3.3-70B-Instruct",
  "hf_model_id": "meta-llama/Llama-3.3-70B-Instruct", "name": "Llama-3.3-70B-Instruct",
  "hidden_size": 8192, "num_layers": 80, "vocab_size": 128256,
  "total_params": 70553706496, "total_params_formatted": "70.55B",
  "layer_types": [
    {"name": "attention", "class": "GroupedQueryAttentionLayer", "count": 80, "supported": true,
     "specs": {"layer_idx": 0, "hidden_size": 8192, "num_heads": 64, "num_kv_heads": 8,
               "head_dim": 128, "parameter_count": 150994944}},
    {"name": "mlp", "class": "GatedMLPLayer", "count": 80, "supported": true,
     "specs": {"layer_idx": 0, "hidden_size": 8192, "intermediate_size": 28672,
               "parameter_count": 704643072}},
    {"name": "norm", "class": "NormLayer", "count": 161, "supported": true,
     "specs": {"layer_idx": 0, "hidden_size": 8192, "has_bias": false, "parameter_count": 8192}},
    {"name": "embedding", "class": "EmbeddingLayer", "count": 1, "supported": true,
     "specs": {"vocab_size": 128256, "hidden_size": 8192, "parameter_count": 1050673152}},
    {"name": "lm_head", "class": "OutputProjection", "count": 1, "supported": false,
     "specs": {"vocab_size": 128256, "hidden_size": 8192, "parameter_count": 1050673152}}],
  "validated": true
})");
}

fs::path write_contract(const TempDir& dir, const nlohmann::ordered_json& contract) {
  fs::path p = dir / (contract.value("model_id", std::string("contract")) + ".json");
  write_file(p, contract.dump(2));
  return p;
}

}  // namespace

TEST_CASE(
    "validate against the hand-made Llama-3.3-70B contract reports 1.49 percent and exits 1") {
  ProcessResult r = run_mbuild({"validate", llama(), "--against", hand_made_contract()});
  CHECK(r.exit_code == 1);
  CHECK(r.err.empty());
  CHECK(has(r.out, "69,502,369,792"));
  CHECK(has(r.out, "70,553,706,496"));
  CHECK(has(r.out, "-1.49 %"));
  CHECK(has(r.out, "FAIL  contract          total_params"));
}

TEST_CASE("validate against the contract mbuild would emit exits 0") {
  TempDir dir;
  ProcessResult r = run_mbuild(
      {"validate", llama(), "--against", write_contract(dir, emitted_contract()).string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(has(r.out, "PASS"));
}

TEST_CASE("validate --expected-params passes at the published count and within tolerance") {
  // Published 70,553,706,496; 0.9 % above is 71,188,689,854.5; 1.1 % above 71,329,797,267.5.
  CHECK(run_mbuild({"validate", llama(), "--expected-params", std::to_string(k_llama_70b)})
            .exit_code == 0);
  CHECK(run_mbuild({"validate", llama(), "--expected-params", "70.55B"}).exit_code == 0);
  CHECK(run_mbuild({"validate", llama(), "--expected-params", "7.0e10"}).exit_code == 0);
  CHECK(run_mbuild({"validate", llama(), "--expected-params", "71188689854"}).exit_code == 0);
  ProcessResult off = run_mbuild({"validate", llama(), "--expected-params", "71329797268"});
  CHECK(off.exit_code == 1);
  CHECK(has(off.out, "+1.10 %"));
  CHECK(run_mbuild({"validate", llama(), "--expected-params", "71329797268", "--tolerance", "0.02"})
            .exit_code == 0);
}

TEST_CASE("validate --expected-layers off by one exits 1") {
  CHECK(run_mbuild({"validate", llama(), "--expected-layers", "80"}).exit_code == 0);
  ProcessResult r = run_mbuild({"validate", llama(), "--expected-layers", "81"});
  CHECK(r.exit_code == 1);
  CHECK(has(r.out, "expected 81 vs config.json 80"));
}

TEST_CASE("validate with an unparseable --expected-params is a usage error") {
  ProcessResult r = run_mbuild({"validate", llama(), "--expected-params", "seventy"});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(has(r.err, "mbuild: error: --expected-params: 'seventy'"));
  CHECK(split_lines(r.err).size() == 1);
  CHECK(run_mbuild({"validate", llama(), "--tolerance", "lots"}).exit_code == 2);
  CHECK(run_mbuild({"validate", llama(), "--format", "xml"}).exit_code == 2);
}

TEST_CASE("validate against a malformed contract exits 3 naming the field") {
  struct Case {
    std::string name;
    std::function<void(nlohmann::ordered_json&)> damage;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"missing field", [](auto& c) { c.erase("total_params"); }, "'total_params'"},
      {"wrong type", [](auto& c) { c["hidden_size"] = "8192"; }, "'hidden_size'"},
      {"wrong type in specs",
       [](auto& c) { c["layer_types"][1]["specs"]["intermediate_size"] = 1.5; },
       "'layer_types[1].specs.intermediate_size'"},
      {"inconsistent heads", [](auto& c) { c["layer_types"][0]["specs"]["num_kv_heads"] = 7; },
       "'layer_types[0].specs.num_kv_heads'"},
      {"missing class", [](auto& c) { c["layer_types"][2].erase("class"); },
       "'layer_types[2].class'"},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      TempDir dir;
      auto contract = emitted_contract();
      c.damage(contract);
      const fs::path path = write_contract(dir, contract);
      ProcessResult r = run_mbuild({"validate", llama(), "--against", path.string()});
      CHECK(r.exit_code == 3);
      CHECK(r.out.empty());
      CHECK(has(r.err, "mbuild: error: " + path.string() + ": "));
      CHECK(has(r.err, c.field));
      CHECK(split_lines(r.err).size() == 1);
    }
  }
}

TEST_CASE("validate against a contract file that does not exist exits 4") {
  TempDir dir;
  ProcessResult r = run_mbuild({"validate", llama(), "--against", (dir / "nope.json").string()});
  CHECK(r.exit_code == 4);
  CHECK(has(r.err, "nope.json"));
}

TEST_CASE("validate of a tiny model with a wrong kv-head count exits 1 naming the dimension") {
  TempDir dir;
  write_tiny_llama(dir.path());
  auto config = tiny_llama_config();
  CHECK(run_mbuild({"validate", dir.path().string(), "--expected-params",
                    std::to_string(tiny_llama_total())})
            .exit_code == 0);
  config["num_key_value_heads"] = 2;
  write_file(dir / "config.json", config.dump(2));
  ProcessResult r = run_mbuild({"validate", dir.path().string()});
  CHECK(r.exit_code == 1);
  CHECK(has(r.out, "FAIL  weights           num_kv_heads"));
}

TEST_CASE("validate --format md writes the validation report") {
  ProcessResult r = run_mbuild({"validate", llama(), "--against", hand_made_contract(),
                                "--expected-params", "70553706496", "--source",
                                "Llama 3.3 model card", "--format", "md", "--context", "4096"});
  CHECK(r.exit_code == 1);
  for (const char* s :
       {"# Validation report", "| status | group | check | detail |",
        "| field | contract | hf | status |", "**contract_only**", "**hf_only**",
        "| contract total_params", "-1.49 %", "## Config ↔ weights", "## Memory",
        "KV cache: 327,680 bytes/token", "## Architecture", "2πθ", "6·N·D", "## Sources"}) {
    INFO(s);
    CHECK(has(r.out, s));
  }
}

TEST_CASE("validate --format json is machine-readable") {
  ProcessResult r = run_mbuild({"validate", llama(), "--against", hand_made_contract(), "--format",
                                "json", "--batch", "2", "--context", "1024"});
  CHECK(r.exit_code == 1);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["passed"] == false);
  CHECK(j["params"]["computed"].get<uint64_t>() == k_llama_70b);
  CHECK(j["expected"][0]["expected"].get<uint64_t>() == 69'502'369'792ULL);
  CHECK(j["expected"][0]["status"] == "fail");
  size_t compared = 0, hf_only = 0;
  for (const auto& row : j["cross_validation"]) {
    if (row["source"] != "against") {
      continue;
    }
    const std::string status = row["status"];
    compared += status != "hf_only" && status != "contract_only" ? 1U : 0U;
    hf_only += status == "hf_only" ? 1U : 0U;
  }
  CHECK(compared >= 7);
  CHECK(hf_only > 0);
  CHECK(j["against"]["contract"] == hand_made_contract());
  // 327,680 bytes per token x 1,024 tokens x 2 sequences.
  CHECK(j["memory"]["kv_cache"]["bytes"].get<uint64_t>() == 327'680ULL * 1024 * 2);
}

TEST_CASE("validate against mbuild's own emitted config passes, the hand-made one fails") {
  const auto root = std::filesystem::path(MBUILD_TEST_DATA).parent_path().parent_path();
  const auto model = corpus_model("meta-llama__Llama-3.3-70B-Instruct").string();
  auto own =
      run_mbuild({"validate", model, "--against",
                  (root / "model_configs" / "meta-llama_Llama-3.3-70B-Instruct.json").string()});
  CHECK(own.exit_code == 0);
  // The estimator's hand-made config drops the untied lm_head and 81 norms:
  // 69,502,369,792 vs the published 70,553,706,496, i.e. -1.49 %.
  auto hand_made = run_mbuild(
      {"validate", model, "--against",
       (corpus_dir() / "contracts" / "meta-llama_Llama-3.3-70B-Instruct.json").string()});
  CHECK(hand_made.exit_code == 1);
  CHECK(hand_made.out.find("-1.49 %") != std::string::npos);
}

}  // namespace mbuild::e2e
