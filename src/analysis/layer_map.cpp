#include "mbuild/analysis/layer_map.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "mbuild/arch/family.hpp"

namespace mbuild {
namespace {

using nlohmann::ordered_json;

// ---------------------------------------------------------------------------------------
// Names: lower-cased and split at dots once per tensor.

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    out.emplace_back(s.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) {
      return out;
    }
    start = dot + 1;
  }
}

bool any_segment(const std::vector<std::string>& segs, std::string_view token, bool contains) {
  return std::any_of(segs.begin(), segs.end(), [&](const std::string& s) {
    return contains ? s.find(token) != std::string::npos : s == token;
  });
}

// Last segments that name a tensor of a module rather than a module.
constexpr std::string_view k_param_segments[] = {"weight",
                                                 "bias",
                                                 "qweight",
                                                 "qzeros",
                                                 "scales",
                                                 "biases",
                                                 "g_idx",
                                                 "gamma",
                                                 "beta",
                                                 "weight_packed",
                                                 "weight_scale",
                                                 "weight_shape",
                                                 "weight_zero_point",
                                                 "weight_g_idx",
                                                 "weight_scale_inv",
                                                 "input_scale",
                                                 "weight_global_scale",
                                                 "input_global_scale",
                                                 "scb",
                                                 "weight_format",
                                                 "k_scale",
                                                 "v_scale",
                                                 "output_scale"};

bool is_param_segment(std::string_view s) {
  return std::find(std::begin(k_param_segments), std::end(k_param_segments), s) !=
         std::end(k_param_segments);
}

// What a tensor is inside its module, for reading specs off shapes.
struct Leaf {
  std::string module;  // lower-cased leaf module name: "q_proj", "gate_up_proj", "a_log", ...
  enum Kind { weight, bias, param } kind = param;
};

Leaf leaf_of(const std::vector<std::string>& segs) {
  Leaf leaf;
  const std::string& last = segs.back();
  if (segs.size() >= 2 && (last == "weight" || last == "qweight" || last == "weight_packed" ||
                           last == "gamma" || last == "kernel")) {
    return {segs[segs.size() - 2], Leaf::weight};
  }
  if (segs.size() >= 2 && (last == "bias" || last == "beta")) {
    return {segs[segs.size() - 2], Leaf::bias};
  }
  leaf.module = last;
  // gpt-oss: experts.gate_up_proj_blocks / _bias; Llama 4: experts.gate_up_proj (3-D).
  if (leaf.module.ends_with("_blocks")) {
    leaf.module.resize(leaf.module.size() - 7);
    leaf.kind = Leaf::weight;
  } else if (leaf.module.ends_with("proj_bias")) {
    leaf.module.resize(leaf.module.size() - 5);
    leaf.kind = Leaf::bias;
  } else if (leaf.module.ends_with("proj") || leaf.module.ends_with("_weight")) {
    leaf.kind = Leaf::weight;
  }
  return leaf;
}

// ---------------------------------------------------------------------------------------
// Slots: which part of a block a tensor belongs to. Rules are tried in order; the first that
// matches wins. `segments` match a whole segment, `contains` a part of one, `prefix` the start
// of the whole (lower-cased) name.

enum class Slot { buffer, head, norm, embedding, moe, cross_attention, mixer, mlp, other };

enum class How { segment, contains, prefix };

struct SlotRule {
  How how;
  std::string_view token;
  Slot slot;
  std::string_view name;  // the unit name for heads and embeddings ("" = by slot)
};

constexpr SlotRule k_slot_rules[] = {
    // Output heads, before norms: BERT's cls.predictions.transform.LayerNorm is the head's.
    {How::prefix, "lm_head", Slot::head, "lm_head"},
    {How::prefix, "cls.predictions", Slot::head, "lm_head"},
    {How::prefix, "cls.seq_relationship", Slot::head, "nsp_head"},
    {How::prefix, "output.weight", Slot::head, "lm_head"},
    {How::segment, "embed_out", Slot::head, "lm_head"},
    {How::segment, "pooler", Slot::head, "pooler"},
    {How::prefix, "head.", Slot::head, "lm_head"},  // RWKV
    // Norms (those inside an SSM / linear-attention / MLA mixer are moved to it later).
    {How::contains, "norm", Slot::norm, ""},
    {How::segment, "ln_f", Slot::norm, ""},
    {How::segment, "ln_1", Slot::norm, ""},
    {How::segment, "ln_2", Slot::norm, ""},
    {How::segment, "ln1", Slot::norm, ""},
    {How::segment, "ln2", Slot::norm, ""},
    {How::segment, "ln", Slot::norm, ""},
    // Embeddings.
    {How::segment, "wpe", Slot::embedding, "position_embedding"},
    {How::contains, "position_embedding", Slot::embedding, "position_embedding"},
    {How::contains, "token_type_embedding", Slot::embedding, "token_type_embedding"},
    {How::contains, "embed", Slot::embedding, "embedding"},
    {How::segment, "wte", Slot::embedding, "embedding"},
    {How::segment, "emb", Slot::embedding, "embedding"},
    {How::prefix, "shared.", Slot::embedding, "embedding"},
    // MoE: routed experts (numbered, fused 3-D, MLX switch_mlp), shared experts, routers.
    {How::segment, "experts", Slot::moe, ""},
    {How::segment, "switch_mlp", Slot::moe, ""},
    {How::contains, "shared_expert", Slot::moe, ""},
    {How::segment, "router", Slot::moe, ""},
    {How::segment, "gate", Slot::moe, ""},
    {How::segment, "e_score_correction_bias", Slot::moe, ""},
    {How::segment, "block_sparse_moe", Slot::moe, ""},
    // Token mixers.
    {How::segment, "encdecattention", Slot::cross_attention, ""},
    {How::segment, "crossattention", Slot::cross_attention, ""},
    {How::segment, "cross_attn", Slot::cross_attention, ""},
    {How::segment, "encoder_attn", Slot::cross_attention, ""},
    {How::contains, "attn", Slot::mixer, ""},
    {How::contains, "attention", Slot::mixer, ""},
    {How::segment, "mixer", Slot::mixer, ""},
    {How::segment, "mamba", Slot::mixer, ""},
    // Feed-forward blocks.
    {How::contains, "mlp", Slot::mlp, ""},
    {How::contains, "feed_forward", Slot::mlp, ""},
    {How::contains, "ffn", Slot::mlp, ""},
    {How::segment, "densereludense", Slot::mlp, ""},
    {How::segment, "intermediate", Slot::mlp, ""},
    {How::segment, "output", Slot::mlp, ""},  // BERT layer.N.output.dense
};

