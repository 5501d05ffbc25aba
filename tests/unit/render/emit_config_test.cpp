// The emitted config: model_id rule, schema, accounting invariant, catalog, deterministic bytes,
// and layer patterns on the corpus and on hand-written headers.
#include "mbuild/render/emit_config.hpp"

#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "mbuild/analysis/cross_validate.hpp"
#include "mbuild/arch/catalog.hpp"
#include "mbuild/arch/contract.hpp"
#include "unit/analysis/layer_map_support.hpp"

using namespace mbuild;
using mbuild::test::corpus_model;
using mbuild::test::Mapped;
using mbuild::test::model_of;
using nlohmann::ordered_json;

namespace {

ordered_json emit(const Mapped& m, const Catalog& catalog = builtin_catalog(),
                  ConfigLayout layout = ConfigLayout::estimator) {
  const Analysis a = analyze(m.model, {.explain = true, .map_layers = true, .catalog = &catalog});
  return build_emitted_config(m.model, a, catalog, validation_for_emit(m.model, a), "gaps", layout);
}

// Σ count × parameter_count over both lists: the accounting invariant's left side.
uint64_t layer_sum(const ordered_json& doc) {
  uint64_t sum = 0;
  for (const char* list : {"layer_types", "unsupported_layer_types"}) {
    for (const auto& t : doc.value(list, ordered_json::array())) {
      sum += t["count"].get<uint64_t>() * t["specs"]["parameter_count"].get<uint64_t>();
    }
  }
  return sum;
}

}  // namespace

TEST_CASE("model_id is the Hub id with slashes as underscores, corpus folders org__name included") {
  ModelRef hub{"meta-llama/Llama-3.3-70B-Instruct", "main", "", "hub", ""};
  CHECK(emitted_model_id(hub) == "meta-llama_Llama-3.3-70B-Instruct");
  CHECK(emitted_hf_model_id(hub) == "meta-llama/Llama-3.3-70B-Instruct");
  ModelRef folder{"meta-llama__Llama-3.3-70B-Instruct", "", "", "local", "/x"};
  CHECK(emitted_model_id(folder) == "meta-llama_Llama-3.3-70B-Instruct");
  CHECK(emitted_hf_model_id(folder) == "meta-llama/Llama-3.3-70B-Instruct");
  ModelRef plain{"my model", "", "", "local", "/x"};
  CHECK(emitted_model_id(plain) == "my_model");
}

