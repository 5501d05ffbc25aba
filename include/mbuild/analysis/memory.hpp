// Weight memory in other formats, and KV-cache / recurrent-state memory.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mbuild/model/model_config.hpp"
#include "mbuild/util/error.hpp"

namespace mbuild {

struct FormatSize {
  std::string_view format;  // "BF16", "Q4_K_M", ...
  uint64_t bits_num = 0;    // bits per weight as a fraction: bits_num / bits_den
  uint64_t bits_den = 1;
  uint64_t bytes = 0;  // params x bits / 8, rounded up
  double bits_per_weight() const {
    return static_cast<double>(bits_num) / static_cast<double>(bits_den);
  }
};

// The weights' size in each format of DESIGN.md, for `params` weights.
std::vector<FormatSize> weight_formats(uint64_t params);

// One kind of layer's share of the cache: softmax attention (full, sliding, chunked), MLA's
// latent, DSA's indexer keys, or a recurrent state (linear attention, Mamba, RWKV).
struct KvKind {
  std::string kind;  // "full_attention", "sliding_attention", "mla", "indexer_keys", "mamba", ...
  uint64_t layers = 0;
  uint64_t bytes_per_token = 0;           // cached per token, over these layers
  uint64_t bytes = 0;                     // at the context x batch (sliding capped)
  uint64_t state_bytes_per_sequence = 0;  // recurrent layers
};

struct KvCache {
  uint64_t dtype_bytes = 2;
  uint64_t bytes_per_token = 0;  // Σ over attention layers (sliding layers, indexer keys included)
  uint64_t context = 0;
  uint64_t batch = 1;
  uint64_t bytes = 0;  // at context x batch, sliding layers capped at their window
  uint64_t state_bytes_per_sequence = 0;  // linear-attention / SSM layers: constant state
  uint64_t state_bytes = 0;               // x batch
  uint64_t full_layers = 0, sliding_layers = 0, mla_layers = 0, state_layers = 0;
  uint64_t indexer_layers = 0;  // DSA layers caching indexer keys (beside their MLA latent)
  uint64_t mtp_layers = 0;      // MTP layers included (asked for)
  // The same model's cache if every attention layer kept all heads (MHA), per token.
  uint64_t mha_bytes_per_token = 0;
  std::vector<KvKind> by_kind;  // in order of first appearance
  std::vector<std::string> notes;
};

struct KvOptions {
  uint64_t context = 0;      // 0: max_position_embeddings (else 4096)
  uint64_t batch = 1;        // 0: 1
  uint64_t dtype_bytes = 0;  // per element; 0: the model's torch_dtype
  // Multi-token-prediction layers to add, each caching what a full layer of the model caches
  // (none by default: a server runs them only for speculative decoding).
  uint64_t mtp_layers = 0;
  // Per layer, whether a sparse-attention layer keeps an indexer (and its keys) of its own;
  // null: config.json's schedule (`layer_indexer`).
  const std::vector<bool>* indexer = nullptr;
};

// KV cache of a decoder whose layers mix tokens with `mixers` (the layer model's).
// Fails (not_found) for encoder-only models and when needed dimensions are missing.
Result<KvCache> kv_cache(const ModelConfig& config, std::span<const MixerKind> mixers,
                         const KvOptions& options);
// The same with config.json's layer kinds.
Result<KvCache> kv_cache(const ModelConfig& config, uint64_t context, uint64_t batch,
                         uint64_t dtype_bytes = 0);

// Bytes per KV element of a --kv-dtype name (bf16, fp16, fp8, fp32 and spellings); nullopt
// when unknown.
std::optional<uint64_t> kv_dtype_bytes(std::string_view name);

// Bytes per element of a torch dtype name ("bfloat16" -> 2); 2 when unknown.
uint64_t torch_dtype_bytes(std::string_view torch_dtype);

}  // namespace mbuild
