// Step 1 of the layer mapper: every tensor to one unit, keyed by scope, layer, slot and (for
// norms, embeddings, heads and unknown modules) module.
#include <algorithm>
#include <map>
#include <tuple>

#include "analysis/layer_steps.hpp"

namespace mbuild {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Slots: which part of a block a tensor belongs to. Rules are tried in order; the first that
// matches wins. `segments` match a whole segment, `contains` a part of one, `prefix` the start
// of the whole (lower-cased) name.

enum class How { segment, contains, prefix };

struct SlotRule {
  How how;
  std::string_view token;
  Slot slot;
  std::string_view name;    // the unit name for heads and embeddings ("" = by slot)
  std::string_view unless;  // the rule does not apply when a segment contains this
};

constexpr SlotRule k_slot_rules[] = {
    // Output heads, before norms: BERT's cls.predictions.transform.LayerNorm is the head's.
    {How::segment, "lm_head", Slot::head, "lm_head", ""},  // also language_model.lm_head
    {How::prefix, "cls.predictions", Slot::head, "lm_head", ""},
    {How::prefix, "cls.seq_relationship", Slot::head, "nsp_head", ""},
    {How::prefix, "output.weight", Slot::head, "lm_head", ""},
    {How::segment, "embed_out", Slot::head, "lm_head", ""},
    {How::segment, "pooler", Slot::head, "pooler", ""},
    {How::prefix, "head.", Slot::head, "lm_head", ""},  // RWKV
    // Norms (those inside an SSM / linear-attention / MLA mixer are moved to it later).
    {How::contains, "norm", Slot::norm, "", ""},
    {How::segment, "ln_f", Slot::norm, "", ""},
    {How::segment, "ln_1", Slot::norm, "", ""},
    {How::segment, "ln_2", Slot::norm, "", ""},
    {How::segment, "ln1", Slot::norm, "", ""},
    {How::segment, "ln2", Slot::norm, "", ""},
    {How::segment, "ln", Slot::norm, "", ""},
    // Embeddings.
    {How::segment, "wpe", Slot::embedding, "position_embedding", ""},
    {How::contains, "position_embedding", Slot::embedding, "position_embedding", ""},
    {How::contains, "token_type_embedding", Slot::embedding, "token_type_embedding", ""},
    {How::contains, "embed", Slot::embedding, "embedding", ""},
    {How::segment, "wte", Slot::embedding, "embedding", ""},
    {How::segment, "emb", Slot::embedding, "embedding", ""},
    {How::prefix, "shared.", Slot::embedding, "embedding", ""},
    {How::segment, "token_embd", Slot::embedding, "embedding", ""},  // GGUF
    // MoE: routed experts (numbered, fused 3-D, MLX switch_mlp), shared experts, routers.
    {How::segment, "experts", Slot::moe, "", ""},
    {How::segment, "switch_mlp", Slot::moe, "", ""},
    {How::contains, "shared_expert", Slot::moe, "", ""},
    {How::segment, "router", Slot::moe, "", ""},
    // A router's "gate", not an attention block's output gate (RWKV-5/6 attention.gate).
    {How::segment, "gate", Slot::moe, "", "att"},
    {How::segment, "e_score_correction_bias", Slot::moe, "", ""},
    {How::segment, "block_sparse_moe", Slot::moe, "", ""},
    // Token mixers.
    {How::segment, "encdecattention", Slot::cross_attention, "", ""},
    {How::segment, "crossattention", Slot::cross_attention, "", ""},
    {How::segment, "cross_attn", Slot::cross_attention, "", ""},
    {How::segment, "encoder_attn", Slot::cross_attention, "", ""},
    {How::contains, "attn", Slot::mixer, "", ""},
    {How::contains, "attention", Slot::mixer, "", ""},
    {How::segment, "mixer", Slot::mixer, "", ""},
    {How::segment, "mamba", Slot::mixer, "", ""},
    {How::segment, "conv", Slot::mixer, "", ""},  // LFM2's short convolution block
    // Feed-forward blocks.
    {How::contains, "mlp", Slot::mlp, "", ""},
    {How::contains, "feed_forward", Slot::mlp, "", ""},
    {How::contains, "ffn", Slot::mlp, "", ""},
    {How::segment, "densereludense", Slot::mlp, "", ""},
    {How::segment, "intermediate", Slot::mlp, "", ""},
    {How::segment, "output", Slot::mlp, "", ""},  // BERT layer.N.output.dense
};

// Mixers that own their norms (gated RMSNorm of a delta net, MLA's latent norms, Mamba2's).
// Norms under these modules are part of the mixer: a DSA indexer's k_norm is the indexer's.
constexpr std::string_view k_norm_owning_mixers[] = {"linear_attn", "mixer", "mamba", "indexer"};
constexpr std::string_view k_mixer_norms[] = {"kv_a_layernorm", "q_a_layernorm", "dt_layernorm",
                                              "b_layernorm", "c_layernorm"};

bool rule_matches(const SlotRule& r, const TensorName& name) {
  if (!r.unless.empty() && name.has_segment_containing(r.unless)) {
    return false;
  }
  switch (r.how) {
    case How::prefix:
      return name.lower().starts_with(r.token);
    case How::segment:
      return name.has_segment(r.token);
    case How::contains:
      return name.has_segment_containing(r.token);
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// Scopes: parts of a checkpoint that are not the language model's decoder stack.

bool is_vision(const TensorName& name) {
  return name.has_segment_containing("vision") || name.has_segment("visual") ||
         name.has_segment_containing("multi_modal_projector") || name.has_segment("mm_projector") ||
         name.has_segment("image_newline");
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

struct Placement {
  std::string scope;
  std::optional<uint32_t> layer;
  Slot slot = Slot::other;
  std::string key_module;  // extra key part: module path for norms, name for heads
  std::string name;
  int position = 0;
};

Placement place(const MapContext& ctx, size_t i, const TensorName& name) {
  const TensorInfo& t = ctx.model.tensors[i];
  const TensorClass& c = ctx.params.classes[i];
  Placement p;
  p.layer = c.layer;
  if (name.size() > 1 && (name[0] == "encoder" || name[0] == "decoder")) {
    p.scope = std::string(name[0]);
  }
  if (is_vision(name)) {
    p.scope = "vision";
    p.slot = Slot::other;
    // The projector by its component (multi_modal_projector, Qwen-VL's merger and DeepStack
    // mergers), before a layer number: a merger list is numbered too.
    const bool projector = c.component == Component::projector;
    p.name = projector ? "multimodal_projector" : p.layer ? "vision_layer" : "vision_embeddings";
    p.key_module = p.name;
    p.position = projector ? 900'000 : p.layer ? static_cast<int>(*p.layer) + 1 : 0;
    return p;
  }
  const bool mtp_layer =
      ctx.mtp_layers > 0 && ctx.num_layers > 0 && p.layer && *p.layer >= ctx.num_layers;
  if (name.lower().starts_with("mtp.") || name.has_segment("mtp") || mtp_layer) {
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
      if (rule_matches(r, name)) {
        p.slot = r.slot;
        p.name = std::string(r.name);
        break;
      }
    }
  }
  if (p.slot == Slot::norm) {
    const std::string_view mod_leaf =
        name.size() >= 2 && is_param_segment(name.back()) ? name[name.size() - 2] : name.back();
    bool owned = std::find(std::begin(k_mixer_norms), std::end(k_mixer_norms), mod_leaf) !=
                 std::end(k_mixer_norms);
    for (size_t s = 0; s + 1 < name.size() && !owned; ++s) {
      owned = std::find(std::begin(k_norm_owning_mixers), std::end(k_norm_owning_mixers),
                        name[s]) != std::end(k_norm_owning_mixers);
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
  // A Mamba mixer beside attention in one layer (Falcon-H1) is a unit of its own.
  if (p.slot == Slot::mixer && name.has_segment("mamba")) {
    p.key_module = "mamba";
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

// Granite's fused expert banks: block_sparse_moe.input_linear [E, 2I, h] (gate and up) and
// output_linear [E, h, I].
bool is_granite_expert_bank(const TensorName& name) {
  return name.has_segment("block_sparse_moe") &&
         (name.has_segment("input_linear") || name.has_segment("output_linear"));
}

// A routed expert's tensor: under "experts" (numbered or fused), MLX's "switch_mlp", or a
// Granite expert bank.
bool is_expert_tensor(const TensorName& name) {
  for (size_t s = 0; s + 1 < name.size(); ++s) {
    if (name[s] == "experts" || name[s] == "switch_mlp") {
      return true;
    }
  }
  return is_granite_expert_bank(name);
}

}  // namespace

void place_units(MapContext& ctx, LayerMap& out) {
  const size_t n = ctx.model.tensors.size();
  std::map<std::tuple<std::string, int64_t, int, std::string>, size_t> index;
  out.unit_of_tensor.resize(n);
  ctx.names.resize(n);
  ctx.slot_of_unit.clear();
  for (size_t i = 0; i < n; ++i) {
    const TensorName name(ctx.model.tensors[i].name);
    NameFacts& facts = ctx.names[i];
    facts.leaf = leaf_of(name);
    facts.expert = name.expert_index();
    facts.under_experts = name.has_segment("experts") || name.has_segment("switch_mlp") ||
                          is_granite_expert_bank(name);
    facts.shared_expert = name.has_segment_containing("shared_expert");
    facts.shared_expert_gate = name.has_segment("shared_expert_gate");
    const Placement p = place(ctx, i, name);
    const int64_t layer_key = p.layer ? static_cast<int64_t>(*p.layer) : -1;
    auto key = std::make_tuple(p.scope, layer_key, static_cast<int>(p.slot), p.key_module);
    auto [it, fresh] = index.emplace(key, out.units.size());
    if (fresh) {
      LayerUnit u;
      u.layer = p.layer;
      u.scope = p.scope;
      u.name = p.name;
      u.module = p.key_module;
      u.order = scope_rank(p.scope) * 10'000'000 + p.position * 10 + slot_rank(p.slot);
      out.units.push_back(std::move(u));
      ctx.slot_of_unit.push_back(p.slot);
    }
    LayerUnit& u = out.units[it->second];
    u.tensors.push_back(i);
    u.params += ctx.params.classes[i].params;
    out.unit_of_tensor[i] = it->second;
    facts.routed_expert = p.slot == Slot::moe && is_expert_tensor(name);
  }
}

}  // namespace mbuild
