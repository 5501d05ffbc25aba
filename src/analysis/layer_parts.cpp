// Step 4 of the layer mapper: each unit to the parts an estimator loads. A module an estimator
// class models exactly (the catalog's formula on the arguments == the parameters of the tensors
// it stands for) becomes a part of that class; what no class covers (biases a class lacks,
// attention sinks, a shared-expert gate, ...) becomes a part of its own, which the estimator
// cannot model yet. Among the classes that fit exactly, the one covering the most parameters
// wins. Constructor arguments are JSON here: they are the catalog's data.
#include <algorithm>

#include <fmt/format.h>

#include "analysis/layer_steps.hpp"

namespace mbuild {
namespace {

using nlohmann::ordered_json;

// A class the part could be, with its arguments and the tensors it would stand for.
struct Candidate {
  std::string_view layer_class;
  ordered_json args;
  std::vector<size_t> tensors;
  uint64_t params = 0;
};

// A unit's tensors sorted by what they are to the module.
struct Groups {
  std::vector<size_t> weights, biases, aux;
  std::map<std::string, std::vector<size_t>> other;  // by remainder name
};

class PartCutter {
 public:
  PartCutter(const MapContext& ctx, LayerMap& out) : m_ctx(ctx), m_out(out) {}

  void cut(size_t index) {
    const LayerUnit& u = m_out.units[index];
    m_prefix = u.scope == "encoder" || u.scope == "decoder" ? u.scope + "_" : "";
    std::visit([&](const auto& shape) { cut(u, index, shape); }, u.shape);
  }

 private:
  // ----- parts -------------------------------------------------------------------------------

  LayerPart part_of(const LayerUnit& u, size_t index, std::string name,
                    std::string_view layer_class, std::vector<size_t> tensors) const {
    LayerPart p;
    p.unit = index;
    p.name = std::move(name);
    p.layer_class = layer_class;
    p.layer = u.layer;
    p.params = params_of(tensors);
    p.tensors = std::move(tensors);
    p.order = u.order;
    p.module = u.module;
    return p;
  }

  void add(LayerPart p) {
    if (!m_prefix.empty() && p.name.rfind(m_prefix, 0) != 0) {
      p.name = m_prefix + p.name;
    }
    m_out.parts.push_back(std::move(p));
  }

  // A part for the whole unit.
  void whole(const LayerUnit& u, size_t index, std::string_view layer_class, ordered_json specs,
             std::string name = {}) {
    if (name.empty()) {
      name = u.name;
    }
    LayerPart p = part_of(u, index, std::move(name), layer_class, u.tensors);
    p.specs = std::move(specs);
    add(std::move(p));
  }

  // A remainder: tensors of the unit no chosen class covers, as a part of its own.
  void remainder(const LayerUnit& u, size_t index, std::string name, std::string_view layer_class,
                 std::vector<size_t> tensors, ordered_json specs) {
    if (tensors.empty()) {
      return;
    }
    LayerPart p = part_of(u, index, std::move(name), layer_class, std::move(tensors));
    p.module = u.module + "#" + p.name;
    p.specs = std::move(specs);
    add(std::move(p));
  }

  uint64_t params_of(const std::vector<size_t>& tensors) const {
    uint64_t n = 0;
    for (size_t i : tensors) {
      n += m_ctx.params.classes[i].params;
    }
    return n;
  }

  // The candidate that fits exactly and covers the most parameters (the first of equals), or
  // nullptr. A class the catalog lacks, whose constructor would refuse the arguments, or whose
  // formula gives another number, does not fit.
  const Candidate* best(const std::vector<Candidate>& candidates) const {
    const Candidate* chosen = nullptr;
    for (const Candidate& c : candidates) {
      const CatalogClass* cls = m_ctx.catalog->find(c.layer_class);
      if (!cls || !check_arguments(*cls, c.args).empty()) {
        continue;
      }
      auto formula = evaluate_param_count(*cls, c.args);
      if (!formula || static_cast<uint64_t>(*formula) != c.params) {
        continue;
      }
      if (!chosen || c.params > chosen->params) {
        chosen = &c;
      }
    }
    return chosen;
  }

  // Whether the catalog has any of the candidates' classes. When it has none (a replacement
  // catalog without them), the module keeps its natural class, unsupported there.
  bool any_known(const std::vector<Candidate>& candidates) const {
    return std::any_of(candidates.begin(), candidates.end(),
                       [&](const Candidate& c) { return m_ctx.catalog->supports(c.layer_class); });
  }

