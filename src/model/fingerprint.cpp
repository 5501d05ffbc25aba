#include "mbuild/model/fingerprint.hpp"

#include <array>
#include <memory>
#include <stdexcept>

#include <openssl/evp.h>

namespace mbuild {
namespace {

// Counts that set a tensor's shape or the layer structure. Sampling settings (rope_theta,
// norm eps, sliding window, context length), dtypes and quantization are left out: they do not
// change which tensors the model is built from, so a base checkpoint and its instruct tune, or a
// bf16 and an AWQ upload, share one fingerprint.
using CountMember = std::optional<uint64_t> ModelConfig::*;
constexpr std::array k_counts = {
    std::pair<const char*, CountMember>{"hidden_size", &ModelConfig::hidden_size},
    std::pair<const char*, CountMember>{"num_layers", &ModelConfig::num_layers},
    std::pair<const char*, CountMember>{"num_heads", &ModelConfig::num_heads},
    std::pair<const char*, CountMember>{"num_kv_heads", &ModelConfig::num_kv_heads},
    std::pair<const char*, CountMember>{"head_dim", &ModelConfig::head_dim},
    std::pair<const char*, CountMember>{"intermediate_size", &ModelConfig::intermediate_size},
    std::pair<const char*, CountMember>{"vocab_size", &ModelConfig::vocab_size},
};

// Read as config.json spells them (text part first), for the families that have them.
constexpr std::array k_raw_counts = {
    std::pair{"moe_intermediate_size", "moe_intermediate_size"},
    std::pair{"shared_expert_intermediate_size", "shared_expert_intermediate_size"},
    std::pair{"num_shared_experts", "n_shared_experts"},
    std::pair{"kv_lora_rank", "kv_lora_rank"},
    std::pair{"q_lora_rank", "q_lora_rank"},
    std::pair{"qk_rope_head_dim", "qk_rope_head_dim"},
    std::pair{"qk_nope_head_dim", "qk_nope_head_dim"},
    std::pair{"v_head_dim", "v_head_dim"},
    std::pair{"linear_num_key_heads", "linear_num_key_heads"},
    std::pair{"linear_num_value_heads", "linear_num_value_heads"},
    std::pair{"linear_key_head_dim", "linear_key_head_dim"},
    std::pair{"linear_value_head_dim", "linear_value_head_dim"},
    std::pair{"linear_conv_kernel_dim", "linear_conv_kernel_dim"},
    std::pair{"state_size", "state_size"},
    std::pair{"conv_kernel", "conv_kernel"},
    std::pair{"time_step_rank", "time_step_rank"},
    std::pair{"num_decoder_layers", "num_decoder_layers"},
};

std::optional<uint64_t> raw_count(const ModelConfig& c, const char* key) {
  for (const nlohmann::json* obj : {&c.text, &c.raw}) {
    if (obj->is_object()) {
      if (auto it = obj->find(key);
          it != obj->end() && it->is_number_integer() && it->get<int64_t>() >= 0) {
        return it->get<uint64_t>();
      }
    }
  }
  return std::nullopt;
}

}  // namespace

nlohmann::json fingerprint_fields(const ModelConfig& c) {
  nlohmann::json j = nlohmann::json::object();
  if (!c.model_type.empty()) {
    j["model_type"] = c.model_type;
  }
  // The normalised fields: kv heads default to heads and head_dim to hidden / heads, so a
  // config that states them and one that leaves them to the default agree.
  for (const auto& [key, value] : k_counts) {
    if (c.*value) {
      j[key] = *(c.*value);
    }
  }
  for (const auto& [name, key] : k_raw_counts) {
    if (auto v = raw_count(c, key)) {
      j[name] = *v;
    }
  }
  if (c.is_moe()) {
    j["num_experts"] = *c.num_experts;
    if (c.top_k) {
      j["top_k"] = *c.top_k;
    }
  }
  if (c.tie_word_embeddings) {
    j["tie_word_embeddings"] = *c.tie_word_embeddings;
  }
  // The per-layer structure only where it is not uniform (a hybrid or interleaved schedule):
  // a uniform stack is told by num_layers alone.
  auto uniform = [](const auto& v) {
    return std::adjacent_find(v.begin(), v.end(), std::not_equal_to<>()) == v.end();
  };
  if (!uniform(c.layer_attention)) {
    nlohmann::json kinds = nlohmann::json::array();
    for (MixerKind k : c.layer_attention) {
      kinds.push_back(kind_name(k));
    }
    j["layer_types"] = std::move(kinds);
  }
  if (!uniform(c.layer_mlp)) {
    nlohmann::json kinds = nlohmann::json::array();
    for (FfnKind k : c.layer_mlp) {
      kinds.push_back(kind_name(k));
    }
    j["mlp_layer_types"] = std::move(kinds);
  }
  return j;
}

std::string sha256_hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  // EVP_Digest fails only when OpenSSL cannot allocate: an exception, caught once in main.
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256: OpenSSL EVP_Digest failed");
  }
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size_t{size} * 2);
  for (unsigned int i = 0; i < size; ++i) {
    out += k_hex[digest[i] >> 4];
    out += k_hex[digest[i] & 0x0f];
  }
  return out;
}

std::string fingerprint(const ModelConfig& config) {
  return sha256_hex(fingerprint_fields(config).dump()).substr(0, k_fingerprint_hex_digits);
}

}  // namespace mbuild