TEST_CASE("Llama-3.3-70B's config counts 70,553,706,496 params and every class is loadable") {
  Mapped m = corpus_model("meta-llama__Llama-3.3-70B-Instruct");
  const ordered_json doc = emit(m);
  CHECK(doc["schema_version"] == 2);
  CHECK(doc["model_id"] == "meta-llama_Llama-3.3-70B-Instruct");
  CHECK(doc["hf_model_id"] == "meta-llama/Llama-3.3-70B-Instruct");
  CHECK(doc["name"] == "Llama-3.3-70B-Instruct");
  CHECK(doc["hidden_size"] == 8192);
  CHECK(doc["num_layers"] == 80);
  CHECK(doc["vocab_size"] == 128256);
  CHECK(doc["total_params"] == 70553706496ULL);  // the published count (truth.json)
  CHECK(doc["total_params_formatted"] == "70.55B");
  CHECK(doc["layer_pattern"] == "full_attention ×80");
  CHECK(layer_sum(doc) == 70553706496ULL);
  // layer_types: only the catalog's classes, each exact under its formula; the untied lm_head
  // is the one unsupported entry.
  for (const auto& t : doc["layer_types"]) {
    const CatalogClass* cls = builtin_catalog().find(t["class"].get<std::string>());
    REQUIRE(cls);
    CHECK(t["supported"] == true);
    CHECK_FALSE(t.contains("gap_report"));
    CHECK(evaluate_param_count(*cls, t["specs"]) == t["specs"]["parameter_count"].get<int64_t>());
  }
  REQUIRE(doc["unsupported_layer_types"].size() == 1);
  const auto& head = doc["unsupported_layer_types"][0];
  CHECK(head["class"] == "OutputHeadLayer");
  CHECK(head["supported"] == false);
  CHECK(head["gap_report"] == "gaps/lm_head.md");
  CHECK(head["specs"]["parameter_count"] == 128256ULL * 8192);
  // The GQA entry as DESIGN.md shows it: layer_idx first, parameter_count last.
  const auto& attn = doc["layer_types"][1];
  CHECK(attn["specs"].dump() ==
        R"({"layer_idx":0,"hidden_size":8192,"num_heads":64,"num_kv_heads":8,"head_dim":128,)"
        R"("parameter_count":150994944})");
  // What validate --against compares, from config.json.
  const auto& c = doc["config"];
  CHECK(c["model_type"] == "llama");
  CHECK(c["num_heads"] == 64);
  CHECK(c["num_kv_heads"] == 8);
  CHECK(c["head_dim"] == 128);
  CHECK(c["intermediate_size"] == 28672);
  CHECK(c["rope_theta"] == 500000.0);
  CHECK(c["rope_scaling"]["rope_type"] == "llama3");
  CHECK(c["tie_word_embeddings"] == false);
  CHECK(c["torch_dtype"] == "bfloat16");
  // validate's checks all pass on the replica; the notes summarise them.
  CHECK(doc["validated"] == true);
  CHECK(doc["validation_notes"].get<std::string>().starts_with("passed "));
  CHECK(doc["validation_sources"].is_array());
}

TEST_CASE("the accounting invariant holds in the emitted config of every corpus model") {
  for (const auto& truth : test::truth()) {
    const std::string folder = truth["folder"];
    DYNAMIC_SECTION(folder) {
      const ordered_json doc = emit(corpus_model(folder));
      CHECK(doc["total_params"] == truth["total_params"].get<uint64_t>());
      CHECK(layer_sum(doc) == truth["total_params"].get<uint64_t>());
    }
  }
}

TEST_CASE("the rendered config is deterministic, two-space indented and ends with a newline") {
  Mapped a = corpus_model("Qwen__Qwen3-8B");
  Mapped b = corpus_model("Qwen__Qwen3-8B");
  const std::string first = render_emitted_config(emit(a));
  CHECK(first == render_emitted_config(emit(b)));
  CHECK(first.ends_with("}\n"));
  CHECK(first.starts_with("{\n  \"schema_version\": 2,\n  \"model_id\": \"Qwen_Qwen3-8B\""));
}

TEST_CASE("a catalog file replaces the built-in one and decides supported") {
  const auto catalog = parse_catalog("catalog.json", R"({"schema_version": 1, "classes": [
      {"class": "OutputHeadLayer", "params": ["hidden_size", "vocab_size", "layer_idx"]},
      {"class": "MLPLayer", "params": ["hidden_size", "intermediate_size", "num_projections"],
       "defaults": {"num_projections": 2}}]})");
  REQUIRE(catalog);
  CHECK(catalog->supports("OutputHeadLayer"));
  CHECK_FALSE(catalog->supports("NormLayer"));
  const ordered_json doc = emit(corpus_model("meta-llama__Llama-3.2-1B-Instruct"), *catalog);
  // Llama-3.2-1B ties its lm_head: no OutputHeadLayer, so nothing is loadable there; classes
  // the replacement catalog lacks keep their natural names, unsupported.
  CHECK(doc["layer_types"].empty());
  std::set<std::string> classes;
  for (const auto& t : doc["unsupported_layer_types"]) {
    CHECK(t["supported"] == false);
    classes.insert(t["class"].get<std::string>());
  }
  CHECK(classes == std::set<std::string>{"EmbeddingLayer", "GatedMLPLayer",
                                         "GroupedQueryAttentionLayer", "NormLayer"});
}

