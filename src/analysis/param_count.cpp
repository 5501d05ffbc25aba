#include "mbuild/analysis/param_count.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstring>
#include <deque>
#include <unordered_map>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <fmt/format.h>

#include "mbuild/model/tensor_name.hpp"
#include "mbuild/snapshot/gguf.hpp"
#include "util/checked.hpp"
#include "util/name_hash.hpp"

namespace mbuild {
namespace {

constexpr std::string_view k_component_names[k_component_count] = {
    "embedding", "attention", "mlp", "moe_experts", "shared_experts", "router", "norms", "lm_head",
    "vision",    "projector", "mtp", "ssm",         "other",
};

// ---------------------------------------------------------------------------------------
// Components: tensor-name rules, first match wins. Matching is on the lower-cased name split
// at dots, so "model.layers.3.self_attn.q_proj.weight" has the segment "self_attn".

enum class Match {
  segment,           // a segment equals the token
  segment_contains,  // a segment contains the token
  segment_prefix,    // a segment starts with the token
  name_prefix,       // the whole name starts with the token
};

struct ComponentRule {
  Match match;
  std::string_view token;
  Component component;
};

constexpr ComponentRule k_component_rules[] = {
    // Projectors of multimodal checkpoints (Llava/Gemma 3/Mistral 3 multi_modal_projector,
    // Qwen-VL's visual.merger and DeepStack deepstack_merger_list), then vision towers.
    {Match::segment_contains, "multi_modal_projector", Component::projector},
    {Match::segment, "mm_projector", Component::projector},
    {Match::segment, "merger", Component::projector},
    {Match::segment_contains, "deepstack_merger", Component::projector},
    {Match::segment_contains, "vision", Component::vision},
    {Match::segment, "visual", Component::vision},
    {Match::segment, "image_newline", Component::vision},
    // Multi-token-prediction heads stored under their own prefix (Qwen3-Next, GLM).
    {Match::name_prefix, "mtp.", Component::mtp},
    {Match::segment, "mtp", Component::mtp},
    // GGUF (llama.cpp) names: blk.N.ffn_gate_exps, ffn_up_shexp, ffn_gate_inp, token_embd,
    // exp_probs_b (the router's correction bias). Shared experts first: "ffn_gate_inp_shexp".
    {Match::segment_contains, "_shexp", Component::shared_experts},
    {Match::segment_contains, "_exps", Component::moe_experts},
    {Match::segment, "ffn_gate_inp", Component::router},
    {Match::segment, "exp_probs_b", Component::router},
    {Match::segment, "token_embd", Component::embedding},
    // Experts and routers, before the generic mlp rule.
    {Match::segment_contains, "shared_expert", Component::shared_experts},
    {Match::segment, "experts", Component::moe_experts},
    {Match::segment, "switch_mlp", Component::moe_experts},
    {Match::segment, "router", Component::router},
    {Match::segment, "gate", Component::router},
    {Match::segment, "e_score_correction_bias", Component::router},
    {Match::segment, "block_sparse_moe", Component::moe_experts},  // Granite's expert banks
    // Norms, before embeddings: BLOOM's word_embeddings_layernorm is a norm.
    {Match::segment_contains, "norm", Component::norms},
    {Match::segment_prefix, "ln_", Component::norms},
    {Match::segment, "ln1", Component::norms},
    {Match::segment, "ln2", Component::norms},
    {Match::segment, "ln", Component::norms},
    // Output heads, before embeddings: GPT-NeoX calls its head embed_out.
    // lm_head at the root, or under a multimodal wrapper (language_model.lm_head).
    {Match::segment, "lm_head", Component::lm_head},
    {Match::name_prefix, "cls.predictions", Component::lm_head},
    {Match::name_prefix, "output.weight", Component::lm_head},
    {Match::segment, "embed_out", Component::lm_head},
    // Embeddings.
    {Match::segment_contains, "embed", Component::embedding},
    {Match::segment, "wte", Component::embedding},
    {Match::segment, "wpe", Component::embedding},
    {Match::name_prefix, "shared.", Component::embedding},
    {Match::segment, "emb", Component::embedding},
    // Token mixers.
    {Match::segment_contains, "attn", Component::attention},
    {Match::segment_contains, "attention", Component::attention},
    // A block's "mixer" holds attention or a feed-forward in Nemotron-H: the leaf says which.
    {Match::segment, "q_proj", Component::attention},
    {Match::segment, "k_proj", Component::attention},
    {Match::segment, "v_proj", Component::attention},
    {Match::segment, "o_proj", Component::attention},
    {Match::segment, "up_proj", Component::mlp},
    {Match::segment, "down_proj", Component::mlp},
    {Match::segment, "mixer", Component::ssm},
    {Match::segment, "mamba", Component::ssm},
    {Match::segment, "conv", Component::ssm},  // LFM2's short convolution: a recurrent mixer
    // Feed-forward blocks.
    {Match::segment_contains, "mlp", Component::mlp},
    {Match::segment_contains, "feed_forward", Component::mlp},
    {Match::segment_contains, "ffn", Component::mlp},
    {Match::segment, "intermediate", Component::mlp},
    {Match::segment, "densereludense", Component::mlp},
    {Match::segment, "output", Component::mlp},  // BERT layer.N.output.dense
};

bool rule_matches(const ComponentRule& rule, const TensorName& name) {
  if (rule.match == Match::name_prefix) {
    return name.lower().starts_with(rule.token);
  }
  for (std::string_view seg : name) {
    const bool hit = rule.match == Match::segment            ? seg == rule.token
                     : rule.match == Match::segment_contains ? seg.find(rule.token) != seg.npos
                                                             : seg.starts_with(rule.token);
    if (hit) {
      return true;
    }
  }
  return false;
}

Component component_of(const TensorName& name) {
  for (const ComponentRule& rule : k_component_rules) {
    if (rule_matches(rule, name)) {
      return rule.component;
    }
  }
  return Component::other;
}

// ---------------------------------------------------------------------------------------
// Quantization roles: suffixes of auxiliary tensors (not counted) per DESIGN.md.

constexpr std::string_view k_aux_suffixes[] = {
    // GPTQ / AWQ
    ".qzeros",
    ".g_idx",
    ".scales",
    // compressed-tensors
    ".weight_scale",
    ".weight_zero_point",
    ".weight_shape",
    ".weight_g_idx",
    ".weight_global_scale",
    ".input_global_scale",
    ".input_scale",
    ".output_scale",
    ".k_scale",
    ".v_scale",
    // FP8 block scales (DeepSeek-V3)
    ".weight_scale_inv",
    // bitsandbytes
    ".absmax",
    ".quant_map",
    ".nested_absmax",
    ".nested_quant_map",
    ".SCB",
    ".weight_format",
    // MXFP4 (gpt-oss)
    "_scales",
};

// Whether a name holds ".quant_state." (bitsandbytes). Found by its rare 'q' first: names have
// a dozen dots, which a search for the whole token would stop at.
bool has_quant_state(std::string_view name) {
  constexpr std::string_view token = "quant_state.";
  for (size_t at = name.find(token); at != std::string_view::npos; at = name.find(token, at + 1)) {
    if (at > 0 && name[at - 1] == '.') {
      return true;
    }
  }
  return false;
}

// Stored non-parameter buffers the Hub counts anyway.
bool is_buffer(const TensorInfo& t) {
  std::string_view n = t.name;
  return (n.ends_with(".attn.bias") && t.shape.size() == 4) || n.ends_with(".attn.masked_bias") ||
         n.ends_with("rotary_emb.inv_freq") || n.ends_with("embeddings.position_ids") ||
         n.ends_with("._float_tensor");
}

bool is_integer_container(Dtype d) {
  return d == Dtype::U8 || d == Dtype::I8 || d == Dtype::U32 || d == Dtype::I32;
}

// Labels for logical dtypes of packed weights; string_views into this table stay valid.
constexpr std::string_view k_int_labels[] = {"INT0", "INT1", "INT2", "INT3", "INT4",
                                             "INT5", "INT6", "INT7", "INT8"};

std::string_view int_label(unsigned bits) {
  return bits < std::size(k_int_labels) ? k_int_labels[bits] : std::string_view("INT?");
}

class Classifier {
 public:
  Classifier(const Model& model, std::vector<Finding>& findings) : m_findings(findings) {
    if (model.config) {
      m_quant = &model.config->quant;
      m_num_layers = model.config->num_layers;
      m_mtp_layers = model.config->count("num_mtp_layers").value_or(0);
    }
    bool needs_names = m_quant && !m_quant->method.empty();
    for (const TensorInfo& t : model.tensors) {
      needs_names = needs_names || (is_integer_container(t.dtype) && t.ggml_type == k_no_ggml_type);
      if (needs_names) {
        break;
      }
    }
    if (needs_names) {
      m_by_name.reserve(model.tensors.size());
      for (const TensorInfo& t : model.tensors) {
        m_by_name.emplace(t.name, &t);
      }
    }
  }

