#include "mbuild/model/model_config.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "mbuild/arch/family.hpp"
#include "mbuild/util/json_guard.hpp"

#include "util/checked.hpp"

namespace mbuild {
namespace {

using nlohmann::json;

const json* lookup_path(const json& object, std::string_view dotted) {
  const json* node = &object;
  size_t start = 0;
  while (true) {
    if (!node->is_object()) {
      return nullptr;
    }
    size_t dot = dotted.find('.', start);
    // A string_view key: the object's comparator is transparent, so no string is built.
    std::string_view key = dotted.substr(start, dot == std::string_view::npos ? dot : dot - start);
    auto it = node->find(key);
    if (it == node->end()) {
      return nullptr;
    }
    node = &*it;
    if (dot == std::string_view::npos) {
      return node;
    }
    start = dot + 1;
  }
}

template <class F>
void for_each_path(std::string_view paths, F&& f) {
  size_t start = 0;
  while (start < paths.size()) {
    size_t space = paths.find(' ', start);
    if (space == std::string_view::npos) {
      space = paths.size();
    }
    if (f(paths.substr(start, space - start))) {
      return;
    }
    start = space + 1;
  }
}

// A count as configs write them: an integer, or a float with no fraction (some writers emit
// 4096.0).
std::optional<uint64_t> as_count(const json& v) {
  if (auto n = json_count(v)) {
    return n;
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d >= 0 && d < 9.0e15 && std::floor(d) == d) {
      return static_cast<uint64_t>(d);
    }
  }
  return std::nullopt;
}

std::optional<double> as_number(const json& v) {
  if (v.is_number()) {
    return v.get<double>();
  }
  if (v.is_boolean()) {
    return v.get<bool>() ? 1.0 : 0.0;
  }
  return std::nullopt;
}

std::string text_model_type(const json& root) {
  for (const char* key : {"text_config", "llm_config", "language_config"}) {
    auto it = root.find(key);
    if (it != root.end() && it->is_object()) {
      auto mt = it->find("model_type");
      if (mt != it->end() && mt->is_string()) {
        return mt->get<std::string>();
      }
    }
  }
  auto mt = root.find("model_type");
  return mt != root.end() && mt->is_string() ? mt->get<std::string>() : std::string();
}

}  // namespace

uint64_t ssm_inner_size(const ModelConfig& config) {
  if (auto inner = config.count("ssm_inner_size")) {
    return *inner;
  }
  const auto heads = config.count("ssm_num_heads");
  const auto head_dim = config.count("ssm_head_dim");
  if (heads && head_dim) {
    return checked_mul(*heads, *head_dim).value_or(0);
  }
  if (family_traits(config.model_type).ssm_width_is_intermediate && config.intermediate_size) {
    return *config.intermediate_size;
  }
  return checked_mul(config.count("expand").value_or(2), config.hidden_size.value_or(0))
      .value_or(0);
}

std::string quote_nonfinite_tokens(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
      continue;
    }
    bool replaced = false;
    for (std::string_view token : {"-Infinity", "Infinity", "NaN"}) {
      if (text.substr(i, token.size()) == token) {
        out += '"';
        out += token;
        out += '"';
        i += token.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) {
      out += c;
    }
  }
  return out;
}

const json* ModelConfig::find(std::string_view dotted_path) const {
  if (text.is_object()) {
    if (const json* v = lookup_path(text, dotted_path)) {
      return v;
    }
  }
  return lookup_path(raw, dotted_path);
}

std::optional<double> ModelConfig::number(std::string_view canonical) const {
  std::optional<double> out;
  if (const ConfigAlias* alias = find_config_alias(canonical)) {
    for_each_path(alias->paths, [&](std::string_view path) {
      if (const json* v = find(path); v && !v->is_null()) {
        out = as_number(*v);
        return out.has_value();
      }
      return false;
    });
  } else if (const json* v = find(canonical); v && !v->is_null()) {
    out = as_number(*v);
  }
  if (!out) {
    return family_default(model_type, canonical);
  }
  return out;
}

std::optional<uint64_t> ModelConfig::count(std::string_view canonical) const {
  auto n = number(canonical);
  if (!n || *n < 0 || *n >= 9.0e15 || std::floor(*n) != *n) {
    return std::nullopt;
  }
  return static_cast<uint64_t>(*n);
}