  // No candidate fits: the whole unit under the first candidate's class when the catalog has
  // none of them, else under `custom` (a module of a known kind no class sizes exactly).
  void unfitted(const LayerUnit& u, size_t index, const std::vector<Candidate>& candidates,
                std::string_view custom, ordered_json custom_specs, std::string name = {}) {
    if (!any_known(candidates)) {
      whole(u, index, candidates.front().layer_class, candidates.front().args, std::move(name));
    } else {
      whole(u, index, custom, std::move(custom_specs), std::move(name));
    }
  }

  Candidate candidate(std::string_view layer_class, ordered_json args,
                      std::vector<size_t> tensors) const {
    Candidate c{layer_class, std::move(args), std::move(tensors), 0};
    c.params = params_of(c.tensors);
    return c;
  }

  static std::vector<size_t> join(std::vector<size_t> a, const std::vector<size_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    std::sort(a.begin(), a.end());
    return a;
  }

  // The chosen class as the unit's main part (with the quantization auxiliaries, which count
  // nothing), named `name`.
  void modelled(const LayerUnit& u, size_t index, std::string name, const Candidate& c,
                const std::vector<size_t>& aux) {
    LayerPart p = part_of(u, index, std::move(name), c.layer_class, join(c.tensors, aux));
    p.specs = c.args;
    add(std::move(p));
  }

  // Tensors split by their role in the module: weights (and parameters without a suffix),
  // biases, quantization auxiliaries, and those `other_name` sets apart by leaf.
  template <class OtherName>
  Groups group(const LayerUnit& u, OtherName other_name) const {
    Groups g;
    for (size_t i : u.tensors) {
      const Leaf& leaf = m_ctx.names[i].leaf;
      if (m_ctx.params.classes[i].role == TensorRole::quant_aux) {
        g.aux.push_back(i);
      } else if (std::string name = other_name(i, leaf); !name.empty()) {
        g.other[name].push_back(i);
      } else if (leaf.kind == Leaf::bias) {
        g.biases.push_back(i);
      } else {
        g.weights.push_back(i);
      }
    }
    return g;
  }

  // ----- by kind of unit ---------------------------------------------------------------------

  void cut(const LayerUnit& u, size_t index, const UnknownShape&) {
    whole(u, index, layer_class::unknown, {{"module", u.module}});
  }

  void cut(const LayerUnit& u, size_t index, const BufferShape& s) {
    whole(u, index, layer_class::buffer, {{"elements", s.elements}});
  }

  void cut(const LayerUnit& u, size_t index, const HeadShape& s) {
    ordered_json specs;
    specs["hidden_size"] = s.hidden_size;
    if (s.lm_head) {
      specs["vocab_size"] = s.vocab_size;
    } else {
      specs["output_size"] = s.output_size;
    }
    specs["has_bias"] = s.has_bias;
    whole(u, index, layer_class::output_head, std::move(specs));
  }

  void cut(const LayerUnit& u, size_t index, const NormShape& s) {
    const Groups g = group(u, [](size_t, const Leaf&) { return std::string(); });
    std::vector<Candidate> c;
    c.push_back(candidate(layer_class::norm,
                          {{"hidden_size", s.hidden_size}, {"has_bias", !g.biases.empty()}},
                          join(g.weights, g.biases)));
    if (const Candidate* chosen = best(c)) {
      modelled(u, index, u.name, *chosen, g.aux);
    } else {
      unfitted(u, index, c, layer_class::custom_norm,
               {{"hidden_size", s.hidden_size}, {"has_bias", s.has_bias}});
    }
  }

  void cut(const LayerUnit& u, size_t index, const EmbeddingShape& s) {
    const Groups g = group(u, [](size_t, const Leaf&) { return std::string(); });
    std::vector<Candidate> c;
    c.push_back(candidate(layer_class::embedding,
                          {{"vocab_size", s.vocab_size}, {"hidden_size", s.hidden_size}},
                          join(g.weights, g.biases)));
    if (const Candidate* chosen = best(c)) {
      modelled(u, index, u.name, *chosen, g.aux);
    } else {
      unfitted(u, index, c, layer_class::custom_embedding,
               {{"vocab_size", s.vocab_size}, {"hidden_size", s.hidden_size}});
    }
  }