  TensorClass classify(const TensorInfo& t) {
    TensorClass c;
    scan_name(t.name, m_pattern, c.layer);
    c.component = cached_component(t.name);
    // DeepSeek-V3 stores its MTP module as decoder layer num_hidden_layers (+1, ...).
    if (m_mtp_layers && m_num_layers && c.layer && *c.layer >= *m_num_layers &&
        !is_multimodal(c.component)) {
      c.component = Component::mtp;
    }
    c.logical_dtype = dtype_name(t.dtype);
    c.params = t.elements;
    // A GGUF tensor holds its weights in blocks of its ggml type: every element is a weight,
    // and the scales live inside the blocks.
    if (t.ggml_type != k_no_ggml_type) {
      c.logical_dtype = tensor_dtype_name(t);
      return c;
    }
    if (is_buffer(t)) {
      c.role = TensorRole::buffer;
      return c;
    }
    assign_quant_role(t, c);
    return c;
  }

 private:
  // The component depends on the name's non-numeric segments only (no rule token is all
  // digits), so "layers.3.mlp.experts.17.up_proj" and "layers.4.mlp.experts.0.up_proj" share
  // one answer: the rules run once per name pattern (m_pattern, from scan_name) instead of
  // once per tensor.
  Component cached_component(std::string_view name) {
    if (!m_pattern.complete) {
      return component_of(TensorName(name));
    }
    auto it = m_components.find(m_pattern.view());
    if (it == m_components.end()) {
      const std::string& key = m_pattern_keys.emplace_back(m_pattern.view());
      it = m_components.emplace(key, component_of(TensorName(name))).first;
    }
    return it->second;
  }