std::optional<bool> ModelConfig::flag(std::string_view canonical) const {
  auto n = number(canonical);
  if (!n) {
    return std::nullopt;
  }
  return *n != 0;
}

Result<ModelConfig> parse_model_config(std::string_view file, std::string_view text) {
  const std::string where(file);
  if (text.size() > k_max_config_bytes) {
    return bad_input(
        where, fmt::format("{} bytes, over the {} byte limit", text.size(), k_max_config_bytes));
  }
  ModelConfig cfg;
  // Most configs have no bare non-finite token and are parsed without the quoting copy.
  const bool finite =
      text.find("NaN") == std::string_view::npos && text.find("Infinity") == std::string_view::npos;
  const std::string quoted = finite ? std::string() : quote_nonfinite_tokens(text);
  auto raw = parse_json_object<json>(where, finite ? text : std::string_view(quoted));
  if (!raw) {
    return tl::unexpected(raw.error());
  }
  cfg.raw = std::move(*raw);
  for (const char* key : {"text_config", "llm_config", "language_config"}) {
    auto it = cfg.raw.find(key);
    if (it != cfg.raw.end() && it->is_object()) {
      cfg.text = *it;
      break;
    }
  }
  cfg.model_type = text_model_type(cfg.raw);
  if (auto mt = cfg.raw.find("model_type"); mt != cfg.raw.end() && mt->is_string()) {
    cfg.root_model_type = mt->get<std::string>();
  }
  if (auto arch = cfg.raw.find("architectures"); arch != cfg.raw.end() && arch->is_array()) {
    for (const json& a : *arch) {
      if (a.is_string()) {
        cfg.architectures.push_back(a.get<std::string>());
      }
    }
  }

  // Every aliased field that is present must have a usable type: counts are non-negative
  // integers, the rest numbers or booleans.
  for (const ConfigAlias& alias : config_aliases()) {
    std::optional<Error> bad;
    for_each_path(alias.paths, [&](std::string_view path) {
      const json* v = cfg.find(path);
      if (!v || v->is_null()) {
        return false;
      }
      bool ok = alias.canonical == "tie_word_embeddings" ? v->is_boolean()
                : alias.canonical == "rope_theta" || alias.canonical == "norm_eps"
                    ? v->is_number()
                    : as_count(*v).has_value();
      if (alias.canonical == "sliding_window" && (v->is_boolean() || v->is_string())) {
        ok = true;  // some configs write false / "null"
      }
      if (alias.canonical == "intermediate_size" && v->is_array() && !v->empty()) {
        // one width per layer (Gemma 3n)
        ok = std::all_of(v->begin(), v->end(),
                         [](const json& w) { return as_count(w).has_value(); });
      }
      if (!ok) {
        bad = Error{ErrorKind::bad_input, where,
                    fmt::format("field '{}' has an unusable value {}", path, excerpt(v->dump()))};
      }
      return true;
    });
    if (bad) {
      return tl::unexpected(*bad);
    }
  }

  auto note_default = [&](std::string_view canonical) {
    bool present = false;
    if (const ConfigAlias* alias = find_config_alias(canonical)) {
      for_each_path(alias->paths, [&](std::string_view path) {
        const json* v = cfg.find(path);
        present = v && !v->is_null();
        return present;
      });
    }
    if (!present && cfg.number(canonical)) {
      cfg.defaulted.emplace_back(canonical);
    }
  };
  for (std::string_view f :
       {"hidden_size", "num_layers", "num_heads", "num_kv_heads", "head_dim", "intermediate_size",
        "vocab_size", "max_position_embeddings", "tie_word_embeddings"}) {
    note_default(f);
  }

  cfg.hidden_size = cfg.count("hidden_size");
  cfg.num_layers = cfg.count("num_layers");
  cfg.num_heads = cfg.count("num_heads");
  cfg.num_kv_heads = cfg.count("num_kv_heads");
  cfg.head_dim = cfg.count("head_dim");
  cfg.intermediate_size = cfg.count("intermediate_size");
  cfg.vocab_size = cfg.count("vocab_size");
  cfg.max_position_embeddings = cfg.count("max_position_embeddings");
  cfg.tie_word_embeddings = cfg.flag("tie_word_embeddings");
  cfg.rope_theta = cfg.number("rope_theta");
  cfg.norm_eps = cfg.number("norm_eps");
  cfg.num_experts = cfg.count("num_experts");
  cfg.top_k = cfg.count("top_k");
  cfg.moe_intermediate_size = cfg.count("moe_intermediate_size");
  cfg.num_shared_experts = cfg.count("num_shared_experts");
  cfg.shared_expert_intermediate_size = cfg.count("shared_expert_intermediate_size");
  for (const char* key : {"torch_dtype", "dtype"}) {
    if (const json* v = cfg.find(key); v && v->is_string()) {
      cfg.torch_dtype = v->get<std::string>();
      break;
    }
  }

  const FamilyTraits& family = family_traits(cfg.model_type);
  // Falcon: multi_query means one KV head unless the new decoder architecture names its own.
  if (family.multi_query_flag) {
    const json* nda = cfg.find("new_decoder_architecture");
    const json* mq = cfg.find("multi_query");
    bool new_arch = nda && nda->is_boolean() && nda->get<bool>();
    if (!new_arch && mq && mq->is_boolean() && mq->get<bool>()) {
      cfg.num_kv_heads = 1;
    }
  }
  if (!cfg.num_kv_heads && cfg.num_heads) {
    cfg.num_kv_heads = cfg.num_heads;
  }
  if (!cfg.head_dim && cfg.hidden_size && cfg.num_heads && *cfg.num_heads > 0) {
    cfg.head_dim = *cfg.hidden_size / *cfg.num_heads;
  }
  // GPT-2 (n_inner null), BLOOM and Falcon: a 4x MLP; MPT names an expansion ratio.
  if (!cfg.intermediate_size && cfg.hidden_size) {
    if (const json* ratio = cfg.find("expansion_ratio"); ratio && ratio->is_number()) {
      cfg.intermediate_size =
          static_cast<uint64_t>(ratio->get<double>() * static_cast<double>(*cfg.hidden_size));
    } else if (family.mlp_4x) {
      cfg.intermediate_size = 4 * *cfg.hidden_size;
    }
  }

  // LFM2: the feed-forward is block_ff_dim (intermediate_size) cut to 2/3, scaled by
  // block_ffn_dim_multiplier and rounded up to block_multiple_of (transformers' Lfm2MLP).
  if (family.ffn_width_adjusted && cfg.intermediate_size &&
      cfg.flag("block_auto_adjust_ff_dim").value_or(true)) {
    uint64_t ff = 2 * *cfg.intermediate_size / 3;
    if (auto m = cfg.number("block_ffn_dim_multiplier"); m && *m > 0) {
      const double scaled = *m * static_cast<double>(ff);
      ff = scaled < 9.0e15 ? static_cast<uint64_t>(scaled) : ff;  // a crafted config may not
    }
    const uint64_t multiple = cfg.count("block_multiple_of").value_or(256);
    if (multiple > 0) {
      ff = multiple * ((ff + multiple - 1) / multiple);
    }
    cfg.intermediate_size = ff;
  }

  // Per-layer attention kinds.
  const uint64_t layers = std::min<uint64_t>(cfg.num_layers.value_or(0), 100'000);
  // false, 0 and "null" switch the window off; only an absent field takes the family default.
  if (const json* sw = cfg.find("sliding_window"); sw && !sw->is_null()) {
    cfg.sliding_window = as_count(*sw);
    if (cfg.sliding_window == 0U) {
      cfg.sliding_window.reset();
    }
  } else {
    cfg.sliding_window = cfg.count("sliding_window");  // family default
  }
  // Nemotron-H: one block per index, either a token mixer or a feed-forward, one character
  // each: M Mamba-2, * attention, E MoE, - MLP.
  std::string_view hybrid;
  if (const json* hp = cfg.find("hybrid_override_pattern"); hp && hp->is_string()) {
    hybrid = hp->get_ref<const std::string&>();
  }
  auto hybrid_block = [](char c) -> std::pair<MixerKind, FfnKind> {
    switch (c) {
      case 'M':
        return {MixerKind::mamba, FfnKind::none};
      case '*':
        return {MixerKind::full_attention, FfnKind::none};
      case 'E':
        return {MixerKind::none, FfnKind::moe};
      case '-':
        return {MixerKind::none, FfnKind::dense};
      default:
        return {MixerKind::unknown, FfnKind::unknown};
    }
  };
  const bool known_family = !family.model_type.empty();
  // Kimi Linear: linear_attn_config.full_attn_layers lists the (1-based) softmax-attention
  // layers; the others are KDA linear attention (kda_layers).
  const json* full_layers = cfg.find("linear_attn_config.full_attn_layers");
  if (full_layers && !full_layers->is_array()) {
    full_layers = nullptr;
  }
  // LFM2 full_attn_idxs (when there is no layer_types): attention there, short convolutions
  // elsewhere.
  const json* full_idxs = cfg.find("full_attn_idxs");
  if (full_idxs && !full_idxs->is_array()) {
    full_idxs = nullptr;
  }
  cfg.layer_kinds_stated = known_family || !hybrid.empty() || cfg.find("layer_types") ||
                           full_layers || full_idxs || cfg.count("full_attention_interval");
  cfg.mlp_kinds_stated = known_family || !hybrid.empty() || cfg.find("mlp_layer_types") ||
                         !cfg.is_moe() || cfg.find("first_k_dense_replace") ||
                         cfg.find("moe_layer_freq") || cfg.find("decoder_sparse_step") ||
                         cfg.find("interleave_moe_layer_step") || cfg.find("mlp_only_layers") ||
                         cfg.find("expert_layer_period");
  if (!hybrid.empty()) {
    for (char c : hybrid) {
      cfg.layer_attention.push_back(hybrid_block(c).first);
    }
  } else if (const json* lt = cfg.find("layer_types"); lt && lt->is_array()) {
    for (const json& v : *lt) {
      cfg.layer_attention.push_back(v.is_string() ? mixer_kind_of(v.get<std::string>())
                                                  : MixerKind::unknown);
    }
  } else if (full_layers) {
    std::set<uint64_t> full;
    for (const json& v : *full_layers) {
      if (auto n = as_count(v)) {
        full.insert(*n);
      }
    }
    for (uint64_t i = 0; i < layers; ++i) {
      cfg.layer_attention.emplace_back(full.count(i + 1) ? MixerKind::full_attention
                                                         : MixerKind::linear_attention);
    }
  } else if (full_idxs) {
    cfg.layer_attention.assign(layers, MixerKind::short_conv);
    for (const json& v : *full_idxs) {
      if (auto i = as_count(v); i && *i < layers) {
        cfg.layer_attention[*i] = MixerKind::full_attention;
      }
    }
  } else if (auto interval = cfg.count("full_attention_interval"); interval && *interval > 0) {
    for (uint64_t i = 0; i < layers; ++i) {
      cfg.layer_attention.emplace_back((i + 1) % *interval == 0 ? MixerKind::full_attention
                                                                : MixerKind::linear_attention);
    }
  } else if (family.schedule == LayerSchedule::gemma3) {
    uint64_t pattern = cfg.count("sliding_window_pattern").value_or(6);
    for (uint64_t i = 0; i < layers; ++i) {
      cfg.layer_attention.emplace_back(pattern > 0 && (i + 1) % pattern == 0
                                           ? MixerKind::full_attention
                                           : MixerKind::sliding_attention);
    }
  } else if (family.schedule == LayerSchedule::alternating) {
    for (uint64_t i = 0; i < layers; ++i) {
      cfg.layer_attention.emplace_back((i + 1) % 2 ? MixerKind::sliding_attention
                                                   : MixerKind::full_attention);
    }
  } else if (family.schedule == LayerSchedule::ssm) {
    cfg.layer_attention.assign(layers, MixerKind::mamba);
  } else if (family.schedule == LayerSchedule::rwkv) {
    cfg.layer_attention.assign(layers, MixerKind::rwkv);
  } else if (family.schedule == LayerSchedule::parallel_hybrid) {
    cfg.layer_attention.assign(layers, MixerKind::attention_mamba);
  } else if (family.sparse_indexer) {
    cfg.layer_attention.assign(layers, MixerKind::sparse_attention);
  } else if (family.schedule == LayerSchedule::jamba) {
    uint64_t period = cfg.count("attn_layer_period").value_or(8);
    uint64_t offset = cfg.count("attn_layer_offset").value_or(4);
    for (uint64_t i = 0; i < layers; ++i) {
      cfg.layer_attention.emplace_back(
          period > 0 && i % period == offset ? MixerKind::full_attention : MixerKind::mamba);
    }
  } else {
    const json* use_sw = cfg.find("use_sliding_window");
    bool sliding = cfg.sliding_window.has_value() &&
                   !(use_sw && use_sw->is_boolean() && !use_sw->get<bool>()) &&
                   *cfg.sliding_window < cfg.max_position_embeddings.value_or(UINT64_MAX);
    cfg.layer_attention.assign(layers,
                               sliding ? MixerKind::sliding_attention : MixerKind::full_attention);
  }

  // NoPE layers: transformers' no_rope_layers lists 1 where a layer uses RoPE, 0 where not;
  // no_rope_layer_interval N makes every N-th layer NoPE; position_embedding_type "nope"
  // (Granite 4.0 hybrids) makes every layer NoPE.
  const json* pe = cfg.find("position_embedding_type");
  if (pe && pe->is_string() && pe->get_ref<const std::string&>() == "nope") {
    cfg.layer_nope.assign(layers, true);
  } else if (const json* nr = cfg.find("no_rope_layers");
             nr && nr->is_array() && nr->size() == layers) {
    for (const json& v : *nr) {
      cfg.layer_nope.push_back(v.is_number() && v.get<double>() == 0);
    }
  } else if (auto interval = cfg.count("no_rope_layer_interval"); interval && *interval > 0) {
    for (uint64_t i = 0; i < layers; ++i) {
      cfg.layer_nope.push_back((i + 1) % *interval == 0);
    }
  }
  if (std::none_of(cfg.layer_nope.begin(), cfg.layer_nope.end(), [](bool b) { return b; })) {
    cfg.layer_nope.clear();
  }

  // DSA layers with an indexer of their own, as GlmMoeDsaConfig reads them: `indexer_types`
  // ("full" / "shared"), else `index_topk_pattern` ("F" / "S" per layer), else every
  // `index_topk_freq`-th layer from `index_skip_topk_offset` - 1 (defaults 1 and 2: all).
  if (family.sparse_indexer) {
    if (const json* it = cfg.find("indexer_types"); it && it->is_array() && it->size() == layers) {
      for (const json& v : *it) {
        cfg.layer_indexer.push_back(!(v.is_string() && v.get<std::string>() == "shared"));
      }
    } else if (const json* pt = cfg.find("index_topk_pattern");
               pt && pt->is_string() && pt->get_ref<const std::string&>().size() == layers) {
      for (char c : pt->get_ref<const std::string&>()) {
        cfg.layer_indexer.push_back(c != 'S');
      }
    } else {
      const uint64_t freq = std::max<uint64_t>(cfg.count("index_topk_freq").value_or(1), 1);
      const uint64_t offset = cfg.count("index_skip_topk_offset").value_or(2);
      for (uint64_t i = 0; i < layers; ++i) {
        cfg.layer_indexer.push_back((i + 1 > offset ? i + 1 - offset : 0) % freq == 0);
      }
    }
    if (std::all_of(cfg.layer_indexer.begin(), cfg.layer_indexer.end(), [](bool b) { return b; })) {
      cfg.layer_indexer.clear();
    }
  }

  // Per-layer MLP kinds.
  if (!hybrid.empty()) {
    for (char c : hybrid) {
      cfg.layer_mlp.push_back(hybrid_block(c).second);
    }
  } else if (const json* mlt = cfg.find("mlp_layer_types"); mlt && mlt->is_array()) {
    for (const json& v : *mlt) {
      cfg.layer_mlp.push_back(v.is_string() ? ffn_kind_of(v.get<std::string>()) : FfnKind::unknown);
    }
  } else if (family.schedule == LayerSchedule::ssm) {
    cfg.layer_mlp.assign(layers, FfnKind::none);
  } else if (!cfg.is_moe()) {
    cfg.layer_mlp.assign(layers, FfnKind::dense);
  } else {
    std::set<uint64_t> mlp_only;
    if (const json* m = cfg.find("mlp_only_layers"); m && m->is_array()) {
      for (const json& v : *m) {
        if (auto i = as_count(v)) {
          mlp_only.insert(*i);
        }
      }
    }
    auto first_dense = cfg.count("first_k_dense_replace");
    auto freq = cfg.count("moe_layer_freq");
    auto step = cfg.count("decoder_sparse_step");
    auto interleave = cfg.count("interleave_moe_layer_step");
    auto expert_period = cfg.count("expert_layer_period");
    auto expert_offset = cfg.count("expert_layer_offset");
    for (uint64_t i = 0; i < layers; ++i) {
      bool moe = true;
      if (first_dense || freq) {
        uint64_t f = freq.value_or(1);
        moe = i >= first_dense.value_or(0) && f > 0 && i % f == 0;
      } else if (step) {
        moe = *step > 0 && (i + 1) % *step == 0;
      } else if (interleave) {
        moe = *interleave > 0 && (i + 1) % *interleave == 0;
      } else if (family.schedule == LayerSchedule::jamba) {
        uint64_t p = expert_period.value_or(2);
        moe = p > 0 && i % p == expert_offset.value_or(1);
      }
      if (mlp_only.count(i)) {
        moe = false;
      }
      cfg.layer_mlp.emplace_back(moe ? FfnKind::moe : FfnKind::dense);
    }
  }

  // Quantization: transformers' quantization_config, or MLX's quantization.
  // Kimi K3 keeps its quantization_config inside text_config.
  const json* q = cfg.raw.contains("quantization_config") ? &cfg.raw["quantization_config"]
                  : cfg.text.is_object() && cfg.text.contains("quantization_config")
                      ? &cfg.text["quantization_config"]
                  : cfg.raw.contains("quantization") ? &cfg.raw["quantization"]
                                                     : nullptr;
  if (q && q->is_object()) {
    QuantConfig& quant = cfg.quant;
    quant.raw = *q;
    auto get_u = [&](const json& o, const char* key) -> uint64_t {
      auto it = o.find(key);
      return it != o.end() ? as_count(*it).value_or(0) : 0;
    };
    if (auto m = q->find("quant_method"); m != q->end() && m->is_string()) {
      quant.method = m->get<std::string>();
    } else if (q->contains("bits") && q->contains("group_size")) {
      quant.method = "mlx";
    }
    quant.bits = static_cast<unsigned>(get_u(*q, "bits"));
    quant.group_size = get_u(*q, "group_size");
    if (quant.method == "bitsandbytes") {
      auto load4 = q->find("load_in_4bit");
      bool four = load4 != q->end() && load4->is_boolean() && load4->get<bool>();
      quant.bits = four ? 4 : 8;
      if (auto t = q->find("bnb_4bit_quant_type"); four && t != q->end() && t->is_string()) {
        quant.detail = t->get<std::string>();
      }
    } else if (quant.method == "compressed-tensors") {
      if (auto f = q->find("format"); f != q->end() && f->is_string()) {
        quant.detail = f->get<std::string>();
      }
      if (auto groups = q->find("config_groups"); groups != q->end() && groups->is_object()) {
        for (const auto& [name, group] : groups->items()) {
          if (auto w = group.find("weights"); w != group.end() && w->is_object()) {
            quant.bits = static_cast<unsigned>(get_u(*w, "num_bits"));
            quant.group_size = get_u(*w, "group_size");
            break;
          }
        }
      }
    } else if (quant.method == "fp8") {
      quant.bits = 8;
    } else if (quant.method == "mxfp4") {
      quant.bits = 4;
    }
  }
  // DeepSeek-V4 style: "expert_dtype": "fp4" at the top level or inside quantization_config.
  const json* ed = cfg.find("expert_dtype");
  if (!ed && q && q->is_object() && q->contains("expert_dtype")) {
    ed = &(*q)["expert_dtype"];
  }
  if (ed && ed->is_string()) {
    std::string e = ed->get<std::string>();
    cfg.quant.fp4_experts = e == "fp4" || e == "FP4" || e == "mxfp4";
  }
  return cfg;
}

}  // namespace mbuild
