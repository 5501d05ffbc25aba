#include "mbuild/analysis/analytic.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "mbuild/arch/family.hpp"
#include "mbuild/util/json_guard.hpp"

#include "util/checked.hpp"

namespace mbuild {
namespace {

using nlohmann::json;

// Layer counts drive a per-layer walk; no real model comes near this, a crafted config may.
constexpr uint64_t k_max_layers = 100'000;

// Checked arithmetic plus the named parts of one count. The first overflow or missing field
// poisons the tally, so a formula reads straight through and finish() reports what went wrong.
class Tally {
 public:
  Tally(const ModelConfig& config, std::string family)
      : m_config(config), m_family(std::move(family)) {}

  const ModelConfig& config() const { return m_config; }

  uint64_t mul(std::initializer_list<uint64_t> factors) {
    uint64_t r = 1;
    for (uint64_t f : factors) {
      auto p = checked_mul(r, f);
      if (!p) {
        m_overflow = true;
        return 0;
      }
      r = *p;
    }
    return r;
  }

  uint64_t sum(std::initializer_list<uint64_t> terms) {
    uint64_t r = 0;
    for (uint64_t t : terms) {
      auto s = checked_add(r, t);
      if (!s) {
        m_overflow = true;
        return 0;
      }
      r = *s;
    }
    return r;
  }

  // A count the formula cannot do without; records the first missing one.
  uint64_t need(std::optional<uint64_t> value, std::string_view field) {
    if (value) {
      return *value;
    }
    if (m_missing.empty()) {
      m_missing = std::string(field);
    }
    return 0;
  }
  uint64_t need(std::string_view canonical) { return need(m_config.count(canonical), canonical); }

  // A count with the transformers default when config.json leaves it out (noted).
  uint64_t get_or(std::string_view canonical, uint64_t fallback) {
    if (auto v = m_config.count(canonical)) {
      return *v;
    }
    assume(fmt::format("{} defaulted to {}", canonical, fallback));
    return fallback;
  }

  bool flag_or(std::string_view dotted, bool fallback) const {
    const json* v = m_config.find(dotted);
    if (v && v->is_boolean()) {
      return v->get<bool>();
    }
    return fallback;
  }

  void add(std::string_view part, uint64_t n) {
    for (auto& [name, value] : m_parts) {
      if (name == part) {
        value = sum({value, n});
        return;
      }
    }
    m_parts.emplace_back(std::string(part), n);
  }

  void assume(std::string text) {
    if (std::find(m_assumptions.begin(), m_assumptions.end(), text) == m_assumptions.end()) {
      m_assumptions.push_back(std::move(text));
    }
  }

  // A config the formula cannot use (limits, inconsistent layer lists); first one wins.
  void reject(std::string why) {
    if (m_error.empty()) {
      m_error = std::move(why);
    }
  }

  Result<AnalyticCount> finish() {
    if (!m_missing.empty()) {
      return bad_input("config.json",
                       fmt::format("missing {} for {} analytic count", m_missing, m_family));
    }
    if (!m_error.empty()) {
      return bad_input("config.json", m_error);
    }
    AnalyticCount out;
    for (const auto& [name, value] : m_parts) {
      out.total = sum({out.total, value});
    }
    if (m_overflow) {
      return bad_input("config.json",
                       fmt::format("{} parameter count overflows 64 bits", m_family));
    }
    std::erase_if(m_parts, [](const auto& p) { return p.second == 0; });
    out.parts = std::move(m_parts);
    out.assumptions = std::move(m_assumptions);
    return out;
  }

