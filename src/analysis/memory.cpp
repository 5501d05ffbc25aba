#include "mbuild/analysis/memory.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "mbuild/arch/family.hpp"

#include "util/checked.hpp"

namespace mbuild {
namespace {

// More MTP layers than any model ships (DeepSeek-V3 and GLM-4.5 ship one; a config asking for
// millions is not a reason to loop).
constexpr uint64_t k_max_mtp_layers = 1024;

// Bits per weight of each format, as exact fractions where the format fixes them.
struct FormatBits {
  std::string_view format;
  uint64_t num;
  uint64_t den;
};

constexpr FormatBits k_formats[] = {
    {"F32", 32, 1},
    {"BF16", 16, 1},
    {"FP8", 8, 1},
    {"INT8", 8, 1},
    {"INT4", uint64_t{4} * 128 + 16, 128},  // 4-bit weights + one FP16 scale per 128-weight group
    {"Q8_0", uint64_t{34} * 8, 32},         // llama.cpp block: 32 int8 + FP16 scale = 34 bytes
    {"Q6_K", uint64_t{210} * 8, 256},       // super-block of 256 weights in 210 bytes
    {"Q4_K_M", 485, 100},             // mix of Q4_K (4.5) and Q6_K tensors: ~4.85 on Llama models
    {"MXFP4", uint64_t{17} * 8, 32},  // 32 FP4 values + one E8M0 scale = 17 bytes
    {"NVFP4", uint64_t{9} * 8, 16},   // 16 FP4 values + one FP8 scale = 9 bytes
};

uint64_t sat_mul(uint64_t a, uint64_t b) {
  return checked_mul(a, b).value_or(UINT64_MAX);
}
uint64_t sat_add(uint64_t a, uint64_t b) {
  return checked_add(a, b).value_or(UINT64_MAX);
}

bool encoder_only(const ModelConfig& config) {
  return family_traits(config.model_type).encoder_only;
}

}  // namespace

std::optional<uint64_t> kv_dtype_bytes(std::string_view name) {
  std::string f;
  for (char c : name) {
    if (c != '_' && c != '-') {
      f += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  if (f == "BF16" || f == "FP16" || f == "F16" || f == "BFLOAT16" || f == "FLOAT16") {
    return 2;
  }
  if (f == "FP8" || f == "F8" || f == "FP8E4M3" || f == "FP8E5M2" || f == "INT8") {
    return 1;
  }
  if (f == "FP32" || f == "F32" || f == "FLOAT32") {
    return 4;
  }
  return std::nullopt;
}

uint64_t torch_dtype_bytes(std::string_view d) {
  if (d == "float32" || d == "float" || d == "fp32") {
    return 4;
  }
  if (d == "float64") {
    return 8;
  }
  if (d == "float8_e4m3fn" || d == "float8_e5m2" || d == "int8" || d == "uint8") {
    return 1;
  }
  return 2;
}

std::vector<FormatSize> weight_formats(uint64_t params) {
  std::vector<FormatSize> out;
  for (const FormatBits& f : k_formats) {
    // bytes = ceil(params * num / (den * 8)), computed without overflowing for 10^12 params.
    const uint64_t den = f.den * 8;
    const uint64_t whole = params / den;
    const uint64_t rest = params % den;
    uint64_t bytes = sat_add(sat_mul(whole, f.num), (rest * f.num + den - 1) / den);
    out.push_back({f.format, f.num, f.den, bytes});
  }
  return out;
}

Result<KvCache> kv_cache(const ModelConfig& config, uint64_t context, uint64_t batch,
                         uint64_t dtype_bytes) {
  return kv_cache(config, config.layer_attention,
                  {.context = context, .batch = batch, .dtype_bytes = dtype_bytes});
}

Result<KvCache> kv_cache(const ModelConfig& config, std::span<const MixerKind> mixers,
                         const KvOptions& options) {
  if (encoder_only(config)) {
    return fail(ErrorKind::not_found, "config.json",
                fmt::format("{} is an encoder-only model: no KV cache", config.model_type));
  }
  KvCache kv;
  kv.dtype_bytes =
      options.dtype_bytes ? options.dtype_bytes : torch_dtype_bytes(config.torch_dtype);
  kv.context = options.context ? options.context : config.max_position_embeddings.value_or(4096);
  kv.batch = options.batch ? options.batch : 1;
  const uint64_t b = kv.dtype_bytes;

  const auto kv_lora = config.count("kv_lora_rank");
  const auto rope_dim = config.count("qk_rope_head_dim");
  const bool mla = kv_lora.has_value() && *kv_lora > 0;
  const uint64_t kv_heads = config.num_kv_heads.value_or(0);
  const uint64_t heads = config.num_heads.value_or(0);
  const uint64_t head_dim = config.head_dim.value_or(0);
  if (!mla && (kv_heads == 0 || head_dim == 0) &&
      std::any_of(mixers.begin(), mixers.end(), [](MixerKind k) { return keeps_kv(k); })) {
    return bad_input("config.json", "num_key_value_heads / head_dim missing: no KV-cache size");
  }
  const uint64_t per_token_full = mla ? sat_mul(*kv_lora + rope_dim.value_or(0), b)
                                      : sat_mul(sat_mul(2, kv_heads), sat_mul(head_dim, b));
  const uint64_t mha_per_token =
      mla ? sat_mul(
                sat_mul(heads, config.count("qk_nope_head_dim").value_or(0) + rope_dim.value_or(0) +
                                   config.count("v_head_dim").value_or(0)),
                b)
          : sat_mul(sat_mul(2, heads), sat_mul(head_dim, b));
  const uint64_t window = config.sliding_window.value_or(kv.context);

  // Recurrent state per layer for linear-attention (gated delta-net) and Mamba layers, in the
  // model's dtype: a KV dtype (fp8 keys and values) does not apply to it.
  const uint64_t sb = torch_dtype_bytes(config.torch_dtype);
  uint64_t linear_state = 0;
  if (auto kh = config.count("linear_num_key_heads")) {
    const uint64_t vh = config.count("linear_num_value_heads").value_or(*kh);
    const uint64_t kd = config.count("linear_key_head_dim").value_or(0);
    const uint64_t vd = config.count("linear_value_head_dim").value_or(0);
    const uint64_t kernel = config.count("linear_conv_kernel_dim").value_or(4);
    const uint64_t conv_dim = 2 * *kh * kd + vh * vd;
    linear_state = sat_add(sat_mul(sat_mul(vh, kd), sat_mul(vd, sb)),
                           sat_mul(sat_mul(conv_dim, kernel > 0 ? kernel - 1 : 0), sb));
  }
  uint64_t mamba_state = 0;
  {
    const uint64_t inner = ssm_inner_size(config);
    const uint64_t d_state = config.count("state_size").value_or(16);
    const uint64_t kernel = config.count("conv_kernel").value_or(4);
    const uint64_t groups = config.count("ssm_n_groups").value_or(0);
    const uint64_t conv_dim = inner + 2 * groups * d_state;
    mamba_state = sat_add(sat_mul(sat_mul(inner, d_state), sb),
                          sat_mul(sat_mul(conv_dim, kernel > 0 ? kernel - 1 : 0), sb));
  }

  // A short convolution (LFM2) keeps its last conv_L_cache - 1 inputs, conv_dim wide.
  uint64_t conv_state = 0;
  {
    const uint64_t width = config.count("conv_dim").value_or(config.hidden_size.value_or(0));
    const uint64_t cache = config.count("conv_L_cache").value_or(3);
    conv_state = sat_mul(sat_mul(width, cache > 0 ? cache - 1 : 0), sb);
  }

  auto kind_row = [&](std::string_view name) -> KvKind& {
    for (KvKind& k : kv.by_kind) {
      if (k.kind == name) {
        return k;
      }
    }
    kv.by_kind.push_back({std::string(name)});
    return kv.by_kind.back();
  };
  // One layer's cache: `per_token` bytes for each of `tokens` tokens, in the totals and its row.
  auto cache = [&](std::string_view row_name, uint64_t per_token, uint64_t tokens) {
    kv.bytes_per_token = sat_add(kv.bytes_per_token, per_token);
    kv.bytes = sat_add(kv.bytes, sat_mul(per_token, tokens));
    KvKind& row = kind_row(row_name);
    ++row.layers;
    row.bytes_per_token = sat_add(row.bytes_per_token, per_token);
    row.bytes = sat_add(row.bytes, sat_mul(per_token, tokens));
  };
  // DSA's lightning indexer caches one key of index_head_dim per token and layer, in its own
  // format whatever the KV dtype: FP8 (E4M3) values plus one FP32 scale per 128 (DeepSeek's
  // inference/model.py `k_cache` float8_e4m3fn and `k_scale_cache` float32 [head_dim / 128];
  // vLLM and SGLang size it index_head_dim + index_head_dim / 128 * 4 bytes).
  const uint64_t index_dim = config.count("index_head_dim").value_or(0);
  const uint64_t indexer_per_token = index_dim + index_dim / 128 * 4;
  // The last num_kv_shared_layers layers attend an earlier layer's keys and values and cache
  // none of their own (Gemma 3n: transformers Gemma3nTextConfig.kv_sharing_roles).
  const uint64_t kv_shared =
      std::min<uint64_t>(config.count("num_kv_shared_layers").value_or(0), mixers.size());
  const size_t first_shared = mixers.size() - static_cast<size_t>(kv_shared);
  const std::vector<bool>& indexer = options.indexer ? *options.indexer : config.layer_indexer;
  for (size_t i = 0; i < mixers.size(); ++i) {
    const MixerKind kind = mixers[i];
    if (kind == MixerKind::none) {
      continue;  // a feed-forward block: nothing cached
    }
    if (i >= first_shared && keeps_kv(kind) && !holds_state(kind)) {
      continue;  // reuses an earlier layer's cache
    }
    if (holds_state(kind)) {
      // RWKV-4 keeps five hidden-size vectors per layer, in FP32.
      const uint64_t state = kind == MixerKind::linear_attention ? linear_state
                             : kind == MixerKind::mamba || kind == MixerKind::attention_mamba
                                 ? mamba_state
                             : kind == MixerKind::short_conv
                                 ? conv_state
                                 : sat_mul(uint64_t{5} * 4, config.hidden_size.value_or(0));
      kv.state_bytes_per_sequence = sat_add(kv.state_bytes_per_sequence, state);
      ++kv.state_layers;
      KvKind& row = kind_row(kind_name(kind));
      if (!keeps_kv(kind)) {
        ++row.layers;  // a parallel layer is counted once, with its KV below
      }
      row.state_bytes_per_sequence = sat_add(row.state_bytes_per_sequence, state);
    }
    if (keeps_kv(kind)) {
      const bool sliding =
          kind == MixerKind::sliding_attention || kind == MixerKind::chunked_attention;
      kv.mha_bytes_per_token = sat_add(kv.mha_bytes_per_token, mha_per_token);
      ++(mla ? kv.mla_layers : sliding ? kv.sliding_layers : kv.full_layers);
      cache(mla ? std::string_view("mla") : kind_name(kind), per_token_full,
            sliding ? std::min(kv.context, window) : kv.context);
    }
    if (kind == MixerKind::sparse_attention && indexer_per_token > 0 &&
        (i >= indexer.size() || indexer[i])) {
      ++kv.indexer_layers;
      cache("indexer_keys", indexer_per_token, kv.context);
    }
  }
  // An MTP layer is a full decoder layer with the model's attention (DeepSeek-V3's layer 61 is
  // MLA, with an indexer of its own on a DSA model; Qwen3-Next's and GLM's are full
  // attention): it caches a full layer's keys and values over the whole context.
  kv.mtp_layers = std::min(options.mtp_layers, k_max_mtp_layers);
  for (uint64_t i = 0; i < kv.mtp_layers; ++i) {
    cache("mtp", sat_add(per_token_full, kv.indexer_layers ? indexer_per_token : 0), kv.context);
  }
  for (KvKind& row : kv.by_kind) {
    row.bytes = sat_mul(row.bytes, kv.batch);
  }
  kv.bytes = sat_mul(kv.bytes, kv.batch);
  kv.state_bytes = sat_mul(kv.state_bytes_per_sequence, kv.batch);
  if (kv.sliding_layers && window < kv.context) {
    kv.notes.push_back(fmt::format("{} sliding-window layer(s) hold at most {} tokens",
                                   kv.sliding_layers, window));
  }
  if (kv_shared > 0) {
    kv.notes.push_back(fmt::format(
        "the last {} layer(s) reuse earlier layers' keys and values (num_kv_shared_layers)",
        kv_shared));
  }
  if (mla) {
    kv.notes.push_back(
        fmt::format("MLA caches the compressed latent: kv_lora_rank {} + rope {} "
                    "per layer and token",
                    *kv_lora, rope_dim.value_or(0)));
  }
  if (kv.indexer_layers) {
    kv.notes.push_back(
        fmt::format("{} layer(s) keep DSA indexer keys: {} bytes per layer and token "
                    "(index_head_dim {} in FP8 + an FP32 scale per 128), whatever the KV dtype",
                    kv.indexer_layers, indexer_per_token, index_dim));
  }
  if (kv.mtp_layers) {
    kv.notes.push_back(
        fmt::format("{} MTP layer(s) included, as full-attention layers", kv.mtp_layers));
  }
  if (kv.state_layers) {
    kv.notes.push_back(
        fmt::format("{} linear-attention/SSM layer(s) hold a constant state of {} "
                    "bytes per sequence instead of a KV cache",
                    kv.state_layers, kv.state_bytes_per_sequence));
  }
  return kv;
}

}  // namespace mbuild
