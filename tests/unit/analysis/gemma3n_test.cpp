// Gemma 3n (google/gemma-3n-E2B shape): the text model's count from config.json alone, the
// sliding/full pattern and the KV cache, where the last num_kv_shared_layers layers reuse
// earlier layers' keys and values. No header replica: the vision (timm MobileNet-V5) and audio
// (USM) towers are not modelled, and no public source quoting the Hub total was found, so the
// total is not pinned.
#include "mbuild/analysis/analysis.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "mbuild/analysis/memory.hpp"
#include "mbuild/model/model.hpp"

using namespace mbuild;

namespace {

// The E2B text_config as public sources give it (transformers Gemma3nTextConfig fields;
// hidden 2048, 30 layers, intermediate 8192, 8 heads, 2 KV heads x 256, sliding window 512,
// 10 KV-shared layers, laurel_rank 64, altup_num_inputs 4, hidden_size_per_layer_input 256,
// vocab 262,400 and 262,144 per-layer: ai-edge-torch's Gemma 3n E2B config, mlx-vlm's tests),
// layer_types as Gemma3nTextConfig writes them (every fifth layer full).
Model e2b(bool with_layer_types) {
  nlohmann::json text = {
      {"model_type", "gemma3n_text"},
      {"hidden_size", 2048},
      {"num_hidden_layers", 30},
      {"intermediate_size", std::vector<int>(30, 8192)},
      {"num_attention_heads", 8},
      {"num_key_value_heads", 2},
      {"head_dim", 256},
      {"vocab_size", 262400},
      {"vocab_size_per_layer_input", 262144},
      {"hidden_size_per_layer_input", 256},
      {"laurel_rank", 64},
      {"altup_num_inputs", 4},
      {"num_kv_shared_layers", 10},
      {"sliding_window", 512},
      {"max_position_embeddings", 32768},
      {"rms_norm_eps", 1e-6},
      {"torch_dtype", "bfloat16"},
  };
  if (with_layer_types) {
    std::vector<std::string> types;
    for (int i = 0; i < 30; ++i) {
      types.emplace_back((i + 1) % 5 == 0 ? "full_attention" : "sliding_attention");
    }
    text["layer_types"] = types;
  }
  nlohmann::json root = {{"model_type", "gemma3n"},
                         {"architectures", {"Gemma3nForConditionalGeneration"}},
                         {"text_config", text},
                         {"torch_dtype", "bfloat16"}};
  auto parsed = parse_model_config("config.json", root.dump());
  if (!parsed) {
    FAIL(parsed.error().what + ": " + parsed.error().why);
  }
  Model model;
  model.config = std::move(*parsed);
  return model;
}

}  // namespace

// By hand (modeling_gemma3n.py):
//   embed_tokens 262,400 x 2,048 = 537,395,200 (tied head);
//   per layer: attention q/o 2 x 2,048^2 + k/v 2 x 2,048 x 512 = 10,485,760, q/k norms 512,
//     four layer norms 8,192, MLP 3 x 2,048 x 8,192 = 50,331,648, AltUp 2,048 + 16 + 64 +
//     2,048 x 4 = 10,320, LAuReL 2 x 64 x 2,048 = 262,144, per-layer input gate and projection
//     2 x 2,048 x 256 = 1,048,576, router/LAuReL/per-layer norms 3 x 2,048 = 6,144
//     -> 62,153,296;
//   model: final norm 2,048, embed_tokens_per_layer 262,144 x 30 x 256 = 2,013,265,920,
//     per_layer_model_projection 2,048 x 7,680 = 15,728,640, its norm 256, AltUp projections
//     2 x 3 x 2,048^2 = 25,165,824;
//   537,395,200 + 30 x 62,153,296 + 2,048 + 2,013,265,920 + 15,728,640 + 256 + 25,165,824
//     = 4,456,156,768.
TEST_CASE("Gemma 3n E2B from config.json alone: text count, pattern, KV without shared layers") {
  const Analysis a = analyze(e2b(true), {.context = 4096});
  REQUIRE(a.analytic.count);
  CHECK(a.analytic.count->total == 4'456'156'768ULL);
  CHECK(a.layers.pattern == "(sliding_attention ×4, full_attention) ×6");
  // KV at bf16: layers 0-19 cache (20 - 10 shared of 30), 2 x 2 KV heads x 256 x 2 bytes =
  // 2,048 per layer and token -> 20 x 2,048 = 40,960; of them 4 full (4, 9, 14, 19) and 16
  // sliding (capped at 512 tokens).
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 40'960);
  CHECK(a.kv->full_layers == 4);
  CHECK(a.kv->sliding_layers == 16);
  CHECK(a.kv->bytes == 4ULL * 2'048 * 4'096 + 16ULL * 2'048 * 512);
}

TEST_CASE("Gemma 3n: without layer_types every fifth layer is full") {
  const Analysis a = analyze(e2b(false), {.context = 4096});
  const Analysis b = analyze(e2b(true), {.context = 4096});
  CHECK(a.layers.pattern == b.layers.pattern);
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 40'960);
}