 private:
  const ModelConfig& m_config;
  std::string m_family;
  std::vector<std::pair<std::string, uint64_t>> m_parts;
  std::vector<std::string> m_assumptions;
  std::string m_missing;
  std::string m_error;
  bool m_overflow = false;
};

// A non-negative integer inside a sub-config object (vision_config, ...).
std::optional<uint64_t> count_in(const json& object, std::string_view key) {
  if (!object.is_object()) {
    return std::nullopt;
  }
  auto it = object.find(std::string(key));
  return it == object.end() ? std::nullopt : json_count(*it);
}

std::string string_at(const ModelConfig& config, std::string_view dotted) {
  const json* v = config.find(dotted);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

// ---------------------------------------------------------------------------------------------
// Decoder-only families: one walk over the layers, shaped by traits.

enum class QkNorm { none, per_head, full };  // per_head: [head_dim]; full: [heads * head_dim]
enum class SharedExpert { none, deepseek, qwen, llama4, granite };
enum class Mtp { none, deepseek, glm, qwen_next };
enum class Vision { none, siglip, llama4, qwen3_vl, moonvit, pixtral };
enum class Ssm { mamba, mamba2 };

struct DecoderTraits {
  bool qkv_bias = false;
  bool o_bias = false;
  QkNorm qk_norm = QkNorm::none;
  bool gated_attention = false;   // q_proj also yields the output gate (Qwen3-Next)
  bool attention_sinks = false;   // one learned sink logit per head (gpt-oss)
  bool mla = false;               // DeepSeek multi-head latent attention
  bool dsa_indexer = false;       // DeepSeek sparse attention: a lightning indexer per layer
  bool kda = false;               // linear-attention layers are Kimi Delta Attention
  uint64_t kda_a_log_stored = 0;  // A_log entries a checkpoint stores per KDA layer (padding)
  bool gated_mlp = true;          // gate/up/down; false: up/down
  bool mlp_bias = false;
  bool norm_bias = false;            // LayerNorm with a bias
  unsigned layer_norms = 2;          // norms in each decoder layer
  bool position_embeddings = false;  // learned absolute positions (GPT-2)
  bool embedding_norm = false;       // LayerNorm after the embedding (BLOOM)
  bool lm_head_bias = false;         // Phi
  bool lm_head_stored = false;       // checkpoint stores lm_head even when tied (Falcon)
  bool router_bias = false;
  bool expert_bias = false;
  bool shared_expert_gate = false;  // sigmoid gate [1, hidden] on the shared expert (Qwen)
  SharedExpert shared = SharedExpert::none;
  std::string_view dense_size_key = "intermediate_size";  // MLP width of dense layers
  Ssm ssm = Ssm::mamba;
  bool ssm_inner_norms = false;  // dt/B/C RMSNorms inside the Mamba mixer (Jamba)
  // The Mamba-2 gated norm exists only when this config flag is set (Falcon-H1's
  // mamba_rms_norm, default false); empty: always.
  std::string_view ssm_norm_flag;
  Mtp mtp = Mtp::none;
  unsigned mtp_default = 0;  // MTP layers a checkpoint ships when config.json is silent
  Vision vision = Vision::none;
  // Gemma 3n: per-layer feed-forward widths (intermediate_size may be a list), per-layer
  // input embeddings, AltUp and LAuReL blocks (add_gemma3n).
  bool gemma3n = false;
};

struct Dims {
  uint64_t hidden = 0;
  uint64_t heads = 0;
  uint64_t kv_heads = 0;
  uint64_t head_dim = 0;
  uint64_t vocab = 0;
};

uint64_t norm_size(Tally& t, const DecoderTraits& tr, uint64_t width) {
  return tr.norm_bias ? t.mul({2, width}) : width;
}

void add_standard_attention(Tally& t, const DecoderTraits& tr, const Dims& d) {
  const uint64_t q_width = t.mul({d.heads, d.head_dim});
  const uint64_t kv_width = t.mul({d.kv_heads, d.head_dim});
  const uint64_t q_out = tr.gated_attention ? t.mul({2, q_width}) : q_width;
  uint64_t n =
      t.sum({t.mul({d.hidden, q_out}), t.mul({2, d.hidden, kv_width}), t.mul({q_width, d.hidden})});
  if (tr.qkv_bias) {
    n = t.sum({n, q_out, t.mul({2, kv_width})});
  }
  if (tr.o_bias) {
    n = t.sum({n, d.hidden});
  }
  if (tr.attention_sinks) {
    n = t.sum({n, d.heads});
  }
  t.add("attention", n);
  if (tr.qk_norm == QkNorm::per_head) {
    t.add("norms", t.mul({2, norm_size(t, tr, d.head_dim)}));
  } else if (tr.qk_norm == QkNorm::full) {
    t.add("norms", t.sum({norm_size(t, tr, q_width), norm_size(t, tr, kv_width)}));
  }
}

// q_lora_rank null: q_proj straight from hidden; else q_a_proj, q_a_layernorm, q_b_proj.
void add_mla_attention(Tally& t, const Dims& d) {
  const uint64_t kv_rank = t.need("kv_lora_rank");
  const uint64_t rope = t.need("qk_rope_head_dim");
  const uint64_t nope = t.need("qk_nope_head_dim");
  const uint64_t v_dim = t.need("v_head_dim");
  const uint64_t q_out = t.mul({d.heads, t.sum({nope, rope})});
  uint64_t n = 0;
  if (auto q_rank = t.config().count("q_lora_rank"); q_rank && *q_rank > 0) {
    n = t.sum({t.mul({d.hidden, *q_rank}), t.mul({*q_rank, q_out})});
    t.add("norms", *q_rank);
  } else {
    n = t.mul({d.hidden, q_out});
  }
  n = t.sum({n, t.mul({d.hidden, t.sum({kv_rank, rope})}),
             t.mul({kv_rank, d.heads, t.sum({nope, v_dim})}), t.mul({d.heads, v_dim, d.hidden})});
  if (t.flag_or("mla_use_output_gate", false)) {
    n = t.sum({n, t.mul({d.hidden, d.heads, v_dim})});  // g_proj: a sigmoid gate per channel
  }
  t.add("attention", n);
  t.add("norms", kv_rank);
}

// DSA lightning indexer (DeepSeek-V3.2 inference/model.py `Indexer`): wq_b from the query
// latent to index_n_heads x index_head_dim, wk from the hidden state to one key, k_norm (a
// LayerNorm, weight and bias) and weights_proj (one weight per indexer head).
void add_dsa_indexer(Tally& t, const Dims& d) {
  const uint64_t heads = t.need("index_n_heads");
  const uint64_t dim = t.need("index_head_dim");
  const uint64_t q_rank = t.need("q_lora_rank");
  t.add("attention",
        t.sum({t.mul({heads, dim, q_rank}), t.mul({dim, d.hidden}), t.mul({heads, d.hidden})}));
  t.add("norms", t.mul({2, dim}));
}

// Qwen3-Next / Qwen3.5 gated delta-net: in_proj_qkvz (or in_proj_qkv + in_proj_z), in_proj_ba,
// a depthwise conv over q/k/v, dt_bias and A_log per value head, a gated norm, out_proj.
void add_gated_delta_net(Tally& t, const Dims& d) {
  const uint64_t key_dim = t.mul({t.need("linear_num_key_heads"), t.need("linear_key_head_dim")});
  const uint64_t v_heads = t.need("linear_num_value_heads");
  const uint64_t v_head_dim = t.need("linear_value_head_dim");
  const uint64_t value_dim = t.mul({v_heads, v_head_dim});
  const uint64_t kernel = t.get_or("linear_conv_kernel_dim", 4);
  const uint64_t conv_dim = t.sum({t.mul({2, key_dim}), value_dim});
  t.add("attention", t.sum({t.mul({d.hidden, t.sum({t.mul({2, key_dim}), t.mul({2, value_dim})})}),
                            t.mul({d.hidden, 2, v_heads}), t.mul({conv_dim, kernel}),
                            t.mul({2, v_heads}), t.mul({value_dim, d.hidden})}));
  t.add("norms", v_head_dim);
}

// Kimi Delta Attention (Kimi Linear): q/k/v_proj and a short conv on each, A_log per head,
// the decay projections f_a (hidden -> head_dim) and f_b (head_dim -> heads x head_dim),
// dt_bias, b_proj (one beta per head), the output gate (g_a/g_b low-rank, or g_proj full
// rank), a gated o_norm over head_dim and o_proj.
void add_kda(Tally& t, const DecoderTraits& tr, const Dims& d) {
  const uint64_t heads = t.need("linear_num_key_heads");
  const uint64_t head_dim = t.need("linear_key_head_dim");
  const uint64_t kernel = t.get_or("linear_conv_kernel_dim", 4);
  const uint64_t width = t.mul({heads, head_dim});
  const uint64_t low_rank = t.sum({t.mul({d.hidden, head_dim}), t.mul({head_dim, width})});
  const uint64_t gate = t.flag_or("linear_attn_config.use_full_rank_gate", false)
                            ? t.mul({d.hidden, width})
                            : low_rank;
  uint64_t a_log = heads;
  if (tr.kda_a_log_stored > heads) {
    a_log = tr.kda_a_log_stored;
    t.assume(
        fmt::format("A_log stored padded to {} entries per KDA layer ({} heads)", a_log, heads));
  }
  t.add("attention", t.sum({t.mul({3, d.hidden, width}), t.mul({3, width, kernel}), a_log, low_rank,
                            width, t.mul({d.hidden, heads}), gate, t.mul({width, d.hidden})}));
  t.add("norms", head_dim);
}

uint64_t ssm_inner(Tally& t) {
  const uint64_t inner = ssm_inner_size(t.config());
  return inner > 0 ? inner : t.need(std::nullopt, "hidden_size");
}

// Mamba-1 mixer (Mamba, FalconMamba, Jamba): in_proj, conv1d, x_proj, dt_proj, A_log, D,
// out_proj. Mamba-2 mixer: in_proj (x, z, B, C, dt), conv1d over x/B/C, dt_bias, A_log, D,
// gated norm, out_proj.
void add_ssm_mixer(Tally& t, const DecoderTraits& tr, const Dims& d) {
  const ModelConfig& c = t.config();
  const uint64_t inner = ssm_inner(t);
  const uint64_t state = t.need("state_size");
  const uint64_t kernel = t.get_or("conv_kernel", 4);
  // Hybrids name the mixer's biases mamba_proj_bias / mamba_conv_bias (Jamba, Granite 4.0),
  // Mamba and Mamba-2 use_bias / use_conv_bias.
  const bool proj_bias = t.flag_or("mamba_proj_bias", t.flag_or("use_bias", false));
  const bool conv_bias = t.flag_or("mamba_conv_bias", t.flag_or("use_conv_bias", true));
  if (tr.ssm == Ssm::mamba) {
    uint64_t rank = 0;
    if (auto r = c.count("time_step_rank")) {
      rank = *r;
    } else {
      rank = (d.hidden + 15) / 16;
      t.assume("time_step_rank 'auto' = ceil(hidden_size / 16)");
    }
    uint64_t n = t.sum({t.mul({d.hidden, 2, inner}), t.mul({inner, kernel}),
                        t.mul({inner, t.sum({rank, t.mul({2, state})})}), t.mul({rank, inner}),
                        inner, t.mul({inner, state}), inner, t.mul({inner, d.hidden})});
    if (proj_bias) {
      n = t.sum({n, t.mul({2, inner}), d.hidden});
    }
    if (conv_bias) {
      n = t.sum({n, inner});
    }
    t.add("attention", n);
    if (tr.ssm_inner_norms) {
      t.add("norms", t.sum({rank, t.mul({2, state})}));  // dt, B, C layernorms
    }
    return;
  }
  const uint64_t heads =
      t.need(c.count("ssm_num_heads") ? c.count("ssm_num_heads") : c.num_heads, "num_heads");
  const uint64_t groups = t.get_or("ssm_n_groups", 1);
  const uint64_t conv_dim = t.sum({inner, t.mul({2, groups, state})});
  const uint64_t in_width = t.sum({inner, conv_dim, heads});
  uint64_t n = t.sum({t.mul({d.hidden, in_width}), t.mul({conv_dim, kernel}), t.mul({3, heads}),
                      t.mul({inner, d.hidden})});
  if (proj_bias) {
    n = t.sum({n, in_width});
  }
  // Falcon-H1 names out_proj's bias projectors_bias; elsewhere it follows in_proj's.
  if (t.flag_or("projectors_bias", proj_bias)) {
    n = t.sum({n, d.hidden});
  }
  if (conv_bias) {
    n = t.sum({n, conv_dim});
  }
  t.add("attention", n);
  if (tr.ssm_norm_flag.empty() || t.flag_or(tr.ssm_norm_flag, false)) {
    t.add("norms", inner);
  }
}

// LFM2 short convolution: in_proj to B, C and x (3 x conv_dim), a depthwise conv over
// conv_L_cache tokens, out_proj; biases on all three with conv_bias.
void add_short_conv(Tally& t, const Dims& d) {
  const uint64_t width = t.config().count("conv_dim").value_or(d.hidden);
  const uint64_t cache = t.get_or("conv_L_cache", 3);
  uint64_t n =
      t.sum({t.mul({d.hidden, 3, width}), t.mul({width, cache}), t.mul({width, d.hidden})});
  if (t.flag_or("conv_bias", false)) {
    n = t.sum({n, t.mul({3, width}), width, d.hidden});
  }
  t.add("attention", n);
}

uint64_t mlp_params(Tally& t, const DecoderTraits& tr, uint64_t hidden, uint64_t width) {
  uint64_t n = t.mul({tr.gated_mlp ? 3u : 2u, hidden, width});
  if (tr.mlp_bias) {
    n = t.sum({n, tr.gated_mlp ? t.mul({2, width}) : width, hidden});
  }
  return n;
}

void add_moe(Tally& t, const DecoderTraits& tr, const Dims& d) {
  const ModelConfig& c = t.config();
  const uint64_t experts = t.need(c.num_experts, "num_experts");
  const uint64_t width = c.moe_intermediate_size
                             ? *c.moe_intermediate_size
                             : t.need(c.intermediate_size, "moe_intermediate_size");
  // Latent MoE (Kimi K3): the routed experts work at routed_expert_hidden_size, behind a
  // down projection (with an optional norm) and an up projection shared by all experts.
  const uint64_t latent = c.count("routed_expert_hidden_size").value_or(0);
  const uint64_t expert_in = latent > 0 ? latent : d.hidden;
  if (latent > 0) {
    t.add("moe_latent", t.sum({t.mul({2, d.hidden, latent}),
                               t.flag_or("latent_moe_use_norm", false) ? latent : 0}));
  }
  uint64_t per_expert = t.mul({tr.gated_mlp ? 3u : 2u, expert_in, width});
  if (tr.expert_bias) {
    per_expert = t.sum({per_expert, t.mul({2, width}), d.hidden});
  }
  t.add("moe_experts", t.mul({experts, per_expert}));
  uint64_t router = t.mul({experts, d.hidden});
  if (tr.router_bias) {
    router = t.sum({router, experts});
  }
  if (family_traits(c.model_type).score_correction || string_at(c, "topk_method") == "noaux_tc") {
    router = t.sum({router, experts});  // e_score_correction_bias
  }
  t.add("router", router);
  uint64_t shared_width = 0;
  switch (tr.shared) {
    case SharedExpert::none:
      break;
    case SharedExpert::deepseek:
      shared_width = t.mul({c.num_shared_experts.value_or(0), width});
      break;
    case SharedExpert::qwen:
      shared_width = c.shared_expert_intermediate_size.value_or(0);
      break;
    case SharedExpert::llama4:
      shared_width = t.need(c.intermediate_size, "intermediate_size");
      break;
    case SharedExpert::granite:  // the shared_mlp beside the experts
      shared_width = t.need("shared_intermediate_size");
      break;
  }
  if (shared_width > 0) {
    t.add("shared_experts", t.mul({tr.gated_mlp ? 3u : 2u, d.hidden, shared_width}));
    if (tr.shared_expert_gate) {
      t.add("router", d.hidden);
    }
  }
}

uint64_t dense_width(Tally& t, const DecoderTraits& tr, uint64_t hidden) {
  if (tr.dense_size_key != "intermediate_size") {
    return t.need(tr.dense_size_key);
  }
  if (t.config().intermediate_size) {
    return *t.config().intermediate_size;
  }
  if (!tr.gated_mlp) {
    t.assume("intermediate_size defaulted to 4 * hidden_size");
    return t.mul({4, hidden});
  }
  return t.need(std::nullopt, "intermediate_size");
}

// One decoder layer of the given kinds; `indexer`: a sparse-attention layer with a DSA indexer
// of its own.
void add_layer(Tally& t, const DecoderTraits& tr, const Dims& d, MixerKind attention, FfnKind mlp,
               bool indexer = false) {
  if (attention == MixerKind::none) {
    // a feed-forward block only
  } else if (attention == MixerKind::linear_attention) {
    if (tr.kda) {
      add_kda(t, tr, d);
    } else {
      add_gated_delta_net(t, d);
    }
  } else if (attention == MixerKind::mamba) {
    add_ssm_mixer(t, tr, d);
  } else if (attention == MixerKind::attention_mamba) {
    add_standard_attention(t, tr, d);
    add_ssm_mixer(t, tr, d);
  } else if (attention == MixerKind::short_conv) {
    add_short_conv(t, d);
  } else if (tr.mla) {
    add_mla_attention(t, d);
    if (tr.dsa_indexer && indexer) {
      add_dsa_indexer(t, d);
    }
  } else {
    add_standard_attention(t, tr, d);
  }
  if (mlp == FfnKind::moe) {
    add_moe(t, tr, d);
  } else if (mlp != FfnKind::none) {
    t.add("mlp", mlp_params(t, tr, d.hidden, dense_width(t, tr, d.hidden)));
  }
  t.add("norms", t.mul({tr.layer_norms, norm_size(t, tr, d.hidden)}));
}

// SigLIP vision tower (Gemma 3): vision_config over SiglipVisionConfig defaults, plus
// Gemma 3's projector (mm_input_projection_weight, mm_soft_emb_norm).
void add_siglip_vision(Tally& t, const json& vc, uint64_t text_hidden) {
  const uint64_t h = count_in(vc, "hidden_size").value_or(768);
  const uint64_t inter = count_in(vc, "intermediate_size").value_or(3072);
  const uint64_t layers = count_in(vc, "num_hidden_layers").value_or(12);
  const uint64_t image = count_in(vc, "image_size").value_or(224);
  const uint64_t patch = count_in(vc, "patch_size").value_or(16);
  const uint64_t channels = count_in(vc, "num_channels").value_or(3);
  if (patch == 0 || layers > k_max_layers) {
    t.reject("vision_config: unusable patch_size or num_hidden_layers");
    return;
  }
  const uint64_t side = image / patch;
  const uint64_t layer =
      t.sum({t.mul({4, t.sum({t.mul({h, h}), h})}), t.mul({4, h}), t.mul({2, h, inter}), inter, h});
  uint64_t n = t.sum({t.mul({h, channels, patch, patch}), h, t.mul({side, side, h}),
                      t.mul({layers, layer}), t.mul({2, h})});
  auto use_head = vc.is_object() ? vc.find("vision_use_head") : json::const_iterator();
  if (!(vc.is_object() && use_head != vc.end() && use_head->is_boolean() &&
        !use_head->get<bool>())) {
    // Attention-pooling head: probe, in_proj, out_proj, layernorm, mlp.
    n = t.sum({n, h, t.mul({3, t.sum({t.mul({h, h}), h})}), t.sum({t.mul({h, h}), h}),
               t.mul({2, h}), t.mul({2, h, inter}), inter, h});
  }
  t.add("vision", n);
  t.add("projector", t.sum({t.mul({h, text_hidden}), h}));
}

// Llama 4 vision encoder, pixel-shuffle adapter and multi_modal_projector.linear_1.
void add_llama4_vision(Tally& t, const json& vc, uint64_t text_hidden) {
  auto need = [&](std::string_view key) {
    return t.need(count_in(vc, key), fmt::format("vision_config.{}", key));
  };
  const uint64_t h = need("hidden_size");
  const uint64_t inter = need("intermediate_size");
  const uint64_t layers = need("num_hidden_layers");
  const uint64_t image = need("image_size");
  const uint64_t patch = need("patch_size");
  const uint64_t channels = count_in(vc, "num_channels").value_or(3);
  const uint64_t proj_in = need("projector_input_dim");
  const uint64_t proj_out = need("projector_output_dim");
  const uint64_t out_dim = need("vision_output_dim");
  if (patch == 0 || layers > k_max_layers) {
    t.reject("vision_config: unusable patch_size or num_hidden_layers");
    return;
  }
  const uint64_t side = image / patch;
  const uint64_t layer =
      t.sum({t.mul({4, t.sum({t.mul({h, h}), h})}), t.mul({2, h, inter}), inter, h, t.mul({4, h})});
  t.add("vision",
        t.sum({t.mul({channels, patch, patch, h}), h, t.mul({t.sum({t.mul({side, side}), 1}), h}),
               t.mul({4, h}), t.mul({layers, layer}), t.mul({inter, proj_in}),
               t.mul({proj_out, proj_out})}));
  t.add("projector", t.mul({out_dim, text_hidden}));
}

// Qwen3-VL vision tower (Qwen3-VL, Qwen3.5): Conv3d patch embed, learned positions, pre-norm
// blocks with fused qkv; the 2x2 patch merger into the language model width, and one DeepStack
// merger per `deepstack_visual_indexes` entry (its LayerNorm after the 2x2 shuffle, so over
// the merged width).
void add_qwen3_vl_vision(Tally& t, const json& vc) {
  auto need = [&](std::string_view key) {
    return t.need(count_in(vc, key), fmt::format("vision_config.{}", key));
  };
  const uint64_t h = need("hidden_size");
  const uint64_t inter = need("intermediate_size");
  const uint64_t depth = need("depth");
  const uint64_t out = need("out_hidden_size");
  const uint64_t patch = need("patch_size");
  const uint64_t temporal = count_in(vc, "temporal_patch_size").value_or(2);
  const uint64_t channels = count_in(vc, "in_channels").value_or(3);
  const uint64_t merge = count_in(vc, "spatial_merge_size").value_or(2);
  const uint64_t positions = need("num_position_embeddings");
  if (depth > k_max_layers) {
    t.reject("vision_config: unusable depth");
    return;
  }
  const uint64_t block = t.sum({t.mul({4, h}), t.mul({3, h, h}), t.mul({3, h}), t.mul({h, h}), h,
                                t.mul({2, h, inter}), inter, h});
  t.add("vision", t.sum({t.mul({h, channels, temporal, patch, patch}), h, t.mul({positions, h}),
                         t.mul({depth, block})}));
  const uint64_t merged = t.mul({h, merge, merge});
  const uint64_t mlp = t.sum({t.mul({merged, merged}), merged, t.mul({merged, out}), out});
  t.add("projector", t.sum({t.mul({2, h}), mlp}));
  auto deepstack = vc.find("deepstack_visual_indexes");
  if (deepstack != vc.end() && deepstack->is_array()) {
    t.add("projector", t.mul({deepstack->size(), t.sum({t.mul({2, merged}), mlp})}));
  }
}

// Pixtral vision encoder (Mistral 3): a bias-free patch conv, ln_pre, RMSNorm blocks with
// q/k/v/o over the hidden width and a gated MLP (no position table: 2D RoPE); then Mistral 3's
// projector: RMSNorm, the spatial patch merger (merge^2 patches -> one) and two linears into the
// language model width (biased when multimodal_projector_bias).
void add_pixtral_vision(Tally& t, const ModelConfig& c, const json& vc, uint64_t text_hidden) {
  auto need = [&](std::string_view key) {
    return t.need(count_in(vc, key), fmt::format("vision_config.{}", key));
  };
  const uint64_t h = need("hidden_size");
  const uint64_t inter = need("intermediate_size");
  const uint64_t layers = need("num_hidden_layers");
  const uint64_t patch = need("patch_size");
  const uint64_t channels = count_in(vc, "num_channels").value_or(3);
  if (layers > k_max_layers) {
    t.reject("vision_config: unusable num_hidden_layers");
    return;
  }
  const uint64_t layer = t.sum({t.mul({4, h, h}), t.mul({3, h, inter}), t.mul({2, h})});
  t.add("vision", t.sum({t.mul({h, channels, patch, patch}), h, t.mul({layers, layer})}));
  const uint64_t merge = count_in(c.raw, "spatial_merge_size").value_or(2);
  // vision_feature_layer: one layer's features, or a list of layers concatenated.
  auto feature = c.raw.find("vision_feature_layer");
  const uint64_t features =
      feature != c.raw.end() && feature->is_array() ? feature->size() : uint64_t{1};
  const bool bias = t.flag_or("multimodal_projector_bias", false);
  uint64_t n = t.sum({h, t.mul({h, merge, merge, h}), t.mul({h, features, text_hidden}),
                      t.mul({text_hidden, text_hidden})});
  if (bias) {
    n = t.sum({n, t.mul({2, text_hidden})});
  }
  t.add("projector", n);
}

// MoonViT (Kimi K3): a patch projection without bias, a learned height x width position
// table, blocks of fused qkv (qkv_hidden_size wide), wo, two RMSNorms and a two-layer MLP, all
// without biases, a final norm; the patch merger projects merge-kernel groups to the text width
// and norms the result.
void add_moonvit_vision(Tally& t, const json& vc, uint64_t text_hidden) {
  auto need = [&](std::string_view key) {
    return t.need(count_in(vc, key), fmt::format("vision_config.{}", key));
  };
  const uint64_t h = need("vt_hidden_size");
  const uint64_t inter = need("vt_intermediate_size");
  const uint64_t depth = need("vt_num_hidden_layers");
  const uint64_t qkv = need("qkv_hidden_size");
  const uint64_t patch = need("patch_size");
  const uint64_t pos_h = need("init_pos_emb_height");
  const uint64_t pos_w = need("init_pos_emb_width");
  const uint64_t mm = need("mm_hidden_size");
  uint64_t merge = 1;
  if (auto it = vc.find("merge_kernel_size"); it != vc.end() && it->is_array()) {
    for (const json& k : *it) {
      merge = t.mul({merge, json_count(k).value_or(1)});
    }
  }
  for (const char* flag : {"attn_bias", "linear_bias", "patch_embed_proj_bias"}) {
    if (auto it = vc.find(flag); it != vc.end() && it->is_boolean() && it->get<bool>()) {
      t.reject(fmt::format("vision_config.{}: the biased MoonViT layout is not modelled", flag));
      return;
    }
  }
  if (depth > k_max_layers) {
    t.reject("vision_config: unusable vt_num_hidden_layers");
    return;
  }
  const uint64_t block =
      t.sum({t.mul({3, qkv, h}), t.mul({qkv, h}), t.mul({2, h}), t.mul({2, h, inter})});
  const uint64_t merged = t.mul({mm, merge});
  t.add("vision",
        t.sum({t.mul({h, 3, patch, patch}), t.mul({pos_h, pos_w, h}), t.mul({depth, block}), h,
               t.mul({merged, merged}), t.mul({text_hidden, merged}), text_hidden}));
}

// Gemma 3n (transformers modeling_gemma3n.py, Gemma3nTextModel / Gemma3nTextDecoderLayer):
// each layer's gated MLP at its own intermediate_size, AltUp (correct_output_scale,
// correction_coefs n x n, prediction_coefs n x n^2, modality_router hidden x n, router_norm),
// LAuReL (linear_left, linear_right of laurel_rank, post_laurel_norm), the per-layer input
// gate and projection (hidden x hidden_size_per_layer_input each) and its norm; the model adds
// embed_tokens_per_layer (vocab_size_per_layer_input x layers * hidden_size_per_layer_input),
// per_layer_model_projection, per_layer_projection_norm, and altup_num_inputs - 1
// altup_projections and altup_unembed_projections (hidden x hidden each).
void add_gemma3n(Tally& t, const Dims& d, uint64_t layers) {
  const ModelConfig& c = t.config();
  const uint64_t n = t.get_or("altup_num_inputs", 4);
  const uint64_t rank = t.get_or("laurel_rank", 64);
  const uint64_t per_layer = t.get_or("hidden_size_per_layer_input", 256);
  const uint64_t per_layer_vocab = t.get_or("vocab_size_per_layer_input", 262144);
  const json* widths = c.find("intermediate_size");
  if (widths && widths->is_array() && widths->size() != layers) {
    t.reject(
        fmt::format("intermediate_size lists {} widths, num_layers is {}", widths->size(), layers));
    return;
  }
  for (uint64_t i = 0; i < layers; ++i) {
    const uint64_t width = widths && widths->is_array()
                               ? t.need(json_count((*widths)[i]), "intermediate_size")
                               : t.need(c.intermediate_size, "intermediate_size");
    t.add("mlp", t.mul({3, d.hidden, width}));
    t.add("altup", t.sum({d.hidden, t.mul({n, n}), t.mul({n, n, n}), t.mul({d.hidden, n})}));
    t.add("laurel", t.mul({2, rank, d.hidden}));
    t.add("per_layer_input", t.mul({2, d.hidden, per_layer}));
    t.add("norms", t.mul({3, d.hidden}));  // router_norm, post_laurel_norm, post_per_layer_input
  }
  const uint64_t per_layer_width = t.mul({layers, per_layer});
  t.add("per_layer_embedding", t.mul({per_layer_vocab, per_layer_width}));
  t.add("per_layer_input", t.mul({d.hidden, per_layer_width}));
  t.add("norms", per_layer);
  t.add("altup", t.mul({2, n > 0 ? n - 1 : 0, d.hidden, d.hidden}));
  if (c.raw.contains("vision_config") || c.raw.contains("audio_config")) {
    t.assume("text model only: the vision and audio towers and their embedders are not counted");
  }
}

Result<AnalyticCount> count_decoder(const ModelConfig& c, const DecoderTraits& tr,
                                    const std::string& family) {
  Tally t(c, family);
  Dims d;
  d.hidden = t.need(c.hidden_size ? c.hidden_size : c.count("n_embed"), "hidden_size");
  d.vocab = t.need(c.vocab_size, "vocab_size");
  const uint64_t layers = t.need(c.num_layers, "num_layers");
  const bool attention_free = family_traits(c.model_type).schedule == LayerSchedule::ssm;
  if (!attention_free) {
    d.heads = t.need(c.num_heads, "num_heads");
    d.kv_heads = c.num_kv_heads.value_or(d.heads);
    d.head_dim = c.head_dim.value_or(d.heads > 0 ? d.hidden / d.heads : 0);
  }
  if (layers > k_max_layers) {
    t.reject(fmt::format("num_layers {} over the {} limit", layers, k_max_layers));
    return t.finish();
  }

  uint64_t embedding = t.mul({d.vocab, d.hidden});
  if (tr.position_embeddings) {
    embedding =
        t.sum({embedding,
               t.mul({t.need(c.max_position_embeddings, "max_position_embeddings"), d.hidden})});
  }
  t.add("embedding", embedding);
  if (tr.embedding_norm) {
    t.add("norms", norm_size(t, tr, d.hidden));
  }

  auto kind = [](const auto& kinds, uint64_t i, auto fallback) {
    return i < kinds.size() ? kinds[i] : fallback;
  };
  if ((!c.layer_attention.empty() && c.layer_attention.size() != layers) ||
      (!c.layer_mlp.empty() && c.layer_mlp.size() != layers)) {
    t.reject(fmt::format("layer_types lists {} layers, num_layers is {}",
                         std::max(c.layer_attention.size(), c.layer_mlp.size()), layers));
  }
  for (uint64_t i = 0; i < layers; ++i) {
    const MixerKind attention = kind(c.layer_attention, i, MixerKind::full_attention);
    const FfnKind mlp = tr.gemma3n
                            ? FfnKind::none  // per-layer widths: add_gemma3n
                            : kind(c.layer_mlp, i, c.is_moe() ? FfnKind::moe : FfnKind::dense);
    add_layer(t, tr, d, attention, mlp,
              attention == MixerKind::sparse_attention && kind(c.layer_indexer, i, true));
  }
  t.add("norms", norm_size(t, tr, d.hidden));
  if (tr.gemma3n) {
    add_gemma3n(t, d, layers);
  }
  // Attention Residuals (Kimi K3): each layer's attention and MLP inputs mix earlier block
  // outputs through a norm and a [1, hidden] pseudo-query; the output has its own pair.
  if (c.count("attn_res_block_size")) {
    t.add("attn_res", t.mul({t.sum({t.mul({layers, 2}), 1}), 2, d.hidden}));
  }

  const bool tied = c.tie_word_embeddings.value_or(false);
  if (!tied || tr.lm_head_stored) {
    t.add("lm_head", t.mul({d.vocab, d.hidden}));
    if (tied) {
      t.assume("checkpoint stores lm_head.weight beside the tied embedding");
    }
  }
  if (tr.lm_head_bias) {
    t.add("lm_head", d.vocab);
  }

  // Multi-token prediction modules, as the checkpoint stores them.
  uint64_t mtp_layers = 0;
  if (tr.mtp != Mtp::none) {
    if (auto n = c.count("num_mtp_layers")) {
      mtp_layers = *n;
    } else if (tr.mtp_default > 0) {
      mtp_layers = tr.mtp_default;
      t.assume(
          fmt::format("{} MTP layer(s): the {} checkpoint ships them though config.json "
                      "does not declare them",
                      mtp_layers, family));
    }
    if (mtp_layers > k_max_layers) {
      t.reject("MTP layer count over the layer limit");
      mtp_layers = 0;
    }
    if (mtp_layers > 0) {
      Tally m(c, family);
      const FfnKind mlp = c.is_moe() ? FfnKind::moe : FfnKind::dense;
      for (uint64_t i = 0; i < mtp_layers; ++i) {
        // A DSA model's MTP layer keeps an indexer of its own (DeepSeek-V3.2, GLM-5.2).
        add_layer(m, tr, d,
                  tr.dsa_indexer ? MixerKind::sparse_attention : MixerKind::full_attention, mlp,
                  tr.dsa_indexer);
        if (tr.mtp == Mtp::deepseek) {
          // embed_tokens, enorm, hnorm, eh_proj, shared_head.norm, shared_head.head
          m.add("mtp", m.sum({m.mul({2, d.vocab, d.hidden}), m.mul({3, d.hidden}),
                              m.mul({2, d.hidden, d.hidden})}));
        } else if (tr.mtp == Mtp::glm) {
          // enorm, hnorm, eh_proj, shared_head.norm: GLM's MTP layer shares the model's
          // embedding and head (the checkpoint stores none of its own)
          m.add("mtp", m.sum({m.mul({3, d.hidden}), m.mul({2, d.hidden, d.hidden})}));
        }
      }
      if (tr.mtp == Mtp::qwen_next) {
        // fc, pre_fc_norm_embedding, pre_fc_norm_hidden, norm
        m.add("mtp", m.sum({m.mul({2, d.hidden, d.hidden}), m.mul({3, d.hidden})}));
      }
      auto sub = m.finish();
      if (!sub) {
        return tl::unexpected(sub.error());
      }
      t.add("mtp", sub->total);
    }
  }

  if (tr.vision != Vision::none) {
    auto vit = c.raw.find("vision_config");
    const json* vc = vit != c.raw.end() ? &*vit : nullptr;
    if (vc && vc->is_object()) {
      switch (tr.vision) {
        case Vision::siglip:
          t.assume("vision tower: vision_config over SiglipVisionConfig defaults");
          add_siglip_vision(t, *vc, d.hidden);
          break;
        case Vision::llama4:
          add_llama4_vision(t, *vc, d.hidden);
          break;
        case Vision::qwen3_vl:
          add_qwen3_vl_vision(t, *vc);
          break;
        case Vision::moonvit:
          add_moonvit_vision(t, *vc, d.hidden);
          break;
        case Vision::pixtral:
          add_pixtral_vision(t, c, *vc, d.hidden);
          break;
        case Vision::none:
          break;
      }
    }
  }
  auto out = t.finish();
  if (out) {
    out->mtp_layers = mtp_layers;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Per-family trait adjustments that depend on config flags.

void tune_falcon(const ModelConfig& c, DecoderTraits& tr) {
  const json* bias = c.find("bias");
  const bool b = bias && bias->is_boolean() && bias->get<bool>();
  tr.qkv_bias = tr.o_bias = tr.mlp_bias = b;
  const json* nda = c.find("new_decoder_architecture");
  const bool new_arch = nda && nda->is_boolean() && nda->get<bool>();
  const json* par = c.find("parallel_attn");
  const bool parallel = !(par && par->is_boolean() && !par->get<bool>());
  if (new_arch) {
    tr.layer_norms = static_cast<unsigned>(c.count("num_ln_in_parallel_attn").value_or(2));
  } else {
    tr.layer_norms = parallel ? 1 : 2;
  }
  // tiiuae/falcon-7b, -40b and -180B store lm_head.weight beside word_embeddings unless the
  // config says otherwise (their Hub totals count it).
  const json* tie = c.find("tie_word_embeddings");
  tr.lm_head_stored = !(tie && tie->is_boolean());
}

void tune_starcoder2(const ModelConfig& c, DecoderTraits& tr) {
  const json* use_bias = c.find("use_bias");
  const bool b = !(use_bias && use_bias->is_boolean() && !use_bias->get<bool>());
  tr.qkv_bias = tr.o_bias = tr.mlp_bias = b;
}

void tune_phi(const ModelConfig& c, DecoderTraits& tr) {
  const json* qk = c.find("qk_layernorm");
  if (qk && qk->is_boolean() && qk->get<bool>()) {
    tr.qk_norm = QkNorm::per_head;  // q_layernorm / k_layernorm over head_dim, with bias
  }
}

void tune_llama_style(const ModelConfig& c, DecoderTraits& tr) {
  const json* ab = c.find("attention_bias");
  const bool a = ab && ab->is_boolean() && ab->get<bool>();
  tr.qkv_bias = tr.qkv_bias || a;
  tr.o_bias = tr.o_bias || a;
  const json* mb = c.find("mlp_bias");
  tr.mlp_bias = tr.mlp_bias || (mb && mb->is_boolean() && mb->get<bool>());
}

// ---------------------------------------------------------------------------------------------
// Encoder and other non-decoder families.

// BERT-style encoders. The heads follow what the original checkpoints store: Google's BERT
// checkpoints are BertForPreTraining (pooler + MLM transform + NSP) whatever architectures
// says; RoBERTa's are RobertaForMaskedLM (MLM head, no pooler).
struct EncoderHeads {
  bool pooler;
  bool mlm;
  bool nsp;
  std::string_view layout;
};

Result<AnalyticCount> count_encoder(const ModelConfig& c, const EncoderHeads& heads,
                                    const std::string& family) {
  Tally t(c, family);
  const uint64_t h = t.need(c.hidden_size, "hidden_size");
  const uint64_t layers = t.need(c.num_layers, "num_layers");
  const uint64_t inter = t.need(c.intermediate_size, "intermediate_size");
  const uint64_t vocab = t.need(c.vocab_size, "vocab_size");
  const uint64_t positions = t.need(c.max_position_embeddings, "max_position_embeddings");
  const uint64_t types = t.get_or("type_vocab_size", 2);
  t.assume(std::string(heads.layout));
  t.add("embedding", t.mul({t.sum({vocab, positions, types}), h}));
  t.add("norms", t.mul({2, h}));
  t.add("attention", t.mul({layers, 4, t.sum({t.mul({h, h}), h})}));
  t.add("mlp", t.mul({layers, t.sum({t.mul({2, h, inter}), inter, h})}));
  t.add("norms", t.mul({layers, 4, h}));
  if (heads.pooler) {
    t.add("other", t.sum({t.mul({h, h}), h}));
  }
  if (heads.mlm) {
    // transform.dense, transform.LayerNorm, decoder bias (decoder weight tied)
    t.add("lm_head", t.sum({t.mul({h, h}), h, t.mul({2, h}), vocab}));
  }
  if (heads.nsp) {
    t.add("other", t.sum({t.mul({2, h}), 2}));
  }
  return t.finish();
}

// T5 / Flan-T5: shared embedding, encoder and decoder stacks, relative attention bias in
// each stack's first block, lm_head when untied.
Result<AnalyticCount> count_t5(const ModelConfig& c, const std::string& family) {
  Tally t(c, family);
  const uint64_t d = t.need(c.hidden_size, "hidden_size");
  const uint64_t enc_layers = t.need(c.num_layers, "num_layers");
  const uint64_t dec_layers = c.count("num_decoder_layers").value_or(enc_layers);
  const uint64_t heads = t.need(c.num_heads, "num_heads");
  const uint64_t kv = t.need(c.head_dim, "head_dim");
  const uint64_t ff = t.need(c.intermediate_size, "intermediate_size");
  const uint64_t vocab = t.need(c.vocab_size, "vocab_size");
  const uint64_t buckets = t.get_or("relative_attention_num_buckets", 32);
  const std::string proj = string_at(c, "feed_forward_proj");
  const bool gated = proj.rfind("gated-", 0) == 0;
  if (proj.empty()) {
    t.assume("feed_forward_proj defaulted to relu (not gated)");
  }
  const uint64_t inner = t.mul({heads, kv});
  const uint64_t attention = t.mul({4, d, inner});
  const uint64_t mlp = t.mul({gated ? 3u : 2u, d, ff});
  t.add("embedding", t.mul({vocab, d}));
  t.add("attention", t.sum({t.mul({enc_layers, attention}), t.mul({dec_layers, 2, attention}),
                            t.mul({2, buckets, heads})}));
  t.add("mlp", t.mul({t.sum({enc_layers, dec_layers}), mlp}));
  t.add("norms", t.mul({t.sum({t.mul({2, enc_layers}), t.mul({3, dec_layers}), 2}), d}));
  if (!c.tie_word_embeddings.value_or(true)) {
    t.add("lm_head", t.mul({vocab, d}));
  }
  return t.finish();
}

// RWKV-4 (model_type "rwkv"): embeddings, blocks.0.pre_ln, per block ln1/ln2, time-mix
// (decay, first, three mixes, key/value/receptance/output) and channel-mix, ln_out, head.
Result<AnalyticCount> count_rwkv(const ModelConfig& c, const std::string& family) {
  Tally t(c, family);
  const uint64_t h = t.need(c.hidden_size, "hidden_size");
  const uint64_t layers = t.need(c.num_layers, "num_layers");
  const uint64_t vocab = t.need(c.vocab_size, "vocab_size");
  const uint64_t att = c.count("attention_hidden_size").value_or(h);
  uint64_t ffn = 0;
  if (c.intermediate_size) {
    ffn = *c.intermediate_size;
  } else {
    ffn = t.mul({4, h});
    t.assume("intermediate_size defaulted to 4 * hidden_size");
  }
  t.add("embedding", t.mul({vocab, h}));
  t.add("norms", t.mul({t.sum({t.mul({2, layers}), 2}), 2, h}));
  t.add("attention", t.mul({layers, t.sum({t.mul({2, att}), t.mul({3, h}), t.mul({3, h, att}),
                                           t.mul({att, h})})}));
  t.add("mlp", t.mul({layers, t.sum({t.mul({2, h}), t.mul({2, h, ffn}), t.mul({h, h})})}));
  if (!c.tie_word_embeddings.value_or(false)) {
    t.add("lm_head", t.mul({vocab, h}));
  }
  return t.finish();
}

// ---------------------------------------------------------------------------------------------
// The family table.

enum class Shape { decoder, encoder, t5, rwkv };

struct Family {
  std::string_view model_type;
  Shape shape;
  DecoderTraits traits;
  void (*tune)(const ModelConfig&, DecoderTraits&) = nullptr;
  EncoderHeads heads{false, false, false, ""};
};

DecoderTraits with(DecoderTraits tr, void (*edit)(DecoderTraits&)) {
  edit(tr);
  return tr;
}

const std::array k_families = {
    Family{"llama", Shape::decoder, DecoderTraits{}, tune_llama_style},
    // Mistral (and Mistral Small 3.x, whose text_config is "mistral" under a Mistral 3 root
    // with a Pixtral vision tower) and Ministral 3.
    Family{"mistral", Shape::decoder,
           with({}, [](DecoderTraits& t) { t.vision = Vision::pixtral; }), tune_llama_style},
    Family{"ministral3", Shape::decoder,
           with({}, [](DecoderTraits& t) { t.vision = Vision::pixtral; }), tune_llama_style},
    Family{"mixtral", Shape::decoder, DecoderTraits{}, tune_llama_style},
    Family{"phi3", Shape::decoder, DecoderTraits{}, tune_llama_style},
    Family{"smollm3", Shape::decoder, DecoderTraits{}, tune_llama_style},  // Llama + NoPE layers
    Family{"qwen2", Shape::decoder, with({}, [](DecoderTraits& t) { t.qkv_bias = true; })},
    Family{"qwen2_moe", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.qkv_bias = true;
                  t.shared = SharedExpert::qwen;
                  t.shared_expert_gate = true;
                })},
    Family{"qwen3", Shape::decoder,
           with(DecoderTraits{}, [](DecoderTraits& t) { t.qk_norm = QkNorm::per_head; }),
           tune_llama_style},
    Family{"qwen3_moe", Shape::decoder,
           with(DecoderTraits{}, [](DecoderTraits& t) { t.qk_norm = QkNorm::per_head; }),
           tune_llama_style},
    // Qwen3-VL: Qwen3 text layers (interleaved M-RoPE changes positions, not weights) under a
    // Qwen3-VL vision tower with DeepStack mergers.
    Family{"qwen3_vl_text", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.qk_norm = QkNorm::per_head;
                  t.vision = Vision::qwen3_vl;
                }),
           tune_llama_style},
    Family{"qwen3_vl_moe_text", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.qk_norm = QkNorm::per_head;
                  t.vision = Vision::qwen3_vl;
                }),
           tune_llama_style},
    Family{"qwen3_next", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.qk_norm = QkNorm::per_head;
                  t.gated_attention = true;
                  t.shared = SharedExpert::qwen;
                  t.shared_expert_gate = true;
                  t.mtp = Mtp::qwen_next;
                  t.mtp_default = 1;
                })},
    Family{"qwen3_5_text", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.qk_norm = QkNorm::per_head;
                  t.gated_attention = true;
                  t.mtp = Mtp::qwen_next;
                  t.vision = Vision::qwen3_vl;
                })},
    Family{"qwen3_5_moe_text", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.qk_norm = QkNorm::per_head;
                  t.gated_attention = true;
                  t.shared = SharedExpert::qwen;
                  t.shared_expert_gate = true;
                  t.mtp = Mtp::qwen_next;
                  t.vision = Vision::qwen3_vl;
                })},
    Family{"deepseek", Shape::decoder,
           with(DecoderTraits{}, [](DecoderTraits& t) { t.shared = SharedExpert::deepseek; }),
           tune_llama_style},
    Family{"deepseek_v2", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.mla = true;
                  t.shared = SharedExpert::deepseek;
                  t.mtp = Mtp::deepseek;
                })},
    Family{"deepseek_v3", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.mla = true;
                  t.shared = SharedExpert::deepseek;
                  t.mtp = Mtp::deepseek;
                })},
    // Kimi Linear: KDA and MLA layers (linear_attn_config), DeepSeek-style MoE.
    Family{"kimi_linear", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.mla = true;
                  t.kda = true;
                  t.shared = SharedExpert::deepseek;
                })},
    // Kimi K3 (a kimi_linear text model): the released checkpoint pads each KDA layer's A_log
    // to 128 entries; a MoonViT vision tower.
    Family{"kimi_k3", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.mla = true;
                  t.kda = true;
                  t.kda_a_log_stored = 128;
                  t.shared = SharedExpert::deepseek;
                  t.vision = Vision::moonvit;
                })},
    // DeepSeek-V3.2: DeepSeek-V3 with a lightning indexer in every layer, MTP layer included.
    Family{"deepseek_v32", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.mla = true;
                  t.dsa_indexer = true;
                  t.shared = SharedExpert::deepseek;
                  t.mtp = Mtp::deepseek;
                })},
    // GLM-5: the same layers (MLA + DSA indexer, DeepSeek MoE); indexer_types may leave layers
    // without an indexer (GLM-5.2); the MTP layer has no embedding or head of its own.
    Family{"glm_moe_dsa", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.mla = true;
                  t.dsa_indexer = true;
                  t.shared = SharedExpert::deepseek;
                  t.mtp = Mtp::glm;
                })},
    Family{"gpt_oss", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.qkv_bias = true;
                  t.o_bias = true;
                  t.attention_sinks = true;
                  t.router_bias = true;
                  t.expert_bias = true;
                })},
    // MiniMax-M2: q/k RMSNorm over the whole projection width, experts w1/w2/w3 behind a
    // sigmoid router with a score-correction bias, no shared expert. The config declares MTP
    // modules (num_mtp_modules) the published checkpoints do not ship.
    Family{"minimax_m2", Shape::decoder,
           with({}, [](DecoderTraits& t) { t.qk_norm = QkNorm::full; })},
    Family{"llama4_text", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.shared = SharedExpert::llama4;
                  t.dense_size_key = "intermediate_size_mlp";
                  t.vision = Vision::llama4;
                })},
    Family{"gemma", Shape::decoder, {}},
    Family{"gemma2", Shape::decoder, with({}, [](DecoderTraits& t) { t.layer_norms = 4; })},
    Family{"gemma3_text", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.layer_norms = 4;
                  t.qk_norm = QkNorm::per_head;
                  t.vision = Vision::siglip;
                })},
    // Gemma 3n: Gemma 3's layer (four norms, q/k norms; v_norm has no weight) plus AltUp,
    // LAuReL and per-layer inputs.
    Family{"gemma3n_text", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.layer_norms = 4;
                  t.qk_norm = QkNorm::per_head;
                  t.gemma3n = true;
                })},
    Family{"olmo2", Shape::decoder,
           with(DecoderTraits{}, [](DecoderTraits& t) { t.qk_norm = QkNorm::full; }),
           tune_llama_style},
    Family{"phi", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.qkv_bias = t.o_bias = t.mlp_bias = t.norm_bias = true;
                  t.gated_mlp = false;
                  t.layer_norms = 1;
                  t.lm_head_bias = true;
                }),
           tune_phi},
    Family{"gpt2", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.qkv_bias = t.o_bias = t.mlp_bias = t.norm_bias = true;
                  t.gated_mlp = false;
                  t.position_embeddings = true;
                })},
    Family{"bloom", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.qkv_bias = t.o_bias = t.mlp_bias = t.norm_bias = true;
                  t.gated_mlp = false;
                  t.embedding_norm = true;
                })},
    Family{"falcon", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.norm_bias = true;
                  t.gated_mlp = false;
                }),
           tune_falcon},
    Family{"starcoder2", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.norm_bias = true;
                  t.gated_mlp = false;
                }),
           tune_starcoder2},
    Family{"mamba", Shape::decoder, with({}, [](DecoderTraits& t) { t.layer_norms = 1; })},
    Family{"falcon_mamba", Shape::decoder, with({}, [](DecoderTraits& t) { t.layer_norms = 1; })},
    Family{"mamba2", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.layer_norms = 1;
                  t.ssm = Ssm::mamba2;
                })},
    Family{"jamba", Shape::decoder, with({}, [](DecoderTraits& t) { t.ssm_inner_norms = true; })},
    // Nemotron-H: a block is one Mamba-2 mixer, attention, MoE or MLP (hybrid_override_pattern),
    // behind one norm; MLPs and experts are up/down projections (relu2); one shared expert of
    // its own width; a score-corrected router.
    Family{"nemotron_h", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.layer_norms = 1;
                  t.gated_mlp = false;
                  t.ssm = Ssm::mamba2;
                  t.shared = SharedExpert::qwen;
                })},
    // Granite 4.0: Mamba-2 or attention per layer_types; every layer's feed-forward is a
    // gated shared_mlp (shared_intermediate_size), beside num_local_experts routed experts
    // when there are any.
    Family{"granitemoehybrid", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.ssm = Ssm::mamba2;
                  t.shared = SharedExpert::granite;
                  t.dense_size_key = "shared_intermediate_size";
                }),
           tune_llama_style},
    // Falcon-H1: attention and a Mamba-2 mixer side by side in every layer, then a gated MLP.
    Family{"falcon_h1", Shape::decoder,
           with({},
                [](DecoderTraits& t) {
                  t.ssm = Ssm::mamba2;
                  t.ssm_norm_flag = "mamba_rms_norm";
                }),
           tune_llama_style},
    // LFM2: short convolutions or attention (q/k norms over head_dim), each with a gated MLP.
    Family{"lfm2", Shape::decoder,
           with(DecoderTraits{}, [](DecoderTraits& t) { t.qk_norm = QkNorm::per_head; })},
    Family{"bert",
           Shape::encoder,
           {},
           nullptr,
           EncoderHeads{true, true, true,
                        "BERT layout as Google's checkpoints store it (BertForPreTraining): "
                        "pooler, MLM transform + decoder bias, NSP head; decoder weight tied"}},
    Family{"roberta",
           Shape::encoder,
           {},
           nullptr,
           EncoderHeads{false, true, false,
                        "RoBERTa layout as RobertaForMaskedLM checkpoints store it: MLM head, "
                        "no pooler; decoder weight tied"}},
    Family{"t5", Shape::t5, {}},
    Family{"rwkv", Shape::rwkv, {}},
};

