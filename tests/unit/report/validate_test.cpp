// validate_model: expected values, contracts, config <-> weights, files, memory and the report.
#include "mbuild/report/validate.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "mbuild/render/render_validation.hpp"
#include "mbuild/source/local_source.hpp"
#include "test_support.hpp"

using namespace mbuild;

namespace {

// Published: meta-llama/Llama-3.3-70B-Instruct holds 70,553,706,496 parameters (Hub API
// safetensors.total; tests/data/corpus/truth.json).
constexpr uint64_t k_llama_70b = 70'553'706'496ULL;

Model folder_model(const std::filesystem::path& folder) {
  LocalFolderSource source(folder);
  auto snapshot = source.snapshot();
  REQUIRE(snapshot);
  auto built = build_model(std::move(*snapshot));
  if (!built) {
    FAIL("model rejected: " << built.error().message());
  }
  return std::move(*built);
}

const Model& llama_70b() {
  static const Model m = folder_model(test::corpus_dir() / "meta-llama__Llama-3.3-70B-Instruct");
  return m;
}

Model config_only(const std::string& config) {
  Model m;
  auto cfg = parse_model_config("config.json", config);
  REQUIRE(cfg);
  m.config = std::move(*cfg);
  return m;
}

const ValidationCheck* find_check(const ValidationReport& r, std::string_view group,
                                  std::string_view name) {
  for (const ValidationCheck& c : r.checks) {
    if (c.group == group && c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

CheckStatus status_of(const ValidationReport& r, std::string_view group, std::string_view name) {
  const ValidationCheck* c = find_check(r, group, name);
  if (!c) {
    FAIL("no check " << group << " / " << name);
  }
  return c->status;
}

ValidationReport with_expected(uint64_t expected) {
  ValidateOptions o;
  o.expected_params = expected;
  return validate_model(llama_70b(), o);
}

// A tiny Llama by hand: vocab 8, hidden 4, 2 heads of dim 2, 1 kv head, ffn 8, one layer.
std::vector<test::TensorSpec> tiny_tensors(bool lm_head = true) {
  std::vector<test::TensorSpec> t = {
      {"model.embed_tokens.weight", "F32", {8, 4}},
      {"model.layers.0.input_layernorm.weight", "F32", {4}},
      {"model.layers.0.self_attn.q_proj.weight", "F32", {4, 4}},
      {"model.layers.0.self_attn.k_proj.weight", "F32", {2, 4}},
      {"model.layers.0.self_attn.v_proj.weight", "F32", {2, 4}},
      {"model.layers.0.self_attn.o_proj.weight", "F32", {4, 4}},
      {"model.layers.0.post_attention_layernorm.weight", "F32", {4}},
      {"model.layers.0.mlp.gate_proj.weight", "F32", {8, 4}},
      {"model.layers.0.mlp.up_proj.weight", "F32", {8, 4}},
      {"model.layers.0.mlp.down_proj.weight", "F32", {4, 8}},
      {"model.norm.weight", "F32", {4}},
  };
  if (lm_head) {
    t.push_back({"lm_head.weight", "F32", {8, 4}});
  }
  return t;
}

std::string tiny_config(const std::string& overrides = "") {
  return R"({"model_type":"llama","hidden_size":4,"num_attention_heads":2,)"
         R"("num_key_value_heads":1,"intermediate_size":8,"vocab_size":8,)"
         R"("max_position_embeddings":16,"torch_dtype":"float32",)" +
         overrides + R"("num_hidden_layers":1})";
}

Model tiny_model(const test::TempDir& dir, const std::string& config,
                 const std::vector<test::TensorSpec>& tensors) {
  dir.write("config.json", config);
  dir.write("model.safetensors", test::safetensors_bytes(test::header_json(tensors)));
  return folder_model(dir.path());
}

// A contract in mbuild's emitted shape for Llama-3.3-70B, every tensor in one entry:
//   attention  q 8192x8192 + k 1024x8192 + v 1024x8192 + o 8192x8192 = 150,994,944 (x80)
//   mlp        3 x 28672 x 8192 = 704,643,072 (x80)
//   norms      8,192 (x161: two per layer and the final norm)
//   embedding  128256 x 8192 = 1,050,673,152; lm_head the same, untied.
//   80 x 150,994,944 + 80 x 704,643,072 + 161 x 8,192 + 2 x 1,050,673,152 = 70,553,706,496.
std::string emitted_llama_contract() {
  return R"({
  "schema_version": 1, "model_id": "meta-llama_Llama-3.3-70B-Instruct",
  "hf_model_id": "meta-llama/Llama-3.3-70B-Instruct", "name": "Llama-3.3-70B-Instruct",
  "hidden_size": 8192, "num_layers": 80, "vocab_size": 128256,
  "max_position_embeddings": 131072, "rope_theta": 500000.0, "norm_eps": 1e-05,
  "tie_word_embeddings": false,
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
     "gap_report": "gaps/lm_head.md",
     "specs": {"vocab_size": 128256, "hidden_size": 8192, "parameter_count": 1050673152}}],
  "validated": true, "validation_notes": "", "validation_sources": []
})";
}

}  // namespace

