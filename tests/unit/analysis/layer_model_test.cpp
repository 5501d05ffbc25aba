// The layer model: per-layer mixer and feed-forward read off the tensors, config.json
// cross-checked, and the pattern, KV cache and active figures that derive from it.
#include "mbuild/analysis/analysis.hpp"

#include <cmath>
#include <string>

#include <catch2/catch.hpp>

#include "mbuild/report/layer_checks.hpp"
#include "mbuild/report/validate.hpp"
#include "mbuild/source/local_source.hpp"
#include "test_support.hpp"

using namespace mbuild;

namespace {

const std::string k_nemotron = "synthetic/nvidia__NVIDIA-Nemotron-3-Nano-30B-A3B";
const std::string k_nemotron_pattern = "MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME";

Snapshot snapshot_of(const std::string& folder) {
  LocalFolderSource source(test::data_dir() / folder);
  auto snapshot = source.snapshot();
  REQUIRE(snapshot);
  return std::move(*snapshot);
}

// The folder's model, with config.json edited by `edit` first.
template <typename Edit>
Model model_of(const std::string& folder, Edit edit) {
  Snapshot snap = snapshot_of(folder);
  REQUIRE(snap.config_json);
  nlohmann::json config = nlohmann::json::parse(*snap.config_json);
  edit(config);
  snap.config_json = config.dump();
  auto model = build_model(std::move(snap));
  REQUIRE(model);
  return std::move(*model);
}

Model model_of(const std::string& folder) {
  return model_of(folder, [](nlohmann::json&) {});
}

// config.json alone, as a repo without weights gives it.
Model config_only(const std::string& folder) {
  Snapshot snap = snapshot_of(folder);
  REQUIRE(snap.config_json);
  auto config = parse_model_config("config.json", *snap.config_json);
  REQUIRE(config);
  Model model;
  model.config = std::move(*config);
  return model;
}

bool has_finding(const Analysis& a, const std::string& where, const std::string& text) {
  for (const Finding& f : a.findings) {
    if (f.where == where && f.text.find(text) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// A count in the units a publisher quotes it in, rounded: 3.61B is in_units(n, 0.01e9) == 361.
double in_units(uint64_t n, double unit) {
  return std::round(static_cast<double>(n) / unit);
}

}  // namespace

// nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B: 52 blocks per hybrid_override_pattern, 23 Mamba-2,
// 23 MoE, 6 attention. Published total: llama.cpp's n_params 31,577,940,288 for the GGUF of
// this model (llama-bench and llama-server metadata quoted in public code). By hand:
//   embeddings + lm_head 2 x 131,072 x 2,688 = 704,643,072; norm_f 2,688;
//   Mamba-2 block: in_proj (4,096 + 6,144 + 64) x 2,688 = 27,697,152, conv1d 6,144 x 4 + 6,144,
//     dt_bias/A_log/D 3 x 64, gated norm 4,096, out_proj 2,688 x 4,096 = 11,010,048, block
//     norm 2,688 -> 38,744,896 x 23 = 891,132,608 (inner 64 heads x 64; conv 4,096 + 2 x 8 x 128);
//   attention block: q/o 2 x 4,096 x 2,688 + k/v 2 x 256 x 2,688 + norm 2,688 = 23,399,040 x 6
//     = 140,394,240;
//   MoE block: 128 experts x 2 x 1,856 x 2,688 = 1,277,165,568, shared 2 x 3,712 x 2,688 =
//     19,955,712, router 128 x 2,688 + 128 bias, norm 2,688 -> 1,297,468,160 x 23 =
//     29,841,767,680.
//   Total 31,577,940,288.
TEST_CASE("Nemotron-H: pattern, KV and total from the tensors, equal to the config's") {
  const Analysis a = analyze(model_of(k_nemotron), {.context = 4096});
  CHECK(a.total == 31'577'940'288ULL);
  REQUIRE(a.analytic.count);
  CHECK(a.analytic.count->total == 31'577'940'288ULL);
  CHECK(a.layers.from_tensors);
  CHECK(a.layers.disagreements.empty());
  CHECK(a.layers.tally == "23 mamba, 23 moe, 6 full_attention");
  CHECK(a.layers.pattern ==
        "(mamba, moe, mamba, moe, mamba, full_attention, moe) ×5, (mamba, moe) ×3, mamba, "
        "full_attention, (moe, mamba) ×4, moe");
  // KV at bf16: 6 attention layers x 2 (K, V) x 2 kv heads x 128 head_dim x 2 bytes = 6,144.
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 6'144);
  CHECK(a.kv->full_layers == 6);
  // State per sequence: 23 Mamba layers x (SSM 4,096 x 128 + conv 6,144 x 3) x 2 bytes
  // = 23 x 1,085,440 = 24,965,120.
  CHECK(a.kv->state_layers == 23);
  CHECK(a.kv->state_bytes_per_sequence == 24'965'120);
  // The mapper reads the shared expert as config.json states it (one of 3,712, not "2 shared
  // experts of 1,856"): no finding on a layout the config describes exactly.
  const Model m = model_of(k_nemotron);
  const Analysis mapped = analyze(m, {.map_layers = true});
  REQUIRE(mapped.map);
  CHECK(layer_findings(*mapped.map, &*m.config).empty());
  // Components: the mixers' q/k/v/o are attention, in_proj/out_proj the SSM.
  CHECK(a.params.by_component[static_cast<size_t>(Component::attention)] == 6 * 23'396'352ULL);
}

// HuggingFaceTB/SmolLM3-3B: Llama layers, every 4th without RoPE. Published total 3,075,098,624
// (Hub safetensors total). By hand: embedding 128,256 x 2,048 = 262,668,288 (tied); per layer
// q/o 2 x 2,048^2 + k/v 2 x 512 x 2,048 + MLP 3 x 2,048 x 11,008 + 2 norms = 78,123,008,
// x 36 = 2,812,428,288; final norm 2,048.
TEST_CASE("SmolLM3: NoPE layers in the pattern, the count exact") {
  const Analysis a = analyze(model_of("synthetic/HuggingFaceTB__SmolLM3-3B"), {});
  CHECK(a.total == 3'075'098'624ULL);
  REQUIRE(a.analytic.count);
  CHECK(a.analytic.count->total == 3'075'098'624ULL);
  CHECK(a.layers.pattern == "(full_attention ×3, full_attention (NoPE)) ×9");
  CHECK(a.layers.tally == "27 full_attention, 9 full_attention (NoPE)");
  // NoPE changes positions, not the cache: 36 layers x 2 x 4 kv heads x 128 x 2 bytes.
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 73'728);
  // The interval alone says the same.
  const Analysis b = analyze(model_of("synthetic/HuggingFaceTB__SmolLM3-3B",
                                      [](nlohmann::json& c) { c.erase("no_rope_layers"); }),
                             {});
  CHECK(b.layers.pattern == a.layers.pattern);
}

TEST_CASE("the KV cache by layer kind, and at another KV dtype") {
  // Nemotron-3-Nano at fp8 keys and values: 6 x 2 x 2 x 128 x 1 byte = 3,072 per token; the
  // Mamba state stays in the model's dtype (bf16): 23 x 1,085,440 = 24,965,120 per sequence.
  const Analysis a = analyze(model_of(k_nemotron), {.context = 1000, .kv_dtype_bytes = 1});
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 3'072);
  CHECK(a.kv->bytes == 3'072'000);
  CHECK(a.kv->state_bytes_per_sequence == 24'965'120);
  REQUIRE(a.kv->by_kind.size() == 2);
  CHECK(a.kv->by_kind[0].kind == "mamba");
  CHECK(a.kv->by_kind[0].layers == 23);
  CHECK(a.kv->by_kind[0].state_bytes_per_sequence == 24'965'120);
  CHECK(a.kv->by_kind[1].kind == "full_attention");
  CHECK(a.kv->by_kind[1].layers == 6);
  CHECK(a.kv->by_kind[1].bytes_per_token == 3'072);
  CHECK(a.kv->by_kind[1].bytes == 3'072'000);
}

TEST_CASE("Nemotron-H from config.json alone: the same pattern, KV and count") {
  const Analysis a = analyze(config_only(k_nemotron), {.context = 4096});
  CHECK_FALSE(a.from_headers);
  CHECK(a.total == 31'577'940'288ULL);
  CHECK_FALSE(a.layers.from_tensors);
  CHECK(a.layers.tally == "23 mamba, 23 moe, 6 full_attention");
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 6'144);
  // Active from the formula: 6 of 128 experts per MoE block, everything else whole.
  //   31,577,940,288 - 23 x 1,277,165,568 + 23 x 6 x 19,955,712 = 3,580,076,352
  REQUIRE(a.analytic.count->active);
  CHECK(*a.analytic.count->active == 3'580'076'352ULL);
  CHECK(*a.analytic.count->active_excluding_embedding == 3'580'076'352ULL - 352'321'536);
  REQUIRE(a.params.active);
  CHECK(*a.params.active == 3'580'076'352ULL);
}

TEST_CASE("a mixer config.json and the tensors disagree on is a finding naming the layer") {
  // The config moves the first attention block from layer 5 to layer 0.
  std::string pattern = k_nemotron_pattern;
  pattern[0] = '*';
  pattern[5] = 'M';
  const Analysis a = analyze(
      model_of(k_nemotron, [&](nlohmann::json& c) { c["hybrid_override_pattern"] = pattern; }), {});
  CHECK(has_finding(a, "layer 0", "config.json says full_attention, the tensors show mamba"));
  CHECK(has_finding(a, "layer 5", "config.json says mamba, the tensors show full_attention"));
  CHECK(a.layers.disagreements.size() == 2);
  // The tensors win: what runs is what they hold.
  CHECK(a.layers.mixers[0] == MixerKind::mamba);
  CHECK(a.layers.mixers[5] == MixerKind::full_attention);
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 6'144);
}

TEST_CASE("a feed-forward config.json and the tensors disagree on is a finding") {
  // Layer 1 is an MoE block; the config calls it a dense MLP, and layer 2's Mamba an MLP.
  std::string pattern = k_nemotron_pattern;
  pattern[1] = '-';
  pattern[2] = '-';
  const Analysis a = analyze(
      model_of(k_nemotron, [&](nlohmann::json& c) { c["hybrid_override_pattern"] = pattern; }), {});
  CHECK(has_finding(a, "layer 1", "config.json says dense MLP, the tensors show moe"));
  CHECK(has_finding(a, "layer 2", "config.json says dense MLP, the tensors show no feed-forward"));
  CHECK(has_finding(a, "layer 2", "config.json says none, the tensors show mamba"));
  CHECK(a.layers.tally == "23 mamba, 23 moe, 6 full_attention");
}

TEST_CASE("an unknown family gets its pattern and KV from the tensors, without noise") {
  // The Nemotron replica under a model_type nobody taught mbuild, without the block pattern:
  // the config's uniform full-attention layers are a guess, not a statement to contradict.
  const Analysis a = analyze(model_of(k_nemotron,
                                      [](nlohmann::json& c) {
                                        c["model_type"] = "mystery_h";
                                        c.erase("hybrid_override_pattern");
                                      }),
                             {});
  CHECK(a.analytic.unavailable.starts_with("unknown family"));
  CHECK(a.layers.disagreements.empty());
  CHECK(a.layers.tally == "23 mamba, 23 moe, 6 full_attention");
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 6'144);
  for (const Finding& f : a.findings) {
    INFO(f.where << ": " << f.text);
    CHECK(f.severity != Severity::warning);
  }
}

TEST_CASE("an expert count config.json and the tensors disagree on fails validation") {
  const Model m = model_of(k_nemotron, [](nlohmann::json& c) { c["n_routed_experts"] = 64; });
  const ValidationReport r = validate_model(m, {});
  bool failed = false;
  for (const ValidationCheck& c : r.checks) {
    if (c.name.starts_with("num_experts")) {
      failed = c.status == CheckStatus::fail;
      CHECK(c.detail.find("64") != std::string::npos);
      CHECK(c.detail.find("128") != std::string::npos);
    }
  }
  CHECK(failed);
}

TEST_CASE("every corpus model's layer kinds agree with its config.json") {
  for (const auto& entry : std::filesystem::directory_iterator(test::corpus_dir())) {
    if (!entry.is_directory() || entry.path().filename() == "contracts") {
      continue;
    }
    const std::string folder = "corpus/" + entry.path().filename().string();
    INFO(folder);
    const Analysis a = analyze(model_of(folder), {});
    for (const Finding& f : a.layers.disagreements) {
      INFO(f.where << ": " << f.text);
      CHECK(false);
    }
  }
}

// Active parameters in both published conventions, each checked in the one its publisher uses,
// to the digits the publisher quotes.
TEST_CASE("active params: OpenAI and Meta leave the input embedding out") {
  // openai/gpt-oss-20b model card: 20.91B total, 3.61B active. Input embedding 201,088 x 2,880.
  const Analysis oss = analyze(model_of("synthetic/openai__gpt-oss-20b"), {});
  CHECK(oss.total == 20'914'757'184ULL);
  REQUIRE(oss.params.active_excluding_embedding);
  CHECK(*oss.params.active - *oss.params.active_excluding_embedding == 201'088ULL * 2'880);
  CHECK(in_units(*oss.params.active_excluding_embedding, 0.01e9) == 361);  // 3.61B
  CHECK(in_units(*oss.params.active, 0.01e9) == 419);  // 4.19B with the embedding

  // meta-llama/Llama-4-Scout-17B-16E config.json: "17B active" (Meta). 108,641,793,536 total
  // (see analytic_test) - 48 x 16 experts x 3 x 5,120 x 8,192 + 48 x 1 expert
  //   = 18,044,827,136 active; without the embedding 202,048 x 5,120: 17,010,341,376.
  auto scout = parse_model_config("config.json", R"({"model_type": "llama4",
      "tie_word_embeddings": false,
      "text_config": {"attention_chunk_size": 8192, "head_dim": 128, "hidden_size": 5120,
        "interleave_moe_layer_step": 1, "intermediate_size": 8192,
        "intermediate_size_mlp": 16384, "max_position_embeddings": 10485760,
        "model_type": "llama4_text", "num_attention_heads": 40, "num_experts_per_tok": 1,
        "num_hidden_layers": 48, "num_key_value_heads": 8, "num_local_experts": 16,
        "use_qk_norm": true, "vocab_size": 202048},
      "vision_config": {"hidden_size": 1408, "image_size": 336, "intermediate_size": 5632,
        "num_attention_heads": 16, "num_hidden_layers": 34, "patch_size": 14,
        "projector_input_dim": 4096, "projector_output_dim": 4096,
        "vision_output_dim": 4096}})");
  REQUIRE(scout);
  auto count = analytic_count(*scout);
  REQUIRE(count);
  REQUIRE(count->active);
  CHECK(*count->active == 18'044'827'136ULL);
  CHECK(*count->active_excluding_embedding == 17'010'341'376ULL);
  CHECK(in_units(*count->active_excluding_embedding, 1e9) == 17);
}

TEST_CASE("active params: Mistral, Qwen and DeepSeek count the input embedding in") {
  // mistralai/Mixtral-8x7B-v0.1: "12.9B active" (Mistral). Qwen/Qwen3-30B-A3B model card:
  // "Number of Activated Parameters: 3.3B".
  const Analysis mixtral = analyze(model_of("corpus/mistralai__Mixtral-8x7B-v0.1"), {});
  REQUIRE(mixtral.params.active);
  CHECK(in_units(*mixtral.params.active, 0.1e9) == 129);
  // Qwen quotes 3,353,032,704 cut to one decimal (without the embedding: 3.04B).
  const Analysis qwen = analyze(model_of("corpus/Qwen__Qwen3-30B-A3B"), {});
  REQUIRE(qwen.params.active);
  CHECK(*qwen.params.active / 100'000'000 == 33);
  CHECK(in_units(*qwen.params.active_excluding_embedding, 0.1e9) == 30);

  // deepseek-ai/DeepSeek-V3: "671B total parameters with 37B activated for each token"; the
  // MTP module is left out of both. DeepSeek does not say which convention: by hand,
  //   671,026,419,200 - 58 x 256 x 3 x 7,168 x 2,048 + 58 x 8 x 3 x 7,168 x 2,048
  //   = 37,552,297,472 with the embedding (37.55B, quoted as 37B), 36,625,618,432 without.
  auto v3 = parse_model_config("config.json", R"({"model_type": "deepseek_v3",
      "first_k_dense_replace": 3, "hidden_size": 7168, "intermediate_size": 18432,
      "kv_lora_rank": 512, "moe_intermediate_size": 2048, "moe_layer_freq": 1,
      "n_routed_experts": 256, "n_shared_experts": 1, "num_attention_heads": 128,
      "num_experts_per_tok": 8, "num_hidden_layers": 61, "num_key_value_heads": 128,
      "num_nextn_predict_layers": 1, "q_lora_rank": 1536, "qk_nope_head_dim": 128,
      "qk_rope_head_dim": 64, "v_head_dim": 128, "topk_method": "noaux_tc",
      "tie_word_embeddings": false, "vocab_size": 129280})");
  REQUIRE(v3);
  auto count = analytic_count(*v3);
  REQUIRE(count);
  REQUIRE(count->active);
  CHECK(*count->active == 37'552'297'472ULL);
  CHECK(*count->active_excluding_embedding == 37'552'297'472ULL - 129'280ULL * 7'168);
}