// Other spellings of the same family (multimodal roots, old Falcon names).
struct FamilyAlias {
  std::string_view model_type;
  std::string_view family;
};

constexpr std::array k_family_aliases = {
    FamilyAlias{"llama4", "llama4_text"},
    FamilyAlias{"gemma3", "gemma3_text"},
    FamilyAlias{"gemma3n", "gemma3n_text"},
    FamilyAlias{"qwen3_5", "qwen3_5_text"},
    FamilyAlias{"qwen3_vl", "qwen3_vl_text"},
    FamilyAlias{"qwen3_vl_moe", "qwen3_vl_moe_text"},
    FamilyAlias{"qwen3_5_moe", "qwen3_5_moe_text"},
    FamilyAlias{"RefinedWeb", "falcon"},
    FamilyAlias{"RefinedWebModel", "falcon"},
    FamilyAlias{"mt5", "t5"},
    FamilyAlias{"kimi_k2", "deepseek_v3"},  // Kimi K2: DeepSeek-V3 under its own model_type
};

const Family* find_family(std::string_view model_type) {
  for (const FamilyAlias& a : k_family_aliases) {
    if (a.model_type == model_type) {
      model_type = a.family;
      break;
    }
  }
  for (const Family& f : k_families) {
    if (f.model_type == model_type) {
      return &f;
    }
  }
  return nullptr;
}

}  // namespace