TEST_CASE("expected params at exactly the published count pass") {
  ValidationReport r = with_expected(k_llama_70b);
  CHECK(r.computed_params == k_llama_70b);
  CHECK(r.params_from_headers);
  CHECK(status_of(r, "expected", "total params") == CheckStatus::pass);
  REQUIRE(r.expectations.size() == 1);
  CHECK(r.expectations[0].difference_percent == 0.0);
  CHECK(r.passed());
}

TEST_CASE("expected params 0.9 percent off pass at the default tolerance") {
  // 70,553,706,496 x 1.009 = 71,188,689,854.5; x 0.991 = 69,918,723,137.5
  for (uint64_t expected : {71'188'689'854ULL, 69'918'723'138ULL}) {
    ValidationReport r = with_expected(expected);
    CHECK(status_of(r, "expected", "total params") == CheckStatus::pass);
    CHECK(std::fabs(r.expectations[0].difference_percent) == Approx(0.9).epsilon(0.001));
  }
}

TEST_CASE("expected params 1.1 percent off fail at the default tolerance") {
  // 70,553,706,496 x 1.011 = 71,329,797,267.5; x 0.989 = 69,777,615,724.5
  for (uint64_t expected : {71'329'797'268ULL, 69'777'615'724ULL}) {
    ValidationReport r = with_expected(expected);
    CHECK(status_of(r, "expected", "total params") == CheckStatus::fail);
    CHECK(std::fabs(r.expectations[0].difference_percent) == Approx(1.1).epsilon(0.001));
    CHECK_FALSE(r.passed());
  }
}

TEST_CASE("a wider tolerance lets 1.1 percent pass") {
  ValidateOptions o;
  o.expected_params = 71'329'797'268ULL;
  o.tolerance = 0.02;
  CHECK(validate_model(llama_70b(), o).passed());
}

TEST_CASE("expected layers off by one fail") {
  for (uint64_t layers : {79ULL, 81ULL}) {
    ValidateOptions o;
    o.expected_layers = layers;
    ValidationReport r = validate_model(llama_70b(), o);
    CHECK(status_of(r, "expected", "num_layers") == CheckStatus::fail);
    CHECK_FALSE(r.passed());
  }
  ValidateOptions o;
  o.expected_layers = 80;
  CHECK(status_of(validate_model(llama_70b(), o), "expected", "num_layers") == CheckStatus::pass);
}