TEST_CASE("the inline layout writes one list with the unsupported entries among the others") {
  Mapped m = corpus_model("Qwen__Qwen2.5-7B-Instruct");
  const ordered_json two = emit(m);
  const ordered_json one = emit(m, builtin_catalog(), ConfigLayout::inline_list);
  CHECK_FALSE(one.contains("unsupported_layer_types"));
  CHECK(one["layer_types"].size() ==
        two["layer_types"].size() + two["unsupported_layer_types"].size());
  CHECK(layer_sum(one) == layer_sum(two));
  CHECK(layer_sum(one) == one["total_params"].get<uint64_t>());
  size_t unsupported = 0;
  for (const auto& t : one["layer_types"]) {
    unsupported += t["supported"] == false ? 1U : 0U;
  }
  CHECK(unsupported == two["unsupported_layer_types"].size());
}

TEST_CASE("Qwen2.5-7B: q/k/v biases without an o bias are split from a GQA entry") {
  // h 3584 = 28 heads · 128: GroupedQueryAttentionLayer is exact on the projections,
  // 3584·3584 + 2·3584·4·128 + 3584² = 29,360,128; no class has q/k/v biases without an o
  // bias, so 3584 + 2·512 = 4,608 per layer are an AttentionBiasLayer entry.
  const ordered_json doc = emit(corpus_model("Qwen__Qwen2.5-7B-Instruct"));
  const auto& attn = doc["layer_types"][1];
  CHECK(attn["class"] == "GroupedQueryAttentionLayer");
  CHECK(attn["count"] == 28);
  CHECK(attn["specs"]["parameter_count"] == 29360128);
  bool found = false;
  for (const auto& t : doc["unsupported_layer_types"]) {
    if (t["name"] == "attention_bias") {
      found = true;
      CHECK(t["class"] == "AttentionBiasLayer");
      CHECK(t["count"] == 28);
      CHECK(t["specs"]["parameter_count"] == 4608);
      CHECK(t["gap_report"] == "gaps/attention_bias.md");
    }
  }
  CHECK(found);
}

TEST_CASE("Qwen3-30B-A3B: 32 heads of 128 on a 2048-wide model take the sliding class, no window") {
  // GroupedQueryAttentionLayer assumes an h×h output (nh·d = 4096 ≠ 2048); the sliding class
  // with sliding_window null counts 2·h·nh·d + 2·h·nkv·d = 2·2048·4096 + 2·2048·512 =
  // 18,874,368 exactly.
  const ordered_json doc = emit(corpus_model("Qwen__Qwen3-30B-A3B"));
  const auto& attn = doc["layer_types"][1];
  CHECK(attn["class"] == "SlidingWindowAttentionLayer");
  CHECK(attn["specs"]["num_query_heads"] == 32);
  CHECK(attn["specs"]["num_kv_heads"] == 4);
  CHECK(attn["specs"]["sliding_window"].is_null());
  CHECK(attn["specs"]["has_bias"] == false);
  CHECK(attn["specs"]["parameter_count"] == 18874368);
  CHECK(doc["unsupported_layer_types"].size() == 1);  // the lm_head
}

TEST_CASE("DeepSeek-V2-Lite: the MoE entry holds its router and two shared experts, exactly") {
  // 64 routed experts of 1408, shared experts 2816 = 2 · 1408 wide: MoELayer with
  // num_shared_experts 2 and 3 projections counts 2048·64 + (64 + 2) · 3 · 2048 · 1408.
  const ordered_json doc = emit(corpus_model("deepseek-ai__DeepSeek-V2-Lite"));
  bool found = false;
  for (const auto& t : doc["layer_types"]) {
    if (t["name"] == "moe") {
      found = true;
      CHECK(t["class"] == "MoELayer");
      CHECK(t["count"] == 26);
      CHECK(t["specs"]["num_experts"] == 64);
      CHECK(t["specs"]["num_shared_experts"] == 2);
      CHECK(t["specs"]["top_k"] == 6);
      CHECK(t["specs"]["parameter_count"] == 2048ULL * 64 + 66ULL * 3 * 2048 * 1408);
    }
  }
  CHECK(found);
}