  void cut(const LayerUnit& u, size_t index, const AttentionShape& s) {
    if (s.cross) {
      whole(u, index, layer_class::cross_attention,
            {{"hidden_size", s.hidden_size},
             {"num_heads", s.num_heads},
             {"head_dim", s.head_dim},
             {"has_bias", s.has_bias}});
      return;
    }
    // Sinks and T5's relative position bias sit beside the projections; no class has them.
    const Groups g = group(u, [](size_t, const Leaf& leaf) {
      return leaf.module == "sinks"                     ? std::string("attention_sinks")
             : leaf.module == "relative_attention_bias" ? std::string("relative_position_bias")
                                                        : std::string();
    });
    const std::string name = s.sliding ? "attention_sliding" : "attention";
    const ordered_json window = s.sliding ? ordered_json(s.sliding_window) : ordered_json();
    auto sliding = [&](bool with_bias) {
      return candidate(layer_class::sliding,
                       {{"hidden_size", s.hidden_size},
                        {"num_query_heads", s.num_heads},
                        {"num_kv_heads", s.num_kv_heads},
                        {"head_dim", s.head_dim},
                        {"sliding_window", window},
                        {"num_sinks", s.num_sinks},
                        {"has_bias", with_bias}},
                       with_bias ? join(g.weights, g.biases) : g.weights);
    };
    std::vector<Candidate> c;
    if (!s.sliding && s.num_sinks == 0) {
      if (s.num_kv_heads != 0 && s.num_kv_heads < s.num_heads) {
        c.push_back(candidate(layer_class::gqa,
                              {{"hidden_size", s.hidden_size},
                               {"num_heads", s.num_heads},
                               {"num_kv_heads", s.num_kv_heads},
                               {"head_dim", s.head_dim}},
                              g.weights));
      } else {
        c.push_back(candidate(
            layer_class::attention,
            {{"hidden_size", s.hidden_size}, {"num_heads", s.num_heads}, {"head_dim", s.head_dim}},
            g.weights));
      }
    }
    c.push_back(sliding(true));
    c.push_back(sliding(false));
    const ordered_json specs{{"hidden_size", s.hidden_size},   {"num_heads", s.num_heads},
                             {"num_kv_heads", s.num_kv_heads}, {"head_dim", s.head_dim},
                             {"sliding_window", window},       {"num_sinks", s.num_sinks},
                             {"has_bias", s.has_bias},         {"output_gate", s.output_gate}};
    if (s.output_gate) {
      // A query with an output gate is a class of its own, whatever fits numerically.
      whole(u, index, layer_class::gated_attention, specs, name);
      return;
    }
    const Candidate* chosen = best(c);
    if (!chosen) {
      unfitted(u, index, c, layer_class::custom_attention, specs, name);
      return;
    }
    modelled(u, index, name, *chosen, g.aux);
    if (chosen->tensors.size() == g.weights.size()) {
      remainder(u, index, "attention_bias", layer_class::attention_bias, g.biases,
                {{"hidden_size", s.hidden_size},
                 {"q_dim", s.num_heads * s.head_dim},
                 {"kv_dim", s.num_kv_heads * s.head_dim}});
    }
    for (const auto& [what, tensors] : g.other) {
      if (what == "attention_sinks") {
        remainder(u, index, what, layer_class::attention_sinks, tensors,
                  {{"num_heads", s.num_heads}});
      } else {
        remainder(u, index, what, layer_class::relative_position_bias, tensors,
                  {{"num_heads", s.num_heads}});
      }
    }
  }

  void cut(const LayerUnit& u, size_t index, const MlpShape& s) {
    const Groups g = group(u, [](size_t, const Leaf&) { return std::string(); });
    std::vector<Candidate> c;
    if (s.gated) {
      c.push_back(candidate(
          layer_class::gated_mlp,
          {{"hidden_size", s.hidden_size}, {"intermediate_size", s.intermediate_size}}, g.weights));
    } else {
      c.push_back(candidate(layer_class::mlp,
                            {{"hidden_size", s.hidden_size},
                             {"intermediate_size", s.intermediate_size},
                             {"num_projections", 2}},
                            g.weights));
    }
    const Candidate* chosen = best(c);
    if (!chosen) {
      unfitted(u, index, c, layer_class::custom_mlp,
               {{"hidden_size", s.hidden_size},
                {"intermediate_size", s.intermediate_size},
                {"gated", s.gated},
                {"has_bias", s.has_bias}});
      return;
    }
    modelled(u, index, u.name, *chosen, g.aux);
    remainder(u, index, "mlp_bias", layer_class::mlp_bias, g.biases,
              {{"hidden_size", s.hidden_size}, {"intermediate_size", s.intermediate_size}});
  }