TEST_CASE("the hand-made Llama-3.3-70B contract fails on total_params by 1.49 percent") {
  auto contract =
      load_contract(test::corpus_dir() / "contracts" / "meta-llama_Llama-3.3-70B-Instruct.json");
  REQUIRE(contract);
  ValidateOptions o;
  o.contract = std::move(*contract);
  ValidationReport r = validate_model(llama_70b(), o);
  CHECK_FALSE(r.passed());
  CHECK(status_of(r, "contract", "total_params") == CheckStatus::fail);
  const ParamExpectation& e = r.expectations.at(0);
  CHECK(e.expected == 69'502'369'792ULL);
  CHECK(e.computed == k_llama_70b);
  // (69,502,369,792 - 70,553,706,496) / 70,553,706,496 = -1,051,336,704 / 70,553,706,496
  CHECK(e.difference_percent == Approx(-1.4901).epsilon(0.0001));
  // Its fields agree with config.json: only the total is wrong.
  CHECK(status_of(r, "cross-validation", "contract ↔ config.json") == CheckStatus::pass);
  CHECK(status_of(r, "contract", "accounting") == CheckStatus::pass);
  REQUIRE(r.cross);
  CHECK(r.cross->count(FieldStatus::mismatch) == 0);
  const std::string text = render_validation_text(r);
  CHECK(text.find("69,502,369,792") != std::string::npos);
  CHECK(text.find("70,553,706,496") != std::string::npos);
  CHECK(text.find("-1.49 %") != std::string::npos);
}

TEST_CASE("a contract emitted from the computed model passes every check") {
  auto contract =
      parse_contract("meta-llama_Llama-3.3-70B-Instruct.json", emitted_llama_contract());
  REQUIRE(contract);
  ValidateOptions o;
  o.contract = std::move(*contract);
  ValidationReport r = validate_model(llama_70b(), o);
  for (const ValidationCheck& c : r.checks) {
    INFO(c.group << " / " << c.name << ": " << c.detail);
    CHECK(c.status != CheckStatus::fail);
  }
  CHECK(r.passed());
  CHECK(r.expectations.at(0).difference_percent == 0.0);
  REQUIRE(r.cross);
  CHECK(r.cross->count(FieldStatus::match) >= 10);
  CHECK(validation_summary(r).starts_with("passed"));
}

TEST_CASE("a contract with a wrong dimension fails cross-validation") {
  std::string text = emitted_llama_contract();
  text.replace(text.find(R"("num_kv_heads": 8)"), 17, R"("num_kv_heads": 16)");
  auto contract = parse_contract("meta-llama_Llama-3.3-70B-Instruct.json", text);
  REQUIRE(contract);
  ValidateOptions o;
  o.contract = std::move(*contract);
  ValidationReport r = validate_model(llama_70b(), o);
  CHECK(status_of(r, "cross-validation", "contract ↔ config.json") == CheckStatus::fail);
  CHECK_FALSE(r.passed());
  CHECK(validation_summary(r).starts_with("FAILED 1 of"));
}

TEST_CASE("every dimension the Llama-3.3-70B tensors reveal agrees with its config") {
  ValidationReport r = validate_model(llama_70b(), {});
  CHECK(r.passed());
  for (const char* field :
       {"hidden_size", "vocab_size", "num_layers", "num_heads", "num_kv_heads", "intermediate_size",
        "tie_word_embeddings", "index ↔ shards", "offsets ↔ file sizes"}) {
    INFO(field);
    CHECK(status_of(r, "weights", field) == CheckStatus::pass);
  }
}

TEST_CASE("every corpus model passes its own checks") {
  for (const auto& entry : test::truth()) {
    const std::string folder = entry["folder"];
    DYNAMIC_SECTION(folder) {
      ValidateOptions o;
      o.expected_params = entry["total_params"].get<uint64_t>();
      ValidationReport r = validate_model(folder_model(test::corpus_dir() / folder), o);
      for (const ValidationCheck& c : r.checks) {
        INFO(c.group << " / " << c.name << ": " << c.detail);
        CHECK(c.status != CheckStatus::fail);
      }
    }
  }
}

TEST_CASE("config and weights that disagree fail naming the dimension") {
  test::TempDir dir;
  // config says 2 kv heads and 2 layers; the tensors hold 1 kv head (k_proj 2 rows / head_dim 2)
  // and layer 0 only.
  Model m = tiny_model(dir,
                       R"({"model_type":"llama","hidden_size":4,"num_attention_heads":2,
    "num_key_value_heads":2,"intermediate_size":8,"vocab_size":8,"num_hidden_layers":2})",
                       tiny_tensors());
  ValidationReport r = validate_model(m, {});
  CHECK(status_of(r, "weights", "num_kv_heads") == CheckStatus::fail);
  CHECK(status_of(r, "weights", "num_layers") == CheckStatus::fail);
  CHECK(status_of(r, "weights", "num_heads") == CheckStatus::pass);
  CHECK(status_of(r, "weights", "hidden_size") == CheckStatus::pass);
  CHECK_FALSE(r.passed());
}