  const TensorInfo* sibling(std::string_view name) const {
    auto it = m_by_name.find(name);
    return it == m_by_name.end() ? nullptr : it->second;
  }

  void packed(const TensorInfo& t, TensorClass& c, unsigned bits, std::string_view label) {
    c.role = TensorRole::packed;
    c.logical_dtype = label;
    if (bits == 0) {
      bits = 4;
      note_once("quantization bits unknown; assumed 4");
    }
    const unsigned container = dtype_bits(t.dtype);
    auto total_bits = checked_mul(t.elements, container);
    if (!total_bits || *total_bits % bits != 0) {
      m_findings.push_back({Severity::warning, std::string(t.name),
                            fmt::format("{} elements of {} do not hold a whole number of {}-bit "
                                        "weights",
                                        t.elements, dtype_name(t.dtype), bits)});
      c.params = total_bits ? *total_bits / bits : t.elements;
      return;
    }
    c.params = *total_bits / bits;
  }

  void assign_quant_role(const TensorInfo& t, TensorClass& c) {
    std::string_view n = t.name;
    // The common case: a plain float ".weight" or ".bias" matches none of the rules below.
    if ((n.ends_with(".weight") || n.ends_with(".bias")) && !is_integer_container(t.dtype) &&
        t.dtype != Dtype::F8_E8M0 && !has_quant_state(n)) {
      return;
    }
    const std::string_view method = m_quant ? std::string_view(m_quant->method) : "";
    const unsigned bits = m_quant ? m_quant->bits : 0;

    // E8M0 values are always block scales.
    if (t.dtype == Dtype::F8_E8M0 &&
        (n.ends_with("scale") || n.ends_with("scales") || n.ends_with("_scale_inv"))) {
      c.role = TensorRole::quant_aux;
      return;
    }
    if (n.ends_with(".qweight")) {
      packed(t, c, bits, int_label(bits ? bits : 4));
      return;
    }
    if (n.ends_with(".weight_packed")) {
      const bool fp4 = m_quant && (m_quant->detail.find("nvfp4") != std::string::npos ||
                                   m_quant->detail.find("float") != std::string::npos);
      packed(t, c, bits, fp4 ? "NVFP4" : int_label(bits ? bits : 4));
      return;
    }
    if (n.ends_with("_blocks") && t.dtype == Dtype::U8) {
      packed(t, c, 4, "MXFP4");
      return;
    }
    if (has_quant_state(n)) {
      c.role = TensorRole::quant_aux;
      return;
    }
    if (n.ends_with(".biases") && t.dtype != Dtype::U32) {
      std::string weight = std::string(n.substr(0, n.size() - 7)) + ".weight";
      const TensorInfo* w = sibling(weight);
      if (method == "mlx" || (w && w->dtype == Dtype::U32)) {
        c.role = TensorRole::quant_aux;
        return;
      }
    }
    // DeepSeek-V4 style FP8/FP4 checkpoints name their block scales plain ".scale".
    if (n.ends_with(".scale") && (method == "fp8" || (m_quant && m_quant->fp4_experts))) {
      c.role = TensorRole::quant_aux;
      return;
    }
    for (std::string_view suffix : k_aux_suffixes) {
      if (n.ends_with(suffix)) {
        c.role = TensorRole::quant_aux;
        return;
      }
    }
    if (!is_integer_container(t.dtype)) {
      return;
    }
    // bitsandbytes 4-bit: weight U8 [n/2, 1] beside its absmax / quant_state.
    if (t.dtype == Dtype::U8) {
      const std::string base(n);
      const TensorInfo* nf4 = sibling(base + ".quant_state.bitsandbytes__nf4");
      const TensorInfo* fp4 = sibling(base + ".quant_state.bitsandbytes__fp4");
      if (nf4 || fp4 || sibling(base + ".absmax")) {
        std::string_view label = fp4                                   ? "FP4"
                                 : nf4                                 ? "NF4"
                                 : m_quant && m_quant->detail == "fp4" ? "FP4"
                                                                       : "NF4";
        packed(t, c, 4, label);
        return;
      }
    }
    // MLX affine: weight U32 [out, in*bits/32] beside scales (and biases).
    if (t.dtype == Dtype::U32 && n.ends_with(".weight")) {
      std::string_view module = n.substr(0, n.size() - 7);
      const TensorInfo* scales = sibling(std::string(module) + ".scales");
      if (scales) {
        unsigned module_bits = mlx_bits(module, t, *scales);
        packed(t, c, module_bits, int_label(module_bits));
        return;
      }
    }
    // Routed experts declared FP4 (expert_dtype): two values a byte.
    if (m_quant && m_quant->fp4_experts && c.component == Component::moe_experts &&
        (t.dtype == Dtype::I8 || t.dtype == Dtype::U8)) {
      packed(t, c, 4, "FP4");
      return;
    }
  }