TEST_CASE("the built-in catalog has the estimator's eight classes and round-trips") {
  const Catalog& c = builtin_catalog();
  REQUIRE(c.classes.size() == 8);
  CHECK(c.find("SlidingWindowAttentionLayer")->params.size() == 8);
  CHECK(c.find("MLPLayer")->defaults["num_projections"] == 2);
  const auto again = parse_catalog("x", catalog_json(c).dump());
  REQUIRE(again);
  CHECK(catalog_json(*again) == catalog_json(c));
}

TEST_CASE("a malformed catalog is bad input naming the field") {
  auto not_json = parse_catalog("c.json", "{");
  REQUIRE_FALSE(not_json);
  CHECK(not_json.error().kind == ErrorKind::bad_input);
  auto no_classes = parse_catalog("c.json", R"({"schema_version": 1})");
  REQUIRE_FALSE(no_classes);
  CHECK(no_classes.error().why.find("classes") != std::string::npos);
  auto bad_params = parse_catalog("c.json", R"({"classes": [{"class": "X", "params": [1]}]})");
  REQUIRE_FALSE(bad_params);
  CHECK(bad_params.error().why.find("classes[0].params") != std::string::npos);
  auto missing = load_catalog("/nonexistent/catalog.json");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::not_found);
}

TEST_CASE("layer patterns of the corpus hybrids are written to the config") {
  CHECK(emit(corpus_model("Qwen__Qwen3-Next-80B-A3B-Thinking"))["layer_pattern"] ==
        "(linear_attention ×3, full_attention) ×12");
  CHECK(emit(corpus_model("google__gemma-2-9b"))["layer_pattern"] ==
        "(sliding_attention, full_attention) ×21");
  // 26 layers, every 6th global: 4 full periods, then 2 sliding layers.
  CHECK(emit(corpus_model("google__gemma-3-1b-it"))["layer_pattern"] ==
        "(sliding_attention ×5, full_attention) ×4, sliding_attention ×2");
  CHECK(emit(corpus_model("deepseek-ai__DeepSeek-V2-Lite"))["layer_pattern"] == "dense, moe ×26");
}

TEST_CASE(
    "gpt-oss style alternation gives separate sliding and full entries and an alternating "
    "pattern") {
  const std::string config = R"({"model_type": "gpt_oss", "hidden_size": 4,
    "num_hidden_layers": 4, "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 2,
    "sliding_window": 8, "vocab_size": 6, "layer_types": ["sliding_attention",
    "full_attention", "sliding_attention", "full_attention"]})";
  std::vector<test::TensorSpec> t;
  for (int l = 0; l < 4; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".self_attn.";
    t.push_back({p + "q_proj.weight", "F32", {4, 4}});
    t.push_back({p + "k_proj.weight", "F32", {2, 4}});
    t.push_back({p + "v_proj.weight", "F32", {2, 4}});
    t.push_back({p + "o_proj.weight", "F32", {4, 4}});
  }
  const ordered_json doc = emit(model_of(config, t));
  CHECK(doc["layer_pattern"] == "(sliding_attention, full_attention) ×2");
  REQUIRE(doc["layer_types"].size() == 2);
  CHECK(doc["layer_types"][0]["class"] == "SlidingWindowAttentionLayer");
  CHECK(doc["layer_types"][0]["count"] == 2);
  CHECK(doc["layer_types"][1]["class"] == "GroupedQueryAttentionLayer");
  CHECK(doc["layer_types"][1]["specs"]["layer_idx"] == 1);
}