TEST_CASE("a wrong intermediate or vocab size fails") {
  test::TempDir dir;
  Model m = tiny_model(dir,
                       R"({"model_type":"llama","hidden_size":4,"num_attention_heads":2,
    "num_key_value_heads":1,"intermediate_size":16,"vocab_size":9,"num_hidden_layers":1})",
                       tiny_tensors());
  ValidationReport r = validate_model(m, {});
  CHECK(status_of(r, "weights", "intermediate_size") == CheckStatus::fail);
  CHECK(status_of(r, "weights", "vocab_size") == CheckStatus::fail);
}

TEST_CASE("tie_word_embeddings must agree with the presence of lm_head") {
  test::TempDir a, b, c;
  CHECK(status_of(validate_model(tiny_model(a, tiny_config(), tiny_tensors(true)), {}), "weights",
                  "tie_word_embeddings") == CheckStatus::pass);
  CHECK(status_of(validate_model(tiny_model(b, tiny_config(), tiny_tensors(false)), {}), "weights",
                  "tie_word_embeddings") == CheckStatus::fail);
  // Tied, but a head as large as the embedding is stored (Falcon's uploads): a copy or a head
  // of its own, which headers cannot tell apart: reported, neither pass nor fail.
  CHECK(status_of(validate_model(tiny_model(c, tiny_config(R"("tie_word_embeddings":true,)"),
                                            tiny_tensors(true)),
                                 {}),
                  "weights", "tie_word_embeddings") == CheckStatus::info);
}

TEST_CASE("Falcon-7B: the tied head its checkpoint stores is reported, and it validates") {
  LocalFolderSource source(test::data_dir() / "synthetic" / "tiiuae__falcon-7b");
  auto snapshot = source.snapshot();
  REQUIRE(snapshot);
  auto model = build_model(std::move(*snapshot));
  REQUIRE(model);
  std::vector<FamilyContract> families = builtin_family_contracts();
  ValidateOptions o;
  o.families = &families;
  const ValidationReport r = validate_model(*model, o);
  CHECK(status_of(r, "weights", "tie_word_embeddings") == CheckStatus::info);
  REQUIRE(r.family);
  CHECK(r.family->family == "falcon");
  CHECK(r.family->compliant);
  CHECK(r.passed());
}

TEST_CASE("a file longer than its header describes fails offsets against file sizes") {
  test::TempDir dir;
  dir.write("config.json", tiny_config());
  std::string bytes = test::safetensors_bytes(test::header_json(tiny_tensors()));
  // The data region of every tensor, then 16 stray bytes.
  bytes += std::string(4 * (32 + 4 + 16 + 8 + 8 + 16 + 4 + 32 + 32 + 32 + 4 + 32) + 16, '\0');
  dir.write("model.safetensors", bytes);
  ValidationReport r = validate_model(folder_model(dir.path()), {});
  CHECK(status_of(r, "weights", "offsets ↔ file sizes") == CheckStatus::fail);
  CHECK(find_check(r, "weights", "offsets ↔ file sizes")->detail.find("16 bytes after") !=
        std::string::npos);
}

TEST_CASE("an index that lists a tensor no shard holds fails index against shards") {
  test::TempDir dir;
  dir.write("config.json", tiny_config());
  const auto tensors = tiny_tensors();
  dir.write("model-00001-of-00001.safetensors",
            test::safetensors_bytes(test::header_json(tensors)));
  nlohmann::json map = nlohmann::json::object();
  for (const auto& t : tensors) {
    map[t.name] = "model-00001-of-00001.safetensors";
  }
  map["model.layers.0.ghost.weight"] = "model-00001-of-00001.safetensors";
  dir.write("model.safetensors.index.json",
            nlohmann::json{{"metadata", nlohmann::json::object()}, {"weight_map", map}}.dump());
  ValidationReport r = validate_model(folder_model(dir.path()), {});
  CHECK(status_of(r, "weights", "index ↔ shards") == CheckStatus::fail);
  CHECK(find_check(r, "weights", "index ↔ shards")->detail.find("ghost") != std::string::npos);
}

