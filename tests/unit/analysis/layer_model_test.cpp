// The layer model: per-layer mixer and feed-forward read off the tensors, config.json
// cross-checked, and the pattern, KV cache and active figures that derive from it.
#include "mbuild/analysis/analysis.hpp"

#include <cmath>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "mbuild/report/layer_checks.hpp"
#include "mbuild/report/validate.hpp"
#include "mbuild/source/local_source.hpp"
#include "test_support.hpp"
#include "unit/analysis/model_at.hpp"

using namespace mbuild;

namespace {

const std::string k_nemotron = "synthetic/nvidia__NVIDIA-Nemotron-3-Nano-30B-A3B";
const std::string k_nemotron_pattern = "MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME";

template <typename Edit>
Model model_of(const std::string& folder, Edit edit) {
  return test::model_at(test::data_dir() / folder, edit);
}
Model model_of(const std::string& folder) {
  return test::model_at(test::data_dir() / folder);
}
Model config_only(const std::string& folder) {
  return test::config_only_at(test::data_dir() / folder);
}

bool has_finding(const Analysis& a, const std::string& where, const std::string& text) {
  for (const Finding& f : a.findings) {
    if (f.where == where && f.text.find(text) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// The map's entry called `name`, or nullptr.
const LayerEntry* map_entry(const LayerMap& map, std::string_view name) {
  for (const LayerEntry& e : map.entries) {
    if (e.name == name) {
      return &e;
    }
  }
  return nullptr;
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

// MiniMaxAI/MiniMax-M2.7 (MiniMax-M2 architecture), block-FP8, written into the build tree
// (tests/data/synthetic/tools/make_minimax_m2.py; ~14 MB of headers). Published: the Hub's
// safetensors total 228,703,644,928 (raw elements of all 96,103 tensors, the F32
// weight_scale_inv included, as public model reports of the checkpoint quote it) and
// 228,689,764,864 parameters without the block scales (llama.cpp's model_n_params for the
// GGUF conversions, quoted in public llama-bench logs). By hand:
//   embedding + lm_head 2 x 200,064 x 3,072 = 1,229,193,216; final norm 3,072;
//   per layer: q/o 2 x 6,144 x 3,072 + k/v 2 x 1,024 x 3,072 = 44,040,192, q_norm 6,144 +
//     k_norm 1,024, experts 256 x 3 x 1,536 x 3,072 = 3,623,878,656, router 256 x 3,072 +
//     256 bias = 786,688, 2 norms 6,144 -> 3,668,718,848 x 62 = 227,460,568,576.
//   Total 228,689,764,864. Block scales per layer: q 48 x 24 + k/v 2 x 8 x 24 + o 24 x 48 +
//   256 experts x 3 x 12 x 24 = 223,872 x 62 = 13,880,064 (228,703,644,928 - 228,689,764,864).
//   Active: non-expert 228,689,764,864 - 62 x 3,623,878,656 = 4,009,288,192, plus 8 of 256
//   experts 62 x 8 x 14,155,776 = 7,021,264,896 -> 11,030,553,088; without the input
//   embedding 11,030,553,088 - 614,596,608 = 10,415,956,480 (the card's "10B active").
TEST_CASE(
    "MiniMax-M2: block-FP8 experts counted without their scales, exact to the published "
    "totals") {
  const std::string folder = (test::generated_dir() / "MiniMaxAI__MiniMax-M2.7").string();
  const Model m = model_of(folder);
  const Analysis a = analyze(m, {});
  CHECK(a.params.raw_elements == 228'703'644'928ULL);
  CHECK(a.params.quant_aux_elements == 13'880'064ULL);
  CHECK(a.total == 228'689'764'864ULL);
  REQUIRE(a.analytic.count);
  CHECK(a.analytic.count->total == 228'689'764'864ULL);
  CHECK(a.params.by_component[static_cast<size_t>(Component::moe_experts)] ==
        62 * 3'623'878'656ULL);
  CHECK(a.params.by_component[static_cast<size_t>(Component::router)] == 62 * 786'688ULL);
  CHECK(a.params.by_component[static_cast<size_t>(Component::mtp)] == 0);
  REQUIRE(a.params.active);
  CHECK(*a.params.active == 11'030'553'088ULL);
  CHECK(a.params.active_excluding_embedding == 10'415'956'480ULL);
  REQUIRE(a.analytic.count->active);
  CHECK(*a.analytic.count->active == 11'030'553'088ULL);
  CHECK(a.analytic.count->active_excluding_embedding == 10'415'956'480ULL);
  CHECK(a.layers.pattern == "full_attention ×62");
  CHECK(a.layers.disagreements.empty());
  // KV at bf16 (the config's dtype): 62 layers x 2 (K, V) x 8 kv heads x 128 x 2 bytes.
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 253'952);
  // No noise: the layout is the one config.json describes.
  const Analysis mapped = analyze(m, {.map_layers = true});
  REQUIRE(mapped.map);
  CHECK(layer_findings(*mapped.map, &*m.config).empty());
}

// mistralai/Mistral-Small-3.1-24B-Instruct-2503: a Mistral text model, a Pixtral vision
// encoder and Mistral 3's projector. Published total 24,011,361,280 (the Hub's safetensors
// total, quoted by public model tables and KerasHub's preset metadata). By hand:
//   text: embedding + lm_head 2 x 131,072 x 5,120 = 1,342,177,280; per layer q/o 2 x 4,096 x
//     5,120 + k/v 2 x 1,024 x 5,120 = 52,428,800, MLP 3 x 5,120 x 32,768 = 503,316,480,
//     2 norms 10,240 -> 555,755,520 x 40 = 22,230,220,800; final norm 5,120 -> 23,572,403,200;
//   vision: patch_conv 1,024 x 3 x 14 x 14 = 602,112, ln_pre 1,024; per layer q/k/v/o
//     4 x 1,024^2 + MLP 3 x 1,024 x 4,096 + 2 norms 2,048 = 16,779,264 x 24 = 402,702,336
//     -> 403,305,472;
//   projector: norm 1,024, patch merger 4,096 x 1,024 = 4,194,304, linear_1 1,024 x 5,120 =
//     5,242,880, linear_2 5,120^2 = 26,214,400 -> 35,652,608.
//   Total 24,011,361,280.
TEST_CASE(
    "Mistral 3: text, Pixtral vision and projector counted apart, exact to the published "
    "total") {
  const std::string folder = "synthetic/mistralai__Mistral-Small-3.1-24B-Instruct-2503";
  const Model m = model_of(folder);
  const Analysis a = analyze(m, {});
  CHECK(a.total == 24'011'361'280ULL);
  // language_model.lm_head is the output head, not "other".
  CHECK(a.params.by_component[static_cast<size_t>(Component::lm_head)] == 671'088'640ULL);
  CHECK(a.params.by_component[static_cast<size_t>(Component::other)] == 0);
  CHECK(a.params.by_component[static_cast<size_t>(Component::vision)] == 403'305'472ULL);
  CHECK(a.params.by_component[static_cast<size_t>(Component::projector)] == 35'652'608ULL);
  REQUIRE(a.analytic.count);
  CHECK(a.analytic.count->total == 24'011'361'280ULL);
  auto part = [&](std::string_view name) {
    for (const auto& [k, v] : a.analytic.count->parts) {
      if (k == name) {
        return v;
      }
    }
    return uint64_t{0};
  };
  CHECK(part("vision") == 403'305'472ULL);
  CHECK(part("projector") == 35'652'608ULL);
  CHECK(a.layers.count == 40);
  CHECK(a.layers.pattern == "full_attention ×40");
  CHECK(a.layers.disagreements.empty());
  // KV at bf16: 40 layers x 2 (K, V) x 8 kv heads x 128 x 2 bytes = 163,840.
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 163'840);
  const Analysis mapped = analyze(m, {.map_layers = true});
  REQUIRE(mapped.map);
  CHECK(layer_findings(*mapped.map, &*m.config).empty());
  // The estimator has no vision classes: the tower's layers and the projector are gaps of
  // their own; the untied head is the output head.
  const LayerEntry* projector = map_entry(*mapped.map, "multimodal_projector");
  REQUIRE(projector);
  CHECK(projector->parameter_count == 35'652'608ULL);
  const LayerEntry* vision = map_entry(*mapped.map, "vision_layer");
  REQUIRE(vision);
  CHECK(vision->count == 24);
  CHECK(vision->parameter_count == 16'779'264ULL);
  const LayerEntry* head = map_entry(*mapped.map, "lm_head");
  REQUIRE(head);
  CHECK(head->layer_class == "OutputHeadLayer");
  // config.json alone gives the same count, vision included.
  const Analysis c = analyze(config_only(folder), {});
  CHECK(c.total == 24'011'361'280ULL);
}

// Qwen/Qwen3-VL-8B-Instruct: Qwen3 text layers with interleaved M-RoPE and a Qwen3-VL vision
// tower with three DeepStack mergers. Published total 8,767,123,696 (the Hub API's
// safetensors total, quoted by a public audit of the repo). By hand:
//   text: embedding + lm_head 2 x 151,936 x 4,096 = 1,244,659,712; per layer q/o 2 x 4,096^2
//     + k/v 2 x 1,024 x 4,096 = 41,943,040, q/k norms 2 x 128, MLP 3 x 4,096 x 12,288 =
//     150,994,944, 2 norms 8,192 -> 192,946,432 x 36 = 6,946,071,552; final norm 4,096
//     -> 8,190,735,360;
//   vision: patch_embed 1,152 x 3 x 2 x 16 x 16 + 1,152 bias = 1,770,624, pos_embed 2,304 x
//     1,152 = 2,654,208; per block 2 LayerNorms 4,608, qkv 3 x 1,152^2 + 3,456, proj 1,152^2
//     + 1,152, MLP 2 x 1,152 x 4,304 + 4,304 + 1,152 -> 15,239,504 x 27 = 411,466,608
//     -> 415,891,440;
//   projector (merged width 4 x 1,152 = 4,608): merger LayerNorm 2 x 1,152, fc1 4,608^2 +
//     4,608, fc2 4,608 x 4,096 + 4,096 -> 40,119,040; 3 DeepStack mergers with their LayerNorm
//     over 4,608: 3 x 40,125,952 = 120,377,856 -> 160,496,896.
//   Total 8,767,123,696.
TEST_CASE(
    "Qwen3-VL: DeepStack mergers in the projector, the count exact to the published "
    "total") {
  const std::string folder = "synthetic/Qwen__Qwen3-VL-8B-Instruct";
  const Model m = model_of(folder);
  const Analysis a = analyze(m, {});
  CHECK(a.total == 8'767'123'696ULL);
  CHECK(a.params.by_component[static_cast<size_t>(Component::vision)] == 415'891'440ULL);
  CHECK(a.params.by_component[static_cast<size_t>(Component::projector)] == 160'496'896ULL);
  REQUIRE(a.analytic.count);
  CHECK(a.analytic.count->total == 8'767'123'696ULL);
  CHECK(a.layers.pattern == "full_attention ×36");
  CHECK(a.layers.disagreements.empty());
  // KV at bf16: 36 layers x 2 x 8 kv heads x 128 x 2 bytes = 147,456.
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 147'456);
  const Analysis mapped = analyze(m, {.map_layers = true});
  REQUIRE(mapped.map);
  CHECK(layer_findings(*mapped.map, &*m.config).empty());
  // The merger and the DeepStack mergers are the projector, apart from the tower's blocks and
  // its patch/position embeddings (1,770,624 + 2,654,208).
  const LayerEntry* projector = map_entry(*mapped.map, "multimodal_projector");
  REQUIRE(projector);
  CHECK(projector->parameter_count == 160'496'896ULL);
  const LayerEntry* embeddings = map_entry(*mapped.map, "vision_embeddings");
  REQUIRE(embeddings);
  CHECK(embeddings->parameter_count == 4'424'832ULL);
  const LayerEntry* vision = map_entry(*mapped.map, "vision_layer");
  REQUIRE(vision);
  CHECK(vision->count == 27);
}

// Qwen/Qwen3-VL-30B-A3B-Instruct: Qwen3-30B-A3B's text layers (128 experts top-8, stored fused
// as gate_up_proj / down_proj per layer) under the same vision tower projecting to 2,048.
// Published total 31,070,754,032 (the model's parameter count as public model listings quote
// it). By hand:
//   text: embedding + lm_head 2 x 151,936 x 2,048 = 622,329,856; per layer q 4,096 x 2,048 +
//     o 2,048 x 4,096 + k/v 2 x 512 x 2,048 = 18,874,368, q/k norms 256, experts 128 x 3 x
//     768 x 2,048 = 603,979,776, router 128 x 2,048 = 262,144, 2 norms 4,096 ->
//     623,120,640 x 48 = 29,909,790,720; final norm 2,048 -> 30,532,122,624;
//   vision as the 8B's: 415,891,440; projector with fc2 4,608 x 2,048 + 2,048: merger
//     2,304 + 21,238,272 + 9,439,232 = 30,679,808, DeepStack 3 x (9,216 + 21,238,272 +
//     9,439,232) = 92,060,160 -> 122,739,968.
//   Total 31,070,754,032. Active: all but 120 of 128 experts per layer:
//   31,070,754,032 - 48 x 120 x 4,718,592 = 3,891,664,112; without the input embedding
//   3,891,664,112 - 311,164,928 = 3,580,499,184.
TEST_CASE("Qwen3-VL MoE: fused experts and the vision tower, exact to the published total") {
  const std::string folder = "synthetic/Qwen__Qwen3-VL-30B-A3B-Instruct";
  const Model m = model_of(folder);
  const Analysis a = analyze(m, {});
  CHECK(a.total == 31'070'754'032ULL);
  CHECK(a.params.by_component[static_cast<size_t>(Component::moe_experts)] == 48 * 603'979'776ULL);
  CHECK(a.params.by_component[static_cast<size_t>(Component::vision)] == 415'891'440ULL);
  CHECK(a.params.by_component[static_cast<size_t>(Component::projector)] == 122'739'968ULL);
  REQUIRE(a.analytic.count);
  CHECK(a.analytic.count->total == 31'070'754'032ULL);
  REQUIRE(a.params.active);
  CHECK(*a.params.active == 3'891'664'112ULL);
  CHECK(a.params.active_excluding_embedding == 3'580'499'184ULL);
  REQUIRE(a.analytic.count->active);
  CHECK(*a.analytic.count->active == 3'891'664'112ULL);
  CHECK(a.layers.pattern == "full_attention ×48");
  CHECK(a.layers.disagreements.empty());
  // KV at bf16: 48 layers x 2 x 4 kv heads x 128 x 2 bytes = 98,304.
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 98'304);
  const Analysis mapped = analyze(m, {.map_layers = true});
  REQUIRE(mapped.map);
  CHECK(layer_findings(*mapped.map, &*m.config).empty());
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
