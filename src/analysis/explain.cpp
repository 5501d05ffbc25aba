#include "mbuild/analysis/explain.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "mbuild/arch/family.hpp"

namespace mbuild {
namespace {

bool contains(std::string_view s, std::string_view token) {
  return s.find(token) != std::string_view::npos;
}

std::string string_field(const ModelConfig& c, std::initializer_list<std::string_view> keys) {
  for (std::string_view k : keys) {
    if (const nlohmann::json* v = c.find(k); v && v->is_string()) {
      return v->get<std::string>();
    }
  }
  return {};
}

bool flag_field(const ModelConfig& c, std::string_view key) {
  const nlohmann::json* v = c.find(key);
  return v && v->is_boolean() && v->get<bool>();
}

AttentionFacts attention_facts(const ModelConfig& c, std::span<const MixerKind> mixers) {
  AttentionFacts a;
  a.heads = c.num_heads.value_or(0);
  a.kv_heads = c.num_kv_heads.value_or(0);
  a.head_dim = c.head_dim.value_or(0);
  a.sliding_window = c.sliding_window;
  for (MixerKind k : mixers) {
    if (k == MixerKind::linear_attention) {
      a.state_kind = "gated delta-net (linear attention)";
    } else if (k == MixerKind::mamba) {
      a.state_kind = "Mamba (selective SSM)";
    } else if (k == MixerKind::attention_mamba) {
      a.state_kind = "Mamba (selective SSM) beside the attention of the same layer";
    } else if (k == MixerKind::short_conv) {
      a.state_kind = "short convolution";
    } else if (k == MixerKind::rwkv) {
      a.state_kind = "RWKV (WKV recurrence)";
    }
  }
  auto kv = kv_cache(c, mixers, {.context = k_explain_context});
  if (kv) {
    a.full_layers = kv->full_layers;
    a.sliding_layers = kv->sliding_layers;
    a.mla_layers = kv->mla_layers;
    a.state_layers = kv->state_layers;
    a.kv_bytes = kv->bytes;
    a.state_bytes = kv->state_bytes_per_sequence;
    // The MHA cache at the same context: every head kept, no window.
    uint64_t mha = 0;
    if (!__builtin_mul_overflow(kv->mha_bytes_per_token, k_explain_context, &mha)) {
      a.mha_bytes = mha;
    }
    if (a.mha_bytes && *a.mha_bytes > 0) {
      a.saving = 1.0 - static_cast<double>(*a.kv_bytes) / static_cast<double>(*a.mha_bytes);
    }
  }
  if (a.mla_layers > 0) {
    a.kind = "MLA";
  } else if (kv && kv->full_layers + kv->sliding_layers == 0) {
    a.kind = "none";
  } else if (!kv && kv.error().kind == ErrorKind::not_found) {
    a.kind = "bidirectional MHA";
  } else if (a.kv_heads == 1 && a.heads > 1) {
    a.kind = "MQA";
  } else if (a.kv_heads > 0 && a.kv_heads < a.heads) {
    a.kind = "GQA";
  } else {
    a.kind = "MHA";
  }
  return a;
}

FfnFacts ffn_facts(const Model& model, const ModelConfig& c, std::span<const FfnKind> ffns) {
  FfnFacts f;
  f.hidden = c.hidden_size.value_or(0);
  f.intermediate = c.intermediate_size.value_or(0);
  f.activation = string_field(
      c, {"hidden_act", "hidden_activation", "activation_function", "feed_forward_proj"});
  if (!model.tensors.empty()) {
    f.gated = std::any_of(model.tensors.begin(), model.tensors.end(), [](const TensorInfo& t) {
      return contains(t.name, "gate_proj") || contains(t.name, "gate_up_proj") ||
             contains(t.name, ".w3.") || contains(t.name, "wi_0") || contains(t.name, "w3.weight");
    });
  } else {
    f.gated = family_traits(c.model_type).gated_ffn || contains(f.activation, "gated");
  }
  if (f.hidden > 0 && f.intermediate > 0) {
    f.expansion = static_cast<double>(f.intermediate) / static_cast<double>(f.hidden);
  }
  for (FfnKind k : ffns) {
    f.moe_layers += k == FfnKind::moe ? 1U : 0U;
    f.dense_layers += k == FfnKind::dense ? 1U : 0U;
  }
  if (c.is_moe()) {
    f.experts = *c.num_experts;
    f.top_k = c.top_k.value_or(0);
    f.expert_intermediate = c.moe_intermediate_size.value_or(f.intermediate);
    f.shared_experts =
        c.num_shared_experts.value_or(c.shared_expert_intermediate_size.has_value() ? 1 : 0);
  }
  const bool silu = contains(f.activation, "silu") || contains(f.activation, "swish");
  const bool gelu = contains(f.activation, "gelu");
  if (f.moe_layers == 0 && f.dense_layers == 0) {
    f.kind = "none";
  } else if (f.gated) {
    f.kind = silu || f.activation.empty() ? "SwiGLU" : gelu ? "GeGLU" : "gated MLP";
  } else {
    f.kind = gelu ? "GELU MLP" : contains(f.activation, "relu") ? "ReLU MLP" : "MLP";
  }
  return f;
}

}  // namespace

NormFacts norm_facts(const Model& model, const ModelConfig& c, const ParamCount& params) {
  NormFacts n;
  n.eps = c.norm_eps;
  std::string_view first_norm, biased;
  for (size_t i = 0; i < model.tensors.size() && i < params.classes.size(); ++i) {
    // A DSA lightning indexer's key norm (a LayerNorm) is not one of the model's layer norms.
    if (params.classes[i].component == Component::norms &&
        !contains(model.tensors[i].name, ".indexer.")) {
      const std::string_view name = model.tensors[i].name;
      if (first_norm.empty()) {
        first_norm = name;
      }
      // Old TensorFlow-born checkpoints (BERT) name LayerNorm's scale and shift gamma / beta.
      if (biased.empty() && (name.ends_with(".bias") || name.ends_with(".beta"))) {
        biased = name;
      }
    }
  }
  if (!first_norm.empty()) {
    // LayerNorm re-centres and carries a bias; RMSNorm (and T5's norm) only scales.
    n.kind = biased.empty() ? "RMSNorm" : "LayerNorm";
    n.evidence = biased.empty() ? fmt::format("no norm tensor has a bias ({})", first_norm)
                                : fmt::format("a norm with a bias: {}", biased);
  } else {
    // The config's epsilon field names the norm; naming neither, RMSNorm.
    const bool rms_named = c.find("rms_norm_eps") || family_traits(c.model_type).rms_norm;
    const bool layer_norm_named = c.find("layer_norm_eps") || c.find("layer_norm_epsilon");
    n.kind = !rms_named && layer_norm_named ? "LayerNorm" : "RMSNorm";
    n.evidence = !rms_named && layer_norm_named ? "config.json names layer_norm_eps"
                 : c.find("rms_norm_eps")       ? "config.json names rms_norm_eps"
                                                : "no norm tensor; RMSNorm assumed";
  }
  return n;
}

PositionFacts position_facts(const Model& model, const ModelConfig& c,
                             std::span<const MixerKind> mixers) {
  if (mixers.empty()) {
    mixers = c.layer_attention;
  }
  PositionFacts p;
  p.max_positions = c.max_position_embeddings;
  const PositionKind family_position = family_traits(c.model_type).position;
  const bool recurrent_only =
      !mixers.empty() && std::all_of(mixers.begin(), mixers.end(), [](MixerKind k) {
        return k == MixerKind::mamba || k == MixerKind::rwkv || k == MixerKind::none;
      });
  const auto table =
      std::find_if(model.tensors.begin(), model.tensors.end(), [](const TensorInfo& t) {
        return contains(t.name, "wpe.") || contains(t.name, "position_embeddings.");
      });
  const auto relative =
      std::find_if(model.tensors.begin(), model.tensors.end(),
                   [](const TensorInfo& t) { return contains(t.name, "relative_attention_bias"); });
  if (recurrent_only) {
    p.kind = "none";
    p.evidence = "every layer is a recurrent mixer";
  } else if (const nlohmann::json* pe = c.find("position_embedding_type");
             pe && pe->is_string() && pe->get_ref<const std::string&>() == "nope") {
    p.kind = "none";
    p.evidence = "config.json sets position_embedding_type \"nope\"";
  } else if (family_position == PositionKind::none) {
    p.kind = "none";
    p.evidence = fmt::format("{} attention carries no positions (family table)", c.model_type);
  } else if (family_position == PositionKind::alibi || flag_field(c, "alibi") ||
             flag_field(c, "attn_config.alibi")) {
    p.kind = "ALiBi";
    p.evidence = family_position == PositionKind::alibi
                     ? fmt::format("{} uses ALiBi (family table)", c.model_type)
                     : std::string("config.json sets alibi");
  } else if (family_position == PositionKind::t5_relative ||
             c.find("relative_attention_num_buckets") || relative != model.tensors.end()) {
    p.kind = "relative (T5 buckets)";
    p.evidence = relative != model.tensors.end() ? std::string(relative->name)
                                                 : std::string("relative_attention_num_buckets");
  } else if (table != model.tensors.end() || family_position == PositionKind::learned) {
    p.kind = "learned absolute";
    p.evidence = table != model.tensors.end()
                     ? fmt::format("a position table: {}", table->name)
                     : fmt::format("{} learns absolute positions (family table)", c.model_type);
  } else {
    p.kind = "RoPE";
    p.evidence = "no position table, ALiBi or relative bias: rotary";
    p.rope_theta = c.rope_theta;
    if (!p.rope_theta) {
      p.rope_theta = 10000.0;  // the transformers default base
      p.theta_assumed = true;
    }
    p.wavelength = 2.0 * std::numbers::pi * *p.rope_theta;
    if (const nlohmann::json* rs = c.find("rope_scaling"); rs && rs->is_object()) {
      for (const char* key : {"rope_type", "type"}) {
        if (auto t = rs->find(key); t != rs->end() && t->is_string()) {
          p.scaling = t->get<std::string>();
          break;
        }
      }
      if (auto f = rs->find("factor"); f != rs->end() && f->is_number()) {
        p.scaling_factor = f->get<double>();
      }
      if (p.scaling.empty()) {
        p.scaling = "rope_scaling";
      }
    }
  }
  return p;
}

ArchitectureExplanation explain_architecture(const Model& model, const ParamCount& params,
                                             uint64_t total, std::span<const MixerKind> mixers,
                                             std::span<const FfnKind> ffns) {
  ArchitectureExplanation e;
  const uint64_t n = total;
  if (model.config) {
    const ModelConfig& c = *model.config;
    if (mixers.empty()) {
      mixers = c.layer_attention;
    }
    if (ffns.empty()) {
      ffns = c.layer_mlp;
    }
    e.attention = attention_facts(c, mixers);
    e.ffn = ffn_facts(model, c, ffns);
    e.norm = norm_facts(model, c, params);
    e.position = position_facts(model, c, mixers);
  }
  e.scaling.params = n;
  e.scaling.active = params.routed_expert_params > 0 ? params.active : std::nullopt;
  // Chinchilla (Hoffmann et al., 2022): ~20 training tokens per parameter; training compute
  // ~6·N·D FLOPs (forward 2·N·D, backward 4·N·D).
  const auto nd = static_cast<double>(n);
  e.scaling.chinchilla_tokens = 20.0 * nd;
  e.scaling.training_flops = 6.0 * nd * e.scaling.chinchilla_tokens;
  e.formats = weight_formats(n);
  return e;
}

}  // namespace mbuild