TEST_CASE("the report carries the KV cache at the asked context and batch") {
  ValidateOptions o;
  o.context = 8192;
  o.batch = 2;
  ValidationReport r = validate_model(llama_70b(), o);
  REQUIRE(r.kv);
  // Same shape as Llama-3.1-70B: 80 x 2 x 8 x 128 x 2 bytes = 327,680 per token.
  CHECK(r.kv->bytes_per_token == 327'680);
  CHECK(r.kv->bytes == 327'680ULL * 8192 * 2);
  CHECK(r.stored_bytes == 2 * k_llama_70b);  // bf16
  REQUIRE(r.formats.size() == 10);
}

TEST_CASE("the report of DeepSeek-V3 from its config alone has the MLA cache of 70,272 bytes") {
  // deepseek-ai/DeepSeek-V3 config.json, the fields that size the cache. Published:
  // 61 layers x (kv_lora_rank 512 + qk_rope_head_dim 64) x 2 bytes = 70,272 per token.
  Model m = config_only(R"({"model_type":"deepseek_v3","hidden_size":7168,
    "num_attention_heads":128,"num_key_value_heads":128,"num_hidden_layers":61,
    "kv_lora_rank":512,"q_lora_rank":1536,"qk_nope_head_dim":128,"qk_rope_head_dim":64,
    "v_head_dim":128,"max_position_embeddings":163840,"n_routed_experts":256,
    "num_experts_per_tok":8,"first_k_dense_replace":3,"moe_layer_freq":1,"vocab_size":129280,
    "intermediate_size":18432,"moe_intermediate_size":2048,"n_shared_experts":1,
    "torch_dtype":"bfloat16"})");
  ValidateOptions o;
  o.context = 4096;
  ValidationReport r = validate_model(m, o);
  REQUIRE(r.kv);
  CHECK(r.kv->bytes_per_token == 70'272);
  CHECK(r.kv->mla_layers == 61);
  CHECK(r.kv->bytes == 70'272ULL * 4096);
  REQUIRE(r.explanation);
  CHECK(r.explanation->attention.kind == "MLA");
  CHECK_FALSE(r.params_from_headers);
}

TEST_CASE("the report of a sliding-window model caps its sliding layers") {
  // google/gemma-2-9b: 21 sliding (window 4096) + 21 full layers, 8,192 bytes per layer-token.
  ValidateOptions o;
  o.context = 8192;
  ValidationReport r = validate_model(folder_model(test::corpus_dir() / "google__gemma-2-9b"), o);
  REQUIRE(r.kv);
  CHECK(r.kv->bytes_per_token == 42 * 8'192);
  CHECK(r.kv->bytes == 21ULL * 8'192 * 8'192 + 21ULL * 8'192 * 4'096);
}

TEST_CASE("the report of a hybrid model keeps the recurrent state apart") {
  // Qwen/Qwen3-Next-80B-A3B: 12 full-attention layers (24,576 bytes per token) and 36 gated
  // delta-net layers holding 39,518,208 bytes of state per sequence (see memory_test).
  ValidateOptions o;
  o.context = 1024;
  o.batch = 3;
  ValidationReport r =
      validate_model(folder_model(test::corpus_dir() / "Qwen__Qwen3-Next-80B-A3B-Thinking"), o);
  REQUIRE(r.kv);
  CHECK(r.kv->bytes_per_token == 24'576);
  CHECK(r.kv->bytes == 24'576ULL * 1024 * 3);
  CHECK(r.kv->state_bytes_per_sequence == 39'518'208);
  CHECK(r.kv->state_bytes == 3 * 39'518'208ULL);
  const std::string md = render_validation_md(r);
  CHECK(md.find("Recurrent state") != std::string::npos);
}

TEST_CASE("validation sources name the Hub commit and the --source text") {
  Model m = llama_70b();
  m.ref.source = "hub";
  m.ref.location = "http://127.0.0.1:8080";  // the endpoint the model was read from
  m.ref.id = "meta-llama/Llama-3.3-70B-Instruct";
  m.ref.commit = "6f6073b423013f6a7d4d9f39144961bfbfbc386b";
  ValidateOptions o;
  o.source_text = "https://ai.meta.com/blog/meta-llama-3-3/";
  ValidationReport r = validate_model(m, o);
  REQUIRE(r.sources.size() == 2);
  CHECK(r.sources[0] ==
        "http://127.0.0.1:8080/meta-llama/Llama-3.3-70B-Instruct/tree/"
        "6f6073b423013f6a7d4d9f39144961bfbfbc386b");
  CHECK(r.sources[1] == o.source_text);
}

TEST_CASE("parameter counts parse as integers, suffixed decimals and exponents") {
  CHECK(parse_param_count("70553706496") == 70'553'706'496ULL);
  CHECK(parse_param_count("70,553,706,496") == 70'553'706'496ULL);
  CHECK(parse_param_count("70.55B") == 70'550'000'000ULL);
  CHECK(parse_param_count("70.55b") == 70'550'000'000ULL);
  CHECK(parse_param_count("7.0e10") == 70'000'000'000ULL);
  CHECK(parse_param_count("1.5T") == 1'500'000'000'000ULL);
  CHECK(parse_param_count("350M") == 350'000'000ULL);
  CHECK(parse_param_count("6.7K") == 6'700ULL);
  CHECK(parse_param_count("124439808") == 124'439'808ULL);
}

TEST_CASE("unparseable parameter counts are usage errors") {
  for (const char* bad : {"", "seventy", "-5", "12Q", "inf", "nan", "1e400", "B", "0x10", "1.2.3",
                          "99999999999999999999"}) {
    INFO(bad);
    auto n = parse_param_count(bad);
    REQUIRE_FALSE(n);
    CHECK(n.error().kind == ErrorKind::usage);
    CHECK(n.error().what == "--expected-params");
  }
}

TEST_CASE("the markdown report has every section") {
  auto contract =
      load_contract(test::corpus_dir() / "contracts" / "meta-llama_Llama-3.3-70B-Instruct.json");
  REQUIRE(contract);
  ValidateOptions o;
  o.contract = std::move(*contract);
  o.expected_params = k_llama_70b;
  const std::string md = render_validation_md(validate_model(llama_70b(), o));
  for (const char* s : {"# Validation report",
                        "## Checks",
                        "| status | group | check | detail |",
                        "## Expected vs computed parameters",
                        "| contract total_params",
                        "-1.49 %",
                        "## Cross-validation against",
                        "| field | contract | hf | status |",
                        "| num_kv_heads | 8 | 8 | match |",
                        "**contract_only**",
                        "**hf_only**",
                        "`rope_scaling=",
                        "## Config ↔ weights",
                        "## Memory",
                        "| BF16 | 16 |",
                        "KV cache: 327,680 bytes/token",
                        "## Architecture",
                        "**attention**: GQA",
                        "87.5 % saved",
                        "**ffn**: SwiGLU",
                        "3.50 x hidden",
                        "**norm**: RMSNorm, eps 1e-05",
                        "2πθ ≈ 3,141,593 tokens",
                        "20·N",
                        "6·N·D",
                        "**weights**"}) {
    INFO(s);
    CHECK(md.find(s) != std::string::npos);
  }
}

TEST_CASE("the JSON report is parseable and keeps integers") {
  ValidateOptions o;
  o.expected_params = k_llama_70b;
  auto j = nlohmann::json::parse(render_validation_json(validate_model(llama_70b(), o)));
  CHECK(j["passed"] == true);
  CHECK(j["params"]["computed"].get<uint64_t>() == k_llama_70b);
  CHECK(j["expected"][0]["expected"].get<uint64_t>() == k_llama_70b);
  CHECK(j["memory"]["kv_cache"]["bytes_per_token"].get<uint64_t>() == 327'680);
  CHECK(j["architecture"]["attention"]["kind"] == "GQA");
  CHECK(j["cross_validation"] == nlohmann::json::array());  // no contract: no rows
  CHECK(j["against"].is_null());
}