// Mixers that own their norms (gated RMSNorm of a delta net, MLA's latent norms, Mamba2's).
constexpr std::string_view k_norm_owning_mixers[] = {"linear_attn", "mixer", "mamba"};
constexpr std::string_view k_mixer_norms[] = {"kv_a_layernorm", "q_a_layernorm", "dt_layernorm",
                                              "b_layernorm", "c_layernorm"};

bool rule_matches(const SlotRule& r, std::string_view name, const std::vector<std::string>& segs) {
  switch (r.how) {
    case How::prefix:
      return name.starts_with(r.token);
    case How::segment:
      return any_segment(segs, r.token, false);
    case How::contains:
      return any_segment(segs, r.token, true);
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// Scopes: parts of a checkpoint that are not the language model's decoder stack.

bool is_vision(const std::vector<std::string>& segs) {
  return any_segment(segs, "vision", true) || any_segment(segs, "visual", false) ||
         any_segment(segs, "multi_modal_projector", true) ||
         any_segment(segs, "mm_projector", false) || any_segment(segs, "image_newline", false);
}

bool is_projector(const std::vector<std::string>& segs) {
  return any_segment(segs, "multi_modal_projector", true) ||
         any_segment(segs, "mm_projector", false);
}

int scope_rank(std::string_view scope) {
  return scope == "encoder"   ? 1
         : scope.empty()      ? 2
         : scope == "decoder" ? 3
         : scope == "mtp"     ? 4
                              : 5;
}

int slot_rank(Slot s) {
  switch (s) {
    case Slot::embedding:
      return 0;
    case Slot::mixer:
      return 1;
    case Slot::cross_attention:
      return 2;
    case Slot::mlp:
    case Slot::moe:
      return 3;
    case Slot::norm:
      return 5;
    case Slot::buffer:
      return 6;
    case Slot::head:
      return 7;
    case Slot::other:
      return 8;
  }
  return 8;
}

// ---------------------------------------------------------------------------------------
// Specs read off shapes. Dimensions come from logical parameter counts (so packed quantized
// weights read the same as plain ones) divided by the known side.

struct UnitTensors {
  // Σ logical params of the unit's weight / bias tensors per leaf module.
  std::map<std::string, uint64_t> weight, bias, param;
  std::map<std::string, const TensorInfo*> first;  // a representative tensor per leaf
  std::set<uint32_t> expert_ids;                   // experts.N indices
  uint64_t fused_experts = 0;                      // first dim of 3-D expert tensors
  bool any_bias = false;
};

std::optional<uint64_t> div_exact(uint64_t a, uint64_t b) {
  if (b == 0 || a % b != 0) {
    return std::nullopt;
  }
  return a / b;
}

class Mapper {
 public:
  Mapper(const Model& model, const ParamCount& params, LayerMap& out)
      : m_model(model), m_params(params), m_out(out) {
    if (model.config) {
      m_cfg = &*model.config;
      m_num_layers = m_cfg->num_layers.value_or(0);
      m_mtp_layers = m_cfg->count("num_mtp_layers").value_or(0);
    }
  }

  void run() {
    place_tensors();
    for (LayerUnit& u : m_out.units) {
      classify(u);
    }
    split_routers();
    layer_kinds();
    group();
  }

 private:
  struct Placement {
    std::string scope;
    std::optional<uint32_t> layer;
    Slot slot = Slot::other;
    std::string key_module;  // extra key part: module path for norms, name for heads
    std::string name;
    int position = 0;
  };

  Placement place(size_t i, const std::vector<std::string>& segs, const std::string& lname) {
    const TensorInfo& t = m_model.tensors[i];
    const TensorClass& c = m_params.classes[i];
    Placement p;
    p.layer = c.layer;
    if (segs.size() > 1 && (segs[0] == "encoder" || segs[0] == "decoder")) {
      p.scope = segs[0];
    }
    if (is_vision(segs)) {
      p.scope = "vision";
      p.slot = Slot::other;
      p.name = p.layer              ? "vision_layer"
               : is_projector(segs) ? "multimodal_projector"
                                    : "vision_embeddings";
      p.key_module = p.name;
      p.position = p.layer ? static_cast<int>(*p.layer) + 1 : is_projector(segs) ? 900'000 : 0;
      return p;
    }
    const bool mtp_layer =
        m_mtp_layers > 0 && m_num_layers > 0 && p.layer && *p.layer >= m_num_layers;
    if (lname.starts_with("mtp.") || any_segment(segs, "mtp", false) || mtp_layer) {
      p.scope = "mtp";
      p.slot = Slot::other;
      p.layer = p.layer.value_or(0);
      p.name = "mtp";
      p.key_module = "mtp";
      p.position = static_cast<int>(*p.layer) + 1;
      return p;
    }
    if (c.role == TensorRole::buffer) {
      p.slot = Slot::buffer;
      p.name = "buffer";
      p.key_module = lower(module_of(t.name));
    } else {
      for (const SlotRule& r : k_slot_rules) {
        if (rule_matches(r, lname, segs)) {
          p.slot = r.slot;
          p.name = std::string(r.name);
          break;
        }
      }
    }
    if (p.slot == Slot::norm) {
      const std::string& mod_leaf =
          segs.size() >= 2 && is_param_segment(segs.back()) ? segs[segs.size() - 2] : segs.back();
      bool owned = std::find(std::begin(k_mixer_norms), std::end(k_mixer_norms), mod_leaf) !=
                   std::end(k_mixer_norms);
      for (size_t s = 0; s + 1 < segs.size() && !owned; ++s) {
        owned = std::find(std::begin(k_norm_owning_mixers), std::end(k_norm_owning_mixers),
                          segs[s]) != std::end(k_norm_owning_mixers);
      }
      if (owned && p.layer) {
        p.slot = Slot::mixer;
      } else {
        p.key_module = lower(module_of(t.name));
        p.name = mod_leaf == "q_norm" || mod_leaf == "k_norm" ? "qk_norm" : "norm";
      }
    }
    if (p.slot == Slot::embedding || p.slot == Slot::other) {
      p.key_module = lower(module_of(t.name));
    }
    if (p.slot == Slot::head) {
      p.key_module = p.name;
      p.layer.reset();
    }
    if (p.slot == Slot::other) {
      p.name = "unknown";
    }
    if (p.layer) {
      p.position = static_cast<int>(*p.layer) + 1;
    } else {
      p.position = p.slot == Slot::embedding ? 0 : 900'000;
    }
    return p;
  }

  void place_tensors() {
    std::map<std::tuple<std::string, int64_t, int, std::string>, size_t> index;
    m_out.unit_of_tensor.resize(m_model.tensors.size());
    m_leaves.resize(m_model.tensors.size());
    m_slot_of_unit.clear();
    for (size_t i = 0; i < m_model.tensors.size(); ++i) {
      const std::string lname = lower(m_model.tensors[i].name);
      const std::vector<std::string> segs = split(lname);
      m_leaves[i] = leaf_of(segs);
      Placement p = place(i, segs, lname);
      const int64_t layer_key = p.layer ? static_cast<int64_t>(*p.layer) : -1;
      auto key = std::make_tuple(p.scope, layer_key, static_cast<int>(p.slot), p.key_module);
      auto [it, fresh] = index.emplace(key, m_out.units.size());
      if (fresh) {
        LayerUnit u;
        u.layer = p.layer;
        u.scope = p.scope;
        u.name = p.name;
        u.module = p.key_module;
        u.order = scope_rank(p.scope) * 10'000'000 + p.position * 10 + slot_rank(p.slot);
        m_out.units.push_back(std::move(u));
        m_slot_of_unit.push_back(p.slot);
      }
      LayerUnit& u = m_out.units[it->second];
      u.tensors.push_back(i);
      u.params += m_params.classes[i].params;
      m_out.unit_of_tensor[i] = it->second;
      if (p.slot == Slot::moe) {
        note_expert(i, segs, u);
      }
    }
  }

  void note_expert(size_t i, const std::vector<std::string>& segs, const LayerUnit&) {
    for (size_t s = 0; s + 1 < segs.size(); ++s) {
      if (segs[s] == "experts" && !segs[s + 1].empty() &&
          std::all_of(segs[s + 1].begin(), segs[s + 1].end(),
                      [](char ch) { return ch >= '0' && ch <= '9'; }) &&
          segs[s + 1].size() <= 9) {
        m_expert_tensor.insert(i);
        return;
      }
      if (segs[s] == "experts" || segs[s] == "switch_mlp") {
        m_expert_tensor.insert(i);
        return;
      }
    }
  }

  // Per-leaf sums of a set of tensors (the unit's, or its routed experts' / shared experts').
  UnitTensors collect(const std::vector<size_t>& tensors) const {
    UnitTensors ut;
    for (size_t i : tensors) {
      const TensorClass& c = m_params.classes[i];
      if (c.role == TensorRole::quant_aux) {
        continue;
      }
      const Leaf& leaf = m_leaves[i];
      auto& bucket = leaf.kind == Leaf::weight ? ut.weight
                     : leaf.kind == Leaf::bias ? ut.bias
                                               : ut.param;
      bucket[leaf.module] += c.params;
      if (leaf.kind != Leaf::bias) {
        ut.first.emplace(leaf.module, &m_model.tensors[i]);
      }
      ut.any_bias = ut.any_bias || leaf.kind == Leaf::bias;
      const std::string lname = lower(m_model.tensors[i].name);
      const std::vector<std::string> segs = split(lname);
      for (size_t s = 0; s + 1 < segs.size(); ++s) {
        if (segs[s] == "experts" && !segs[s + 1].empty() && segs[s + 1].size() <= 9 &&
            std::all_of(segs[s + 1].begin(), segs[s + 1].end(),
                        [](char ch) { return ch >= '0' && ch <= '9'; })) {
          ut.expert_ids.insert(static_cast<uint32_t>(std::stoul(segs[s + 1])));
        }
      }
      const TensorInfo& t = m_model.tensors[i];
      if ((any_segment(segs, "experts", false) || any_segment(segs, "switch_mlp", false)) &&
          ut.expert_ids.empty() && t.shape.size() >= 3) {
        ut.fused_experts = std::max(ut.fused_experts, t.shape[0]);
      }
    }
    return ut;
  }

  static uint64_t sum_of(const std::map<std::string, uint64_t>& m,
                         std::initializer_list<std::string_view> keys) {
    uint64_t s = 0;
    for (std::string_view k : keys) {
      auto it = m.find(std::string(k));
      if (it != m.end()) {
        s += it->second;
      }
    }
    return s;
  }

  static bool has(const std::map<std::string, uint64_t>& m, std::string_view key) {
    return m.count(std::string(key)) > 0;
  }

  const nlohmann::json* vision_config() const {
    if (!m_cfg) {
      return nullptr;
    }
    auto it = m_cfg->raw.find("vision_config");
    return it != m_cfg->raw.end() && it->is_object() ? &*it : nullptr;
  }

  uint64_t hidden_for(const LayerUnit& u) const {
    if (const nlohmann::json* v = vision_config(); v && u.scope == "vision") {
      if (auto it = v->find("hidden_size"); it != v->end() && it->is_number_unsigned()) {
        return it->get<uint64_t>();
      }
    }
    return m_cfg ? m_cfg->hidden_size.value_or(0) : 0;
  }

  void finding(const LayerUnit& u, std::string text) {
    std::string where = u.layer ? fmt::format("layer {} {}", *u.layer, u.name) : u.name;
    if (!u.scope.empty()) {
      where = u.scope + " " + where;
    }
    // One finding per distinct text: a disagreement repeats on every layer.
    for (Finding& f : m_out.findings) {
      if (f.text == text) {
        return;
      }
    }
    m_out.findings.push_back({Severity::warning, where, std::move(text)});
  }

  void check(const LayerUnit& u, std::string_view what, std::optional<uint64_t> shapes,
             std::optional<uint64_t> config, std::string_view config_field) {
    if (shapes && config && *shapes != *config) {
      finding(u, fmt::format("{}: the shapes say {}, config.json {} says {}", what, *shapes,
                             config_field, *config));
    }
  }

  std::optional<uint64_t> cfg_count(std::string_view field) const {
    return m_cfg ? m_cfg->count(field) : std::nullopt;
  }

  std::string attention_kind(const LayerUnit& u) const {
    if (m_cfg && u.scope.empty() && u.layer && *u.layer < m_cfg->layer_attention.size()) {
      return m_cfg->layer_attention[*u.layer];
    }
    return "full_attention";
  }

  void classify(LayerUnit& u) {
    const size_t index = static_cast<size_t>(&u - m_out.units.data());
    const Slot slot = m_slot_of_unit[index];
    const UnitTensors ut = collect(u.tensors);
    const uint64_t h = hidden_for(u);
    ordered_json& s = u.specs;
    const std::string prefix = u.scope == "encoder" || u.scope == "decoder" ? u.scope + "_" : "";
    switch (slot) {
      case Slot::buffer:
        u.layer_class = layer_class::buffer;
        s["elements"] = u.params;
        break;
      case Slot::head: {
        u.layer_class = layer_class::output_head;
        s["hidden_size"] = h;
        uint64_t w = 0;
        for (const auto& [leaf, n] : ut.weight) {
          w += n;
        }
        if (u.name == "lm_head") {
          const uint64_t decoder_w = sum_of(ut.weight, {"lm_head", "embed_out", "output"});
          auto vocab = decoder_w ? div_exact(decoder_w, h) : std::nullopt;
          if (!vocab) {  // BERT: the decoder weight is tied, only its bias is stored
            vocab = m_cfg ? m_cfg->vocab_size : std::nullopt;
          }
          s["vocab_size"] = vocab.value_or(0);
          check(u, "lm_head vocab_size", decoder_w ? vocab : std::nullopt,
                m_cfg ? m_cfg->vocab_size : std::nullopt, "vocab_size");
        } else {
          s["output_size"] = div_exact(w, h).value_or(0);
        }
        s["has_bias"] = ut.any_bias;
        break;
      }
      case Slot::norm: {
        u.layer_class = layer_class::norm;
        const uint64_t w = ut.weight.empty() ? u.params : ut.weight.begin()->second;
        s["hidden_size"] = w;
        s["has_bias"] = ut.any_bias;
        break;
      }
      case Slot::embedding: {
        u.layer_class = layer_class::embedding;
        uint64_t w = 0;
        for (const auto& [leaf, n] : ut.weight) {
          w += n;
        }
        const TensorInfo* t = ut.first.empty() ? nullptr : ut.first.begin()->second;
        uint64_t dim = h;
        if (t && t->shape.size() == 2 && t->dtype != Dtype::U32 && t->dtype != Dtype::U8) {
          dim = t->shape[1];  // BERT/T5-style embeddings can differ from hidden_size
        }
        const auto rows = div_exact(w, dim);
        s["vocab_size"] = rows.value_or(0);
        s["hidden_size"] = dim;
        if (u.name == "embedding") {
          check(u, "embedding rows", rows, m_cfg ? m_cfg->vocab_size : std::nullopt, "vocab_size");
        }
        break;
      }
      case Slot::mixer:
        classify_mixer(u, ut, h);
        break;
      case Slot::cross_attention:
        u.layer_class = layer_class::cross_attention;
        u.name = "cross_attention";
        attention_specs(u, ut, h, false);
        break;
      case Slot::mlp:
        classify_mlp(u, ut, h);
        break;
      case Slot::moe:
        moe_specs(u, h);
        break;
      case Slot::other:
        if (u.scope == "vision") {
          u.layer_class = layer_class::vision;
          vision_specs(u);
        } else if (u.scope == "mtp") {
          u.layer_class = layer_class::mtp;
          s["hidden_size"] = h;
          s["num_experts"] = cfg_count("num_experts").value_or(0);
        } else {
          u.layer_class = layer_class::unknown;
          s["module"] = u.module;
          finding(u, fmt::format("no mapping rule knows '{}': emitted as UnknownLayer", u.module));
        }
        break;
    }
    if (!prefix.empty() && u.name.rfind(prefix, 0) != 0) {
      u.name = prefix + u.name;
    }
  }

  void vision_specs(LayerUnit& u) {
    ordered_json& s = u.specs;
    const nlohmann::json* v = vision_config();
    auto get = [&](const char* key) -> uint64_t {
      if (v) {
        if (auto it = v->find(key); it != v->end() && it->is_number_unsigned()) {
          return it->get<uint64_t>();
        }
      }
      return 0;
    };
    s["hidden_size"] = hidden_for(u);
    if (u.name == "vision_layer") {
      s["num_heads"] = get("num_attention_heads");
      s["intermediate_size"] = get("intermediate_size");
    } else if (u.name == "vision_embeddings") {
      s["patch_size"] = get("patch_size");
      s["image_size"] = get("image_size");
    } else {
      s["text_hidden_size"] = m_cfg ? m_cfg->hidden_size.value_or(0) : 0;
    }
  }

  // q/k/v/o (separate or fused) -> heads, kv heads, head_dim; checked against config.json.
  void attention_specs(LayerUnit& u, const UnitTensors& ut, uint64_t h, bool sinks) {
    ordered_json& s = u.specs;
    const uint64_t hd_cfg = m_cfg ? m_cfg->head_dim.value_or(0) : 0;
    uint64_t hd = hd_cfg;
    if (const uint64_t qn = sum_of(ut.weight, {"q_norm"}); qn > 0) {
      check(u, "head_dim (q_norm)", qn, hd_cfg ? std::optional<uint64_t>(hd_cfg) : std::nullopt,
            "head_dim");
      hd = qn;
    }
    if (u.scope == "vision" || u.layer_class == layer_class::cross_attention) {
      hd = m_cfg ? m_cfg->head_dim.value_or(0) : 0;
    }
    const uint64_t q = sum_of(ut.weight, {"q_proj", "query", "q", "wq"});
    const uint64_t k = sum_of(ut.weight, {"k_proj", "key", "k", "wk"});
    const uint64_t fused =
        sum_of(ut.weight, {"qkv_proj", "query_key_value", "c_attn", "wqkv", "w_pack", "qkv"});
    std::optional<uint64_t> heads, kv_heads;
    // Families whose q_proj also produces a per-head output gate (twice the query rows).
    const bool gated_q = m_cfg && family_traits(m_cfg->model_type).gated_query;
    if (q && k && h && hd) {
      heads = div_exact(q, (gated_q ? uint64_t{2} : uint64_t{1}) * h * hd);
      kv_heads = div_exact(k, h * hd);
    } else if (fused && h && hd) {
      const auto total = div_exact(fused, h * hd);
      heads = m_cfg ? m_cfg->num_heads : std::nullopt;
      if (total && heads && *total >= *heads) {
        kv_heads = div_exact(*total - *heads, 2);
      }
    }
    check(u, "num_heads", heads, m_cfg ? m_cfg->num_heads : std::nullopt, "num_attention_heads");
    check(u, "num_kv_heads", kv_heads, m_cfg ? m_cfg->num_kv_heads : std::nullopt,
          "num_key_value_heads");
    const uint64_t n_heads = heads.value_or(m_cfg ? m_cfg->num_heads.value_or(0) : 0);
    const uint64_t n_kv = kv_heads.value_or(m_cfg ? m_cfg->num_kv_heads.value_or(0) : 0);
    const uint64_t n_sinks = sum_of(ut.param, {"sinks"});
    const std::string kind = attention_kind(u);
    const bool sliding =
        kind == "sliding_attention" && u.layer_class != layer_class::cross_attention;
    s["hidden_size"] = h;
    if (u.layer_class == layer_class::cross_attention) {
      s["num_heads"] = n_heads;
      s["head_dim"] = hd;
      s["has_bias"] = ut.any_bias;
      return;
    }
    if (sliding) {
      u.layer_class = layer_class::sliding;
      u.name = "attention_sliding";
      s["num_query_heads"] = n_heads;
      s["num_kv_heads"] = n_kv;
      s["head_dim"] = hd;
      s["sliding_window"] = m_cfg ? m_cfg->sliding_window.value_or(0) : 0;
      s["num_sinks"] = n_sinks;
      s["has_bias"] = ut.any_bias;
      return;
    }
    if (sinks) {
      u.layer_class = layer_class::attention_sinks;
      s["num_heads"] = n_heads;
      s["num_kv_heads"] = n_kv;
      s["head_dim"] = hd;
      s["num_sinks"] = n_sinks;
      s["has_bias"] = ut.any_bias;
      return;
    }
    u.layer_class = n_kv != 0 && n_kv < n_heads ? layer_class::gqa : layer_class::attention;
    s["num_heads"] = n_heads;
    if (u.layer_class == layer_class::gqa) {
      s["num_kv_heads"] = n_kv;
    }
    s["head_dim"] = hd;
    if (ut.any_bias) {
      s["has_bias"] = true;  // beyond the constructor: parameter_count includes the biases
    }
    if (gated_q) {
      s["output_gate"] = true;  // beyond the constructor: q_proj holds n·d more rows
    }
  }

  void classify_mixer(LayerUnit& u, const UnitTensors& ut, uint64_t h) {
    ordered_json& s = u.specs;
    auto any_leaf = [&](std::initializer_list<std::string_view> names) {
      for (std::string_view n : names) {
        if (has(ut.weight, n) || has(ut.param, n) || has(ut.bias, n)) {
          return true;
        }
      }
      return false;
    };
    bool rwkv = false;
    for (const auto& m : {&ut.weight, &ut.param}) {
      for (const auto& [leaf, n] : *m) {
        rwkv = rwkv || leaf.starts_with("time_") || leaf == "receptance";
      }
    }
    if (rwkv) {
      u.layer_class = layer_class::rwkv_time_mix;
      u.name = "time_mix";
      s["hidden_size"] = h;
      s["attention_hidden_size"] = div_exact(sum_of(ut.weight, {"key"}), h).value_or(0);
      return;
    }
    if (any_leaf({"kv_a_proj_with_mqa", "kv_b_proj", "q_a_proj", "q_b_proj"})) {
      mla_specs(u, ut, h);
      return;
    }
    if (any_leaf({"in_proj_qkvz", "in_proj_qkv", "in_proj_ba"})) {
      gdn_specs(u, ut, h);
      return;
    }
    if (any_leaf({"x_proj", "dt_proj"}) || (any_leaf({"in_proj"}) && any_leaf({"a_log"}))) {
      mamba_specs(u, ut, h);
      return;
    }
    u.name = "attention";
    attention_specs(u, ut, h, has(ut.param, "sinks"));
  }

  void mla_specs(LayerUnit& u, const UnitTensors& ut, uint64_t h) {
    u.layer_class = layer_class::mla;
    u.name = "attention";
    ordered_json& s = u.specs;
    const uint64_t kv_lora = sum_of(ut.weight, {"kv_a_layernorm"});
    const uint64_t q_lora = sum_of(ut.weight, {"q_a_layernorm"});
    const auto kv_a_out = div_exact(sum_of(ut.weight, {"kv_a_proj_with_mqa"}), h);
    const uint64_t heads = m_cfg ? m_cfg->num_heads.value_or(0) : 0;
    std::optional<uint64_t> rope, nope, v;
    if (kv_a_out && *kv_a_out >= kv_lora) {
      rope = *kv_a_out - kv_lora;
    }
    const uint64_t q_w = q_lora ? sum_of(ut.weight, {"q_b_proj"}) : sum_of(ut.weight, {"q_proj"});
    const auto q_out = div_exact(q_w, q_lora ? q_lora : h);
    if (q_out && rope && heads) {
      if (auto qk = div_exact(*q_out, heads); qk && *qk >= *rope) {
        nope = *qk - *rope;
      }
    }
    if (const auto kv_b_out = div_exact(sum_of(ut.weight, {"kv_b_proj"}), kv_lora);
        kv_b_out && nope && heads) {
      if (auto per = div_exact(*kv_b_out, heads); per && *per >= *nope) {
        v = *per - *nope;
      }
    }
    check(u, "kv_lora_rank", kv_lora, cfg_count("kv_lora_rank"), "kv_lora_rank");
    check(u, "q_lora_rank", q_lora, cfg_count("q_lora_rank").value_or(0), "q_lora_rank");
    check(u, "qk_rope_head_dim", rope, cfg_count("qk_rope_head_dim"), "qk_rope_head_dim");
    check(u, "qk_nope_head_dim", nope, cfg_count("qk_nope_head_dim"), "qk_nope_head_dim");
    check(u, "v_head_dim", v, cfg_count("v_head_dim"), "v_head_dim");
    s["hidden_size"] = h;
    s["num_heads"] = heads;
    s["q_lora_rank"] = q_lora;
    s["kv_lora_rank"] = kv_lora;
    s["qk_nope_head_dim"] = nope.value_or(0);
    s["qk_rope_head_dim"] = rope.value_or(0);
    s["v_head_dim"] = v.value_or(0);
  }

  void gdn_specs(LayerUnit& u, const UnitTensors& ut, uint64_t h) {
    u.layer_class = layer_class::gated_deltanet;
    u.name = "linear_attention";
    ordered_json& s = u.specs;
    const uint64_t nv = sum_of(ut.param, {"a_log"});
    const uint64_t dv = sum_of(ut.weight, {"norm"});
    uint64_t conv_channels = 0, kernel = 0;
    if (auto it = ut.first.find("conv1d"); it != ut.first.end() && it->second->shape.size() == 3) {
      conv_channels = it->second->shape[0];
      kernel = it->second->shape[2];
    }
    const uint64_t dk = cfg_count("linear_key_head_dim").value_or(dv);
    std::optional<uint64_t> nk;
    if (conv_channels >= nv * dv && dk) {
      if (auto kk = div_exact(conv_channels - nv * dv, 2)) {
        nk = div_exact(*kk, dk);
      }
    }
    if (const uint64_t qkvz = sum_of(ut.weight, {"in_proj_qkvz"}); qkvz && nk) {
      check(u, "in_proj_qkvz rows", div_exact(qkvz, h), 2 * *nk * dk + 2 * nv * dv,
            "linear_* head counts and dims");
    }
    check(u, "linear_num_value_heads", nv, cfg_count("linear_num_value_heads"),
          "linear_num_value_heads");
    check(u, "linear_value_head_dim", dv, cfg_count("linear_value_head_dim"),
          "linear_value_head_dim");
    check(u, "linear_num_key_heads", nk, cfg_count("linear_num_key_heads"), "linear_num_key_heads");
    check(u, "linear_conv_kernel_dim", kernel, cfg_count("linear_conv_kernel_dim"),
          "linear_conv_kernel_dim");
    s["hidden_size"] = h;
    s["num_key_heads"] = nk.value_or(0);
    s["num_value_heads"] = nv;
    s["key_head_dim"] = dk;
    s["value_head_dim"] = dv;
    s["conv_kernel"] = kernel;
  }

  void mamba_specs(LayerUnit& u, const UnitTensors& ut, uint64_t h) {
    u.layer_class = layer_class::mamba;
    u.name = "mamba";
    ordered_json& s = u.specs;
    uint64_t d_state = cfg_count("state_size").value_or(0);
    uint64_t d_inner = 0;
    if (auto it = ut.first.find("a_log"); it != ut.first.end() && it->second->shape.size() == 2) {
      d_inner = it->second->shape[0];
      check(u, "d_state", it->second->shape[1], cfg_count("state_size"), "state_size");
      d_state = it->second->shape[1];
    }
    uint64_t kernel = 0;
    if (auto it = ut.first.find("conv1d"); it != ut.first.end() && it->second->shape.size() == 3) {
      kernel = it->second->shape[2];
      if (d_inner == 0) {
        d_inner = it->second->shape[0];
      }
    }
    const auto dt_rank = div_exact(sum_of(ut.weight, {"dt_proj"}), d_inner);
    const bool mamba2 = !has(ut.weight, "x_proj");
    check(u, "conv_kernel", kernel, cfg_count("conv_kernel"), "conv_kernel");
    if (!mamba2) {
      check(u, "time_step_rank", dt_rank, cfg_count("time_step_rank"), "time_step_rank");
      if (auto expand = cfg_count("expand"); expand && h) {
        check(u, "d_inner", d_inner, *expand * h, "expand × hidden_size");
      }
    }
    s["hidden_size"] = h;
    s["d_inner"] = d_inner;
    s["d_state"] = d_state;
    s["d_conv"] = kernel;
    s["dt_rank"] = dt_rank.value_or(0);
    s["variant"] = mamba2 ? "mamba2" : "mamba";
  }

  void classify_mlp(LayerUnit& u, const UnitTensors& ut, uint64_t h) {
    ordered_json& s = u.specs;
    bool rwkv = false;
    for (const auto& m : {&ut.weight, &ut.param}) {
      for (const auto& [leaf, n] : *m) {
        rwkv = rwkv || leaf.starts_with("time_") || leaf == "receptance";
      }
    }
    u.name = "mlp";
    s["hidden_size"] = h;
    if (rwkv) {
      u.layer_class = layer_class::rwkv_channel_mix;
      u.name = "channel_mix";
      s["intermediate_size"] = div_exact(sum_of(ut.weight, {"key"}), h).value_or(0);
      return;
    }
    const uint64_t gate_up = sum_of(ut.weight, {"gate_up_proj", "w13"});
    const uint64_t gate = sum_of(ut.weight, {"gate_proj", "w1", "wi_0", "w3"});
    const uint64_t up = sum_of(ut.weight, {"up_proj", "w3", "wi_1", "wi"});
    const bool gated = gate_up > 0 || has(ut.weight, "gate_proj") || has(ut.weight, "wi_0") ||
                       (has(ut.weight, "w1") && has(ut.weight, "w3"));
    std::optional<uint64_t> inter;
    if (gate_up) {
      inter = div_exact(gate_up, 2 * h);
    } else if (gated) {
      inter = div_exact(has(ut.weight, "up_proj") ? sum_of(ut.weight, {"up_proj"})
                        : has(ut.weight, "wi_1")  ? sum_of(ut.weight, {"wi_1"})
                                                  : sum_of(ut.weight, {"w3"}),
                        h);
    } else {
      uint64_t w = 0;
      for (const auto& [leaf, n] : ut.weight) {
        w += n;
      }
      inter = div_exact(w, 2 * h);
    }
    (void)gate;
    (void)up;
    // Llama 4 names its dense layers' width intermediate_size_mlp (intermediate_size is the
    // experts').
    const auto dense_cfg = cfg_count("intermediate_size_mlp");
    check(u, "intermediate_size", inter,
          dense_cfg ? dense_cfg
          : m_cfg   ? m_cfg->intermediate_size
                    : std::nullopt,
          dense_cfg ? "intermediate_size_mlp" : "intermediate_size");
    u.layer_class = gated ? layer_class::gated_mlp : layer_class::mlp;
    s["intermediate_size"] = inter.value_or(0);
    if (!gated) {
      s["num_projections"] = 2;
    }
    if (ut.any_bias) {
      s["has_bias"] = true;
    }
  }

  void moe_specs(LayerUnit& u, uint64_t h) {
    u.layer_class = layer_class::moe;
    u.name = "moe";
    std::vector<size_t> routed, shared;
    for (size_t i : u.tensors) {
      const std::string lname = lower(m_model.tensors[i].name);
      const auto segs = split(lname);
      if (any_segment(segs, "shared_expert", true) &&
          !any_segment(segs, "shared_expert_gate", false)) {
        shared.push_back(i);
      } else if (m_expert_tensor.count(i)) {
        routed.push_back(i);
      }
    }
    const UnitTensors r = collect(routed);
    const UnitTensors sh = collect(shared);
    uint64_t experts = r.expert_ids.size();
    if (experts == 0) {
      experts = r.fused_experts;
    }
    uint64_t projections = 0, routed_w = 0;
    for (const auto& [leaf, n] : r.weight) {
      projections +=
          leaf.find("gate_up") != std::string::npos || leaf == "w13" ? uint64_t{2} : uint64_t{1};
      routed_w += n;
    }
    std::optional<uint64_t> inter;
    if (experts && projections && h) {
      inter = div_exact(routed_w, experts * projections * h);
    }
    uint64_t shared_w = 0;
    for (const auto& [leaf, n] : sh.weight) {
      shared_w += n;
    }
    std::optional<uint64_t> shared_inter;
    if (shared_w && projections && h) {
      shared_inter = div_exact(shared_w, projections * h);
    }
    uint64_t num_shared = 0;
    if (shared_inter && inter) {
      num_shared = div_exact(*shared_inter, *inter).value_or(1);
    }
    check(u, "num_experts", experts ? std::optional<uint64_t>(experts) : std::nullopt,
          m_cfg ? m_cfg->num_experts : std::nullopt, "num_experts");
    const auto cfg_inter = m_cfg ? (m_cfg->moe_intermediate_size ? m_cfg->moe_intermediate_size
                                                                 : m_cfg->intermediate_size)
                                 : std::nullopt;
    check(u, "expert intermediate_size", inter, cfg_inter, "moe_intermediate_size");
    if (auto n = cfg_count("num_shared_experts"); n && shared_inter) {
      check(u, "num_shared_experts", num_shared, *n, "n_shared_experts");
    }
    ordered_json& s = u.specs;
    s["hidden_size"] = h;
    s["intermediate_size"] = inter.value_or(0);
    s["num_experts"] = experts;
    s["top_k"] = m_cfg ? m_cfg->top_k.value_or(0) : 0;
    s["num_shared_experts"] = num_shared;
    s["num_projections"] = projections;
    s["has_bias"] = r.any_bias;
    if (shared_inter && num_shared * inter.value_or(0) != *shared_inter) {
      s["shared_expert_intermediate_size"] = *shared_inter;
    }
  }

  // DESIGN.md: routers the catalog's MoELayer cannot express (sigmoid scoring with a
  // correction bias, group-limited top-k) become entries of their own.
  bool router_differs(const LayerUnit& u) const {
    for (size_t i : u.tensors) {
      if (m_leaves[i].module == "e_score_correction_bias") {
        return true;
      }
    }
    if (!m_cfg) {
      return false;
    }
    if (const auto* f = m_cfg->find("scoring_func"); f && f->is_string() && *f != "softmax") {
      return true;
    }
    if (const auto* f = m_cfg->find("topk_method"); f && f->is_string()) {
      const std::string m = f->get<std::string>();
      if (m.find("group") != std::string::npos || m == "noaux_tc") {
        return true;
      }
    }
    return cfg_count("n_group").value_or(1) > 1;
  }

  void split_routers() {
    const size_t n = m_out.units.size();
    for (size_t ui = 0; ui < n; ++ui) {
      if (m_out.units[ui].layer_class != layer_class::moe || !router_differs(m_out.units[ui])) {
        continue;
      }
      LayerUnit router;
      std::vector<size_t> keep;
      for (size_t i : m_out.units[ui].tensors) {
        const std::string& leaf = m_leaves[i].module;
        if (leaf == "gate" || leaf == "router" || leaf == "e_score_correction_bias") {
          router.tensors.push_back(i);
          router.params += m_params.classes[i].params;
        } else {
          keep.push_back(i);
        }
      }
      if (router.tensors.empty()) {
        continue;
      }
      LayerUnit& moe = m_out.units[ui];
      moe.tensors = std::move(keep);
      moe.params -= router.params;
      router.name = "router";
      router.layer_class = layer_class::router;
      router.layer = moe.layer;
      router.scope = moe.scope;
      router.module = moe.module + "#router";
      router.order = moe.order + 1;
      router.specs["hidden_size"] = moe.specs["hidden_size"];
      router.specs["num_experts"] = moe.specs["num_experts"];
      router.specs["top_k"] = moe.specs["top_k"];
      router.specs["scoring_func"] = "softmax";
      if (const auto* f = m_cfg ? m_cfg->find("scoring_func") : nullptr; f && f->is_string()) {
        router.specs["scoring_func"] = *f;
      }
      router.specs["topk_method"] = "greedy";
      if (const auto* f = m_cfg ? m_cfg->find("topk_method") : nullptr; f && f->is_string()) {
        router.specs["topk_method"] = *f;
      }
      router.specs["n_group"] = cfg_count("n_group").value_or(1);
      router.specs["topk_group"] = cfg_count("topk_group").value_or(1);
      router.specs["has_correction_bias"] =
          std::any_of(router.tensors.begin(), router.tensors.end(),
                      [&](size_t i) { return m_leaves[i].module == "e_score_correction_bias"; });
      const size_t ri = m_out.units.size();
      for (size_t i : router.tensors) {
        m_out.unit_of_tensor[i] = ri;
      }
      m_out.units.push_back(std::move(router));
      m_slot_of_unit.push_back(Slot::moe);
    }
  }

  // Per decoder layer, what its tensors show, compared with config.json's per-layer kinds.
  void layer_kinds() {
    if (!m_cfg || m_num_layers == 0) {
      return;
    }
    const size_t n = static_cast<size_t>(std::min<uint64_t>(m_num_layers, 100'000));
    std::vector<std::string> mixer(n), ffn(n);
    for (const LayerUnit& u : m_out.units) {
      if (!u.scope.empty() || !u.layer || *u.layer >= n) {
        continue;
      }
      const std::string_view c = u.layer_class;
      std::string& m = mixer[*u.layer];
      if (c == layer_class::gated_deltanet) {
        m = "linear_attention";
      } else if (c == layer_class::mamba) {
        m = "mamba";
      } else if (c == layer_class::rwkv_time_mix) {
        m = "rwkv";
      } else if (c == layer_class::sliding) {
        m = "sliding_attention";
      } else if (c == layer_class::gqa || c == layer_class::attention || c == layer_class::mla ||
                 c == layer_class::attention_sinks) {
        m = "full_attention";
      } else if (c == layer_class::moe) {
        ffn[*u.layer] = "moe";
      } else if ((c == layer_class::mlp || c == layer_class::gated_mlp) && ffn[*u.layer].empty()) {
        ffn[*u.layer] = "dense";
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (i < m_cfg->layer_attention.size() && !mixer[i].empty() &&
          mixer[i] != m_cfg->layer_attention[i]) {
        m_out.findings.push_back({Severity::warning, fmt::format("layer {}", i),
                                  fmt::format("config.json says {}, the tensors show {}",
                                              m_cfg->layer_attention[i], mixer[i])});
      }
      if (i < m_cfg->layer_mlp.size() && !ffn[i].empty() && m_cfg->layer_mlp[i] != "none" &&
          ffn[i] != m_cfg->layer_mlp[i]) {
        m_out.findings.push_back({Severity::warning, fmt::format("layer {}", i),
                                  fmt::format("config.json says {} MLP, the tensors show {}",
                                              m_cfg->layer_mlp[i], ffn[i])});
      }
    }
    m_out.layer_kinds = std::move(mixer);
  }

  void group() {
    std::vector<size_t> order(m_out.units.size());
    for (size_t i = 0; i < order.size(); ++i) {
      order[i] = i;
    }
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return std::tie(m_out.units[a].order, m_out.units[a].module) <
             std::tie(m_out.units[b].order, m_out.units[b].module);
    });
    std::map<std::string, size_t> entry_of;
    for (size_t ui : order) {
      const LayerUnit& u = m_out.units[ui];
      const std::string key =
          fmt::format("{}|{}|{}|{}", u.name, u.layer_class, u.specs.dump(), u.params);
      auto [it, fresh] = entry_of.emplace(key, m_out.entries.size());
      if (fresh) {
        LayerEntry e;
        e.name = u.name;
        e.layer_class = u.layer_class;
        e.parameter_count = u.params;
        if (u.layer) {
          e.specs["layer_idx"] = *u.layer;
        }
        for (const auto& [k, v] : u.specs.items()) {
          e.specs[k] = v;
        }
        e.specs["parameter_count"] = u.params;
        m_out.entries.push_back(std::move(e));
      }
      LayerEntry& e = m_out.entries[it->second];
      ++e.count;
      e.units.push_back(ui);
      m_out.total += u.params;
    }
    // Names stay unique: later entries with a taken name get "_2", "_3", ...
    std::map<std::string, int> seen;
    for (LayerEntry& e : m_out.entries) {
      int n = ++seen[e.name];
      if (n > 1) {
        std::string candidate = fmt::format("{}_{}", e.name, n);
        while (seen.count(candidate)) {
          candidate = fmt::format("{}_{}", e.name, ++n);
        }
        seen[candidate] = 1;
        e.name = candidate;
      }
    }
  }

  const Model& m_model;
  const ParamCount& m_params;
  LayerMap& m_out;
  const ModelConfig* m_cfg = nullptr;
  uint64_t m_num_layers = 0;
  uint64_t m_mtp_layers = 0;
  std::vector<Leaf> m_leaves;
  std::vector<Slot> m_slot_of_unit;
  std::set<size_t> m_expert_tensor;
};

}  // namespace

std::string module_of(std::string_view tensor_name) {
  // bitsandbytes: "<module>.weight.absmax", "<module>.weight.quant_state.bitsandbytes__nf4".
  if (auto pos = tensor_name.find(".weight."); pos != std::string_view::npos) {
    return std::string(tensor_name.substr(0, pos));
  }
  const auto dot = tensor_name.rfind('.');
  if (dot == std::string_view::npos) {
    return std::string(tensor_name);
  }
  const std::string last = lower(tensor_name.substr(dot + 1));
  return is_param_segment(last) ? std::string(tensor_name.substr(0, dot))
                                : std::string(tensor_name);
}

LayerMap map_layers(const Model& model, const ParamCount& params) {
  LayerMap out;
  Mapper(model, params, out).run();
  return out;
}

}  // namespace mbuild
