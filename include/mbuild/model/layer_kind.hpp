// What a decoder layer is: its token mixer and its feed-forward, as config.json's
// `layer_types` / `mlp_layer_types` (or the family's schedule) name them, and as the tensors
// show them. Named as transformers names them ("full_attention", ...).
#pragma once

#include <string_view>

namespace mbuild {

enum class MixerKind : unsigned char {
  full_attention,
  sliding_attention,
  chunked_attention,  // attention over fixed chunks (Llama 4): a window for the KV cache
  // DeepSeek sparse attention (DSA: DeepSeek-V3.2, GLM-5): MLA over the keys a lightning
  // indexer picks (index_topk per query); the indexer keeps keys of its own in the cache.
  sparse_attention,
  linear_attention,  // gated delta-net (Qwen3-Next, Qwen3.5)
  mamba,
  rwkv,
  attention_mamba,  // full attention and a Mamba-2 mixer side by side, outputs summed (Falcon-H1)
  short_conv,       // a gated depthwise convolution over a few tokens (LFM2 "conv")
  none,             // a block with a feed-forward only (Nemotron-H "E" and "-" blocks)
  unknown,          // a name mbuild does not know
};

enum class FfnKind : unsigned char { dense, moe, none, unknown };

std::string_view kind_name(MixerKind kind);
std::string_view kind_name(FfnKind kind);

// A config.json name, synonyms included ("attention", "global", "full" -> full_attention;
// "sliding_window", "local", "sliding" -> sliding_attention; "conv" -> short_conv; "hybrid" ->
// attention_mamba; "sparse" -> moe).
MixerKind mixer_kind_of(std::string_view name);
FfnKind ffn_kind_of(std::string_view name);

// Softmax attention over a KV cache (full, sliding, chunked or sparse).
constexpr bool is_softmax_attention(MixerKind k) {
  return k == MixerKind::full_attention || k == MixerKind::sliding_attention ||
         k == MixerKind::chunked_attention || k == MixerKind::sparse_attention;
}

// A KV cache that grows with the context: softmax attention, alone or beside a Mamba mixer.
constexpr bool keeps_kv(MixerKind k) {
  return is_softmax_attention(k) || k == MixerKind::attention_mamba;
}

// A constant recurrent state per sequence (instead of, or beside, a KV cache).
constexpr bool holds_state(MixerKind k) {
  return k == MixerKind::linear_attention || k == MixerKind::mamba || k == MixerKind::rwkv ||
         k == MixerKind::attention_mamba || k == MixerKind::short_conv;
}

}  // namespace mbuild