TEST_CASE("Llama 4 interleaved MoE layers are separate dense and MoE entries") {
  // interleave_moe_layer_step 2: layers 1 and 3 are MoE (2 fused experts + a shared expert).
  const std::string config = R"({"model_type": "llama4_text", "hidden_size": 4,
    "num_hidden_layers": 4, "num_attention_heads": 2, "num_key_value_heads": 2,
    "intermediate_size": 2, "intermediate_size_mlp": 8, "num_local_experts": 2,
    "num_experts_per_tok": 1, "interleave_moe_layer_step": 2, "vocab_size": 6})";
  std::vector<test::TensorSpec> t;
  for (int l = 0; l < 4; ++l) {
    const std::string p = "language_model.model.layers." + std::to_string(l) + ".feed_forward.";
    if (l % 2 == 1) {
      t.push_back({p + "router.weight", "F32", {2, 4}});
      t.push_back({p + "experts.gate_up_proj", "F32", {2, 4, 4}});
      t.push_back({p + "experts.down_proj", "F32", {2, 2, 4}});
      t.push_back({p + "shared_expert.gate_proj.weight", "F32", {2, 4}});
      t.push_back({p + "shared_expert.up_proj.weight", "F32", {2, 4}});
      t.push_back({p + "shared_expert.down_proj.weight", "F32", {4, 2}});
    } else {
      t.push_back({p + "gate_proj.weight", "F32", {8, 4}});
      t.push_back({p + "up_proj.weight", "F32", {8, 4}});
      t.push_back({p + "down_proj.weight", "F32", {4, 8}});
    }
  }
  Mapped m = model_of(config, t);
  const ordered_json doc = emit(m);
  CHECK(doc["layer_pattern"] == "(dense, moe) ×2");
  const LayerEntry& moe = test::entry_named(m.map, "moe");
  CHECK(moe.count == 2);
  CHECK(moe.specs["num_experts"] == 2);
  CHECK(moe.specs["num_shared_experts"] == 1);
  // router 2·4 + experts 2·4·4 + 2·2·4 + shared 3·8
  CHECK(moe.parameter_count == 8 + 32 + 16 + 24);
  CHECK(test::entry_named(m.map, "mlp").count == 2);
  CHECK(test::entry_named(m.map, "mlp").specs["intermediate_size"] == 8);
  CHECK(doc["findings"].empty());
  CHECK(layer_sum(doc) == m.params.total);
}

TEST_CASE("Jamba periods: Mamba and attention layers and interleaved MoE stay apart") {
  // 16 layers: attention at 4 and 12 (period 8, offset 4), MoE on odd layers (period 2, offset 1).
  const std::string config = R"({"model_type": "jamba", "hidden_size": 4,
    "num_hidden_layers": 16, "num_attention_heads": 2, "num_key_value_heads": 1,
    "intermediate_size": 4, "num_experts": 2, "num_experts_per_tok": 1,
    "mamba_d_state": 2, "mamba_d_conv": 2, "mamba_expand": 2, "mamba_dt_rank": 1,
    "vocab_size": 6})";
  std::vector<test::TensorSpec> t;
  for (int l = 0; l < 16; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    t.push_back({p + "input_layernorm.weight", "F32", {4}});
    if (l % 8 == 4) {
      t.push_back({p + "self_attn.q_proj.weight", "F32", {4, 4}});
      t.push_back({p + "self_attn.k_proj.weight", "F32", {2, 4}});
      t.push_back({p + "self_attn.v_proj.weight", "F32", {2, 4}});
      t.push_back({p + "self_attn.o_proj.weight", "F32", {4, 4}});
    } else {
      // d_inner 8 = 2 · 4, d_state 2, dt_rank 1, kernel 2
      t.push_back({p + "mamba.in_proj.weight", "F32", {16, 4}});
      t.push_back({p + "mamba.conv1d.weight", "F32", {8, 1, 2}});
      t.push_back({p + "mamba.x_proj.weight", "F32", {5, 8}});
      t.push_back({p + "mamba.dt_proj.weight", "F32", {8, 1}});
      t.push_back({p + "mamba.A_log", "F32", {8, 2}});
      t.push_back({p + "mamba.D", "F32", {8}});
      t.push_back({p + "mamba.out_proj.weight", "F32", {4, 8}});
      t.push_back({p + "mamba.dt_layernorm.weight", "F32", {1}});
    }
    if (l % 2 == 1) {
      t.push_back({p + "feed_forward.router.weight", "F32", {2, 4}});
      for (int e = 0; e < 2; ++e) {
        const std::string x = p + "feed_forward.experts." + std::to_string(e) + ".";
        t.push_back({x + "gate_proj.weight", "F32", {4, 4}});
        t.push_back({x + "up_proj.weight", "F32", {4, 4}});
        t.push_back({x + "down_proj.weight", "F32", {4, 4}});
      }
    } else {
      t.push_back({p + "feed_forward.gate_proj.weight", "F32", {4, 4}});
      t.push_back({p + "feed_forward.up_proj.weight", "F32", {4, 4}});
      t.push_back({p + "feed_forward.down_proj.weight", "F32", {4, 4}});
    }
  }
  Mapped m = model_of(config, t);
  const ordered_json doc = emit(m);
  CHECK(doc["layer_pattern"] ==
        "(mamba+dense, mamba+moe, mamba+dense, mamba+moe, full_attention+dense, mamba+moe, "
        "mamba+dense, mamba+moe) ×2");
  const LayerEntry& mamba = test::entry_named(m.map, "mamba");
  CHECK(mamba.layer_class == "MambaMixerLayer");
  CHECK(mamba.count == 14);
  CHECK(mamba.specs["d_inner"] == 8);
  CHECK(mamba.specs["dt_rank"] == 1);
  CHECK(test::entry_named(m.map, "attention").count == 2);
  CHECK(test::entry_named(m.map, "moe").count == 8);
  CHECK(test::entry_named(m.map, "mlp").count == 8);
  CHECK(doc["findings"].empty());
  CHECK(layer_sum(doc) == m.params.total);
}