  void cut(const LayerUnit& u, size_t index, const MoeShape& s) {
    // Routed experts, the router, shared experts and a shared expert's gate.
    std::vector<size_t> router_w, router_b, expert_w, expert_b, shared_w, shared_b, gate, aux;
    for (size_t i : u.tensors) {
      const Leaf& leaf = m_ctx.names[i].leaf;
      const NameFacts& name = m_ctx.names[i];
      if (m_ctx.params.classes[i].role == TensorRole::quant_aux) {
        aux.push_back(i);
      } else if (name.shared_expert_gate) {
        gate.push_back(i);
      } else if (name.shared_expert) {
        (leaf.kind == Leaf::bias ? shared_b : shared_w).push_back(i);
      } else if (name.routed_expert) {
        (leaf.kind == Leaf::bias ? expert_b : expert_w).push_back(i);
      } else if (leaf.module == "e_score_correction_bias" || leaf.kind == Leaf::bias) {
        router_b.push_back(i);
      } else {
        router_w.push_back(i);
      }
    }
    const uint64_t h = s.hidden_size, inter = s.intermediate_size, p = s.num_projections;
    // A shared expert as wide as a multiple of the routed ones is the class's; else it is a
    // gated (or plain) MLP of its own.
    const uint64_t shared_params = params_of(shared_w);
    const uint64_t per_expert = p * h * inter;
    const bool shared_inside =
        shared_params == 0 || (per_expert != 0 && shared_params % per_expert == 0);
    const uint64_t num_shared = shared_inside && per_expert ? shared_params / per_expert : 0;
    auto moe = [&](bool with_bias) {
      std::vector<size_t> covered = join(router_w, expert_w);
      if (shared_inside) {
        covered = join(covered, shared_w);
      }
      if (with_bias) {
        covered = join(join(covered, router_b), expert_b);
        if (shared_inside) {
          covered = join(covered, shared_b);
        }
      }
      return candidate(layer_class::moe,
                       {{"hidden_size", h},
                        {"intermediate_size", inter},
                        {"num_experts", s.num_experts},
                        {"top_k", s.top_k},
                        {"num_shared_experts", num_shared},
                        {"num_projections", p},
                        {"has_bias", with_bias}},
                       std::move(covered));
    };
    std::vector<Candidate> c;
    c.push_back(moe(true));
    c.push_back(moe(false));
    const Candidate* chosen = best(c);
    if (!chosen) {
      ordered_json specs{{"hidden_size", h},
                         {"intermediate_size", inter},
                         {"num_experts", s.num_experts},
                         {"top_k", s.top_k},
                         {"num_shared_experts", s.num_shared_experts},
                         {"num_projections", p},
                         {"has_bias", s.has_bias}};
      if (s.shared_expert_intermediate_size) {
        specs["shared_expert_intermediate_size"] = *s.shared_expert_intermediate_size;
      }
      unfitted(u, index, c, layer_class::custom_moe, std::move(specs));
      return;
    }
    modelled(u, index, u.name, *chosen, aux);
    const bool with_bias = chosen->args["has_bias"].get<bool>();
    if (!with_bias) {
      remainder(u, index, "router_bias", layer_class::router_bias, router_b,
                {{"num_experts", s.num_experts},
                 {"scoring_func", s.scoring_func},
                 {"topk_method", s.topk_method}});
      remainder(u, index, "expert_bias", layer_class::expert_bias, expert_b,
                {{"hidden_size", h}, {"intermediate_size", inter}, {"num_experts", s.num_experts}});
    }
    if (!shared_inside) {
      shared_expert(u, index, s, shared_w, shared_b);
    } else if (!with_bias) {
      remainder(u, index, "shared_expert_bias", layer_class::mlp_bias, shared_b,
                {{"hidden_size", h}, {"intermediate_size", inter}});
    }
    remainder(u, index, "shared_expert_gate", layer_class::shared_expert_gate, gate,
              {{"hidden_size", h}});
  }

  // A shared expert of another width than the routed ones: an MLP of its own.
  void shared_expert(const LayerUnit& u, size_t index, const MoeShape& s,
                     const std::vector<size_t>& weights, const std::vector<size_t>& biases) {
    const uint64_t h = s.hidden_size, p = s.num_projections;
    const uint64_t width = s.shared_expert_intermediate_size.value_or(0);
    std::vector<Candidate> c;
    if (p == 3) {
      c.push_back(candidate(layer_class::gated_mlp,
                            {{"hidden_size", h}, {"intermediate_size", width}}, weights));
    } else {
      c.push_back(candidate(
          layer_class::mlp,
          {{"hidden_size", h}, {"intermediate_size", width}, {"num_projections", p}}, weights));
    }
    if (const Candidate* chosen = best(c)) {
      LayerPart part = part_of(u, index, "shared_expert", chosen->layer_class, chosen->tensors);
      part.module = u.module + "#shared_expert";
      part.specs = chosen->args;
      add(std::move(part));
      remainder(u, index, "shared_expert_bias", layer_class::mlp_bias, biases,
                {{"hidden_size", h}, {"intermediate_size", width}});
      return;
    }
    remainder(u, index, "shared_expert", layer_class::custom_mlp, join(weights, biases),
              {{"hidden_size", h}, {"intermediate_size", width}});
  }