  // Bits of an MLX-quantized module: a per-module override in config["quantization"], else
  // the default, cross-checked against the shapes (in = scales cols x group size).
  unsigned mlx_bits(std::string_view module, const TensorInfo& weight, const TensorInfo& scales) {
    unsigned bits = m_quant ? m_quant->bits : 0;
    uint64_t group = m_quant ? m_quant->group_size : 0;
    if (m_quant && m_quant->raw.is_object()) {
      auto it = m_quant->raw.find(std::string(module));
      if (it != m_quant->raw.end() && it->is_object()) {
        bits = it->value("bits", bits);
        group = it->value("group_size", group);
      }
    }
    if (group && !weight.shape.empty() && !scales.shape.empty()) {
      auto in = checked_mul(scales.shape.back(), group);
      auto packed_bits = checked_mul(weight.shape.back(), 32);
      if (in && packed_bits && *in > 0 && *packed_bits % *in == 0) {
        auto shape_bits = static_cast<unsigned>(*packed_bits / *in);
        if (bits != 0 && shape_bits != bits) {
          m_findings.push_back(
              {Severity::warning, std::string(weight.name),
               fmt::format("config says {}-bit, the shapes say {}-bit; counted {}-bit", bits,
                           shape_bits, shape_bits)});
        }
        bits = shape_bits;
      }
    }
    return bits;
  }