Result<AnalyticCount> analytic_count(const ModelConfig& config) {
  // A multimodal root with a row of its own (Kimi K3) wins over its text model's family.
  const Family* family = find_family(config.root_model_type);
  if (!family || family->shape != Shape::decoder) {
    family = find_family(config.model_type);
  }
  if (!family) {
    return fail(ErrorKind::not_found, "config.json",
                "unknown family: no analytic formula for model_type '" + config.model_type + "'");
  }
  const std::string name(family->model_type);
  switch (family->shape) {
    case Shape::encoder:
      return count_encoder(config, family->heads, name);
    case Shape::t5:
      return count_t5(config, name);
    case Shape::rwkv:
      return count_rwkv(config, name);
    case Shape::decoder:
      break;
  }
  DecoderTraits traits = family->traits;
  if (family->tune) {
    family->tune(config, traits);
  }
  auto count = count_decoder(config, traits, name);
  if (count && config.is_moe() && config.top_k.value_or(0) > 0) {
    auto part = [&](std::string_view key) {
      uint64_t n = 0;
      for (const auto& [k, v] : count->parts) {
        n += k == key ? v : 0;
      }
      return n;
    };
    const uint64_t experts = part("moe_experts");
    const uint64_t top_k = std::min(*config.top_k, *config.num_experts);
    const uint64_t active =
        count->total - experts - part("mtp") + experts / *config.num_experts * top_k;
    count->active = active;
    count->active_excluding_embedding =
        config.tie_word_embeddings.value_or(false) ? active : active - part("embedding");
  }
  return count;
}

}  // namespace mbuild