  // MLA; a DSA lightning indexer under it (self_attn.indexer.*: DeepSeek-V3.2, GLM-5) is a
  // part of its own.
  void cut(const LayerUnit& u, size_t index, const MlaShape& s) {
    std::vector<size_t> attention, indexer;
    for (size_t i : u.tensors) {
      (is_indexer_tensor(m_ctx.model.tensors[i].name) ? indexer : attention).push_back(i);
    }
    LayerPart p = part_of(u, index, u.name, layer_class::mla, std::move(attention));
    p.specs = {{"hidden_size", s.hidden_size},
               {"num_heads", s.num_heads},
               {"q_lora_rank", s.q_lora_rank},
               {"kv_lora_rank", s.kv_lora_rank},
               {"qk_nope_head_dim", s.qk_nope_head_dim},
               {"qk_rope_head_dim", s.qk_rope_head_dim},
               {"v_head_dim", s.v_head_dim}};
    add(std::move(p));
    remainder(u, index, "indexer", layer_class::lightning_indexer, std::move(indexer),
              {{"hidden_size", s.hidden_size},
               {"q_lora_rank", s.q_lora_rank},
               {"index_n_heads", m_ctx.cfg_count("index_n_heads").value_or(0)},
               {"index_head_dim", m_ctx.cfg_count("index_head_dim").value_or(0)},
               {"index_topk", m_ctx.cfg_count("index_topk").value_or(0)}});
  }

  void cut(const LayerUnit& u, size_t index, const DeltaNetShape& s) {
    whole(u, index, layer_class::gated_deltanet,
          {{"hidden_size", s.hidden_size},
           {"num_key_heads", s.num_key_heads},
           {"num_value_heads", s.num_value_heads},
           {"key_head_dim", s.key_head_dim},
           {"value_head_dim", s.value_head_dim},
           {"conv_kernel", s.conv_kernel}});
  }

  void cut(const LayerUnit& u, size_t index, const MambaShape& s) {
    whole(u, index, layer_class::mamba,
          {{"hidden_size", s.hidden_size},
           {"d_inner", s.d_inner},
           {"d_state", s.d_state},
           {"d_conv", s.d_conv},
           {"dt_rank", s.dt_rank},
           {"variant", s.mamba2 ? "mamba2" : "mamba"}});
  }

  void cut(const LayerUnit& u, size_t index, const ShortConvShape& s) {
    whole(u, index, layer_class::short_conv,
          {{"hidden_size", s.hidden_size},
           {"conv_dim", s.conv_dim},
           {"conv_L_cache", s.cache},
           {"has_bias", s.has_bias}});
  }

  void cut(const LayerUnit& u, size_t index, const RwkvShape& s) {
    ordered_json specs{{"hidden_size", s.hidden_size}};
    specs[s.time_mix ? "attention_hidden_size" : "intermediate_size"] = s.width;
    whole(u, index, s.time_mix ? layer_class::rwkv_time_mix : layer_class::rwkv_channel_mix,
          std::move(specs));
  }

  void cut(const LayerUnit& u, size_t index, const VisionShape& s) {
    ordered_json specs{{"hidden_size", s.hidden_size}};
    switch (s.part) {
      case VisionShape::layer:
        specs["num_heads"] = s.num_heads;
        specs["intermediate_size"] = s.intermediate_size;
        break;
      case VisionShape::embeddings:
        specs["patch_size"] = s.patch_size;
        specs["image_size"] = s.image_size;
        break;
      case VisionShape::projector:
        specs["text_hidden_size"] = s.text_hidden_size;
        break;
    }
    whole(u, index, layer_class::vision, std::move(specs));
  }

  void cut(const LayerUnit& u, size_t index, const MtpShape& s) {
    whole(u, index, layer_class::mtp,
          {{"hidden_size", s.hidden_size}, {"num_experts", s.num_experts}});
  }

  const MapContext& m_ctx;
  LayerMap& m_out;
  std::string m_prefix;
};

}  // namespace

void cut_parts(const MapContext& ctx, LayerMap& out) {
  PartCutter cutter(ctx, out);
  for (size_t i = 0; i < out.units.size(); ++i) {
    cutter.cut(i);
  }
}

}  // namespace mbuild