  void note_once(std::string text) {
    for (const Finding& f : m_findings) {
      if (f.text == text) {
        return;
      }
    }
    m_findings.push_back({Severity::warning, "quantization", std::move(text)});
  }

  std::vector<Finding>& m_findings;
  const QuantConfig* m_quant = nullptr;
  std::optional<uint64_t> m_num_layers;
  uint64_t m_mtp_layers = 0;
  std::unordered_map<std::string_view, const TensorInfo*> m_by_name;
  std::unordered_map<std::string_view, Component, NameHash> m_components;  // pattern -> component
  std::deque<std::string> m_pattern_keys;                                  // the keys' bytes
  NamePattern m_pattern;                                                   // the current tensor's
};

}  // namespace

std::string_view component_name(Component c) {
  return k_component_names[static_cast<size_t>(c)];
}

std::string_view role_name(TensorRole r) {
  switch (r) {
    case TensorRole::parameter:
      return "parameter";
    case TensorRole::packed:
      return "packed";
    case TensorRole::quant_aux:
      return "quant_aux";
    case TensorRole::buffer:
      return "buffer";
  }
  return "parameter";
}

std::optional<uint32_t> layer_index_of(std::string_view tensor_name) {
  NamePattern pattern;
  std::optional<uint32_t> layer;
  scan_name(tensor_name, pattern, layer);
  return layer;
}

namespace {

// Sums per key for a handful of distinct keys (dtype labels): a linear scan beats a map.
class SmallTally {
 public:
  void add(std::string_view key, uint64_t n) {
    for (auto& [k, v] : m_entries) {
      // Keys are nearly always the same dtype_name views: equal pointers decide at once.
      if ((k.data() == key.data() && k.size() == key.size()) || k == key) {
        v += n;
        return;
      }
    }
    m_entries.emplace_back(key, n);
  }
  void add_to(std::map<std::string, uint64_t>& out) const {
    for (const auto& [k, v] : m_entries) {
      out[std::string(k)] += v;
    }
  }