TEST_CASE("validate --against our own emitted config compares every field both sides state") {
  // Schema 2's `config` object carries what cross-validation compares; nothing that both
  // config.json and the emitted config state is left as hf_only.
  for (const char* folder : {"meta-llama__Llama-3.3-70B-Instruct", "Qwen__Qwen3-30B-A3B",
                             "TheBloke__Mistral-7B-Instruct-v0.1-AWQ"}) {
    DYNAMIC_SECTION(folder) {
      Mapped m = corpus_model(folder);
      const std::string text = render_emitted_config(emit(m));
      auto contract = parse_contract(emitted_model_id(m.model.ref) + ".json", text);
      REQUIRE(contract);
      const CrossValidation cv = cross_validate(*contract, *m.model.config);
      std::set<std::string> compared;
      for (const CrossValidationEntry& e : cv.entries) {
        INFO(e.field << ": " << e.contract << " vs " << e.hf);
        if (e.compared()) {
          CHECK(e.status == FieldStatus::match);
          compared.insert(e.field);
        }
      }
      for (const char* f : {"model_type", "architectures", "num_heads", "num_kv_heads", "head_dim",
                            "vocab_size", "max_position_embeddings", "rope_theta", "norm_eps",
                            "tie_word_embeddings", "torch_dtype"}) {
        INFO(f);
        CHECK(compared.count(f) == 1);
      }
      for (const std::string& h : cv.listed(FieldStatus::hf_only)) {
        INFO(h);
        for (const char* f : {"rope_scaling", "torch_dtype", "quantization_config", "num_heads",
                              "head_dim", "intermediate_size", "rope_theta"}) {
          CHECK_FALSE(h.starts_with(std::string(f) + "="));
        }
      }
      for (const std::string& c : cv.listed(FieldStatus::contract_only)) {
        INFO(c);
        CHECK(c.starts_with("num_shared_experts="));  // a count config.json leaves out (0)
      }
      auto checks = check_contract(*contract);
      for (const ContractCheck& c : checks) {
        INFO(c.name << ": " << c.detail);
        CHECK(c.status != ContractCheckStatus::fail);
      }
    }
  }
}