 private:
  std::vector<std::pair<std::string_view, uint64_t>> m_entries;
};

}  // namespace

ParamCount count_params(const Model& model) {
  ParamCount pc;
  Classifier classifier(model, pc.findings);
  pc.classes.reserve(model.tensors.size());
  std::map<std::optional<uint32_t>, uint64_t> routed_by_layer;
  // The usual layer indices summed in arrays, then merged into the map (a map lookup per
  // expert tensor was a tenth of the count's time).
  std::array<uint64_t, 1024> routed_by_small_layer{};
  std::array<bool, 1024> routed_seen{};
  std::array<uint64_t, static_cast<size_t>(k_dtype_count)> raw_by_dtype{};
  SmallTally logical_by_dtype;
  SmallTally raw_by_ggml_type;  // GGUF tensors, keyed by their ggml type
  SmallTally bytes_by_dtype;
  for (const TensorInfo& t : model.tensors) {
    TensorClass c = classifier.classify(t);
    pc.raw_elements += t.elements;
    if (t.ggml_type != k_no_ggml_type) {
      raw_by_ggml_type.add(c.logical_dtype, t.elements);
    } else {
      raw_by_dtype[static_cast<size_t>(t.dtype)] += t.elements;
    }
    pc.stored_bytes += t.end - t.begin;
    bytes_by_dtype.add(tensor_dtype_name(t), t.end - t.begin);
    switch (c.role) {
      case TensorRole::quant_aux:
        pc.quant_aux_elements += t.elements;
        c.params = 0;
        break;
      case TensorRole::buffer:
        pc.buffers += t.elements;
        pc.buffer_names.emplace_back(t.name);
        [[fallthrough]];
      case TensorRole::parameter:
      case TensorRole::packed:
        pc.total += c.params;
        logical_by_dtype.add(c.logical_dtype, c.params);
        pc.by_component[static_cast<size_t>(c.component)] += c.params;
        if (c.component == Component::moe_experts) {
          if (c.layer && *c.layer < routed_by_small_layer.size()) {
            routed_by_small_layer[*c.layer] += c.params;
            routed_seen[*c.layer] = true;
          } else {
            routed_by_layer[c.layer] += c.params;
          }
        }
        break;
    }
    pc.classes.push_back(c);
  }
  for (uint32_t layer = 0; layer < routed_by_small_layer.size(); ++layer) {
    if (routed_seen[layer]) {
      routed_by_layer[layer] += routed_by_small_layer[layer];
    }
  }
  for (size_t d = 0; d < raw_by_dtype.size(); ++d) {
    if (raw_by_dtype[d] > 0) {
      pc.raw_elements_by_dtype[std::string(dtype_name(static_cast<Dtype>(d)))] += raw_by_dtype[d];
    }
  }
  raw_by_ggml_type.add_to(pc.raw_elements_by_dtype);
  bytes_by_dtype.add_to(pc.stored_bytes_by_dtype);
  logical_by_dtype.add_to(pc.by_dtype);
  pc.embedding = pc.by_component[static_cast<size_t>(Component::embedding)];
  const uint64_t lm_head = pc.by_component[static_cast<size_t>(Component::lm_head)];
  const bool config_ties = model.config && model.config->tie_word_embeddings.value_or(true);
  pc.tied_embeddings = lm_head == 0 && pc.embedding > 0 && (!model.config || config_ties);

  // FP8 checkpoints (DeepSeek-V3) pack nothing but store block scales: the declared method
  // still applies.
  const std::string declared = model.config ? model.config->quant.method : std::string();
  for (const TensorClass& c : pc.classes) {
    if (!pc.quant_method.empty()) {
      break;
    }
    if (c.role == TensorRole::packed) {
      pc.quant_method = !declared.empty() ? declared : std::string(c.logical_dtype);
    } else if (c.role == TensorRole::quant_aux) {
      pc.quant_method = declared;
    }
  }

  // Active per token: everything but the routed experts and MTP heads, plus top_k of each
  // layer's routed experts.
  const uint64_t mtp = pc.by_component[static_cast<size_t>(Component::mtp)];
  for (const auto& [layer, params] : routed_by_layer) {
    pc.routed_expert_params += params;
  }
  uint64_t active = pc.total - pc.routed_expert_params - mtp;
  if (pc.routed_expert_params > 0) {
    const uint64_t experts = model.config ? model.config->num_experts.value_or(0) : 0;
    const uint64_t top_k = model.config ? model.config->top_k.value_or(0) : 0;
    if (experts == 0 || top_k == 0) {
      pc.findings.push_back({Severity::warning, "config.json",
                             "routed experts found but num_experts / top-k unknown: active "
                             "params not computed"});
      pc.classes.shrink_to_fit();
      return pc;
    }
    for (const auto& [layer, params] : routed_by_layer) {
      if (params % experts != 0) {
        pc.findings.push_back(
            {Severity::warning, layer ? fmt::format("layer {}", *layer) : "experts",
             fmt::format("{} routed-expert params do not split evenly over {} experts", params,
                         experts)});
      }
      active += params / experts * top_k;
    }
  }
  pc.active = active;
  pc.active_excluding_embedding =
      pc.tied_embeddings || pc.embedding > active ? active : active - pc.embedding;
  return pc;
}

}  // namespace mbuild
