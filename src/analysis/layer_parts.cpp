// Step 4 of the layer mapper: each unit's facts to the parts an estimator loads, a class and
// its constructor arguments (JSON: the catalog's data) over the tensors it covers.
#include <fmt/format.h>

#include "analysis/layer_steps.hpp"

namespace mbuild {
namespace {

using nlohmann::ordered_json;

class PartCutter {
 public:
  PartCutter(const MapContext& ctx, LayerMap& out) : m_ctx(ctx), m_out(out) {}

  void cut(size_t index) {
    const LayerUnit& u = m_out.units[index];
    LayerPart p;
    p.unit = index;
    p.name = u.name;
    p.layer = u.layer;
    p.tensors = u.tensors;
    p.params = u.params;
    p.order = u.order;
    p.module = u.module;
    std::visit([&](const auto& f) { describe(p, f); }, u.shape);
    const std::string prefix = u.scope == "encoder" || u.scope == "decoder" ? u.scope + "_" : "";
    if (const auto* moe = std::get_if<MoeShape>(&u.shape); moe && moe->router_differs) {
      split_router(p, *moe);
    }
    add(std::move(p), prefix);
  }

 private:
  void add(LayerPart p, const std::string& prefix) {
    if (!prefix.empty() && p.name.rfind(prefix, 0) != 0) {
      p.name = prefix + p.name;
    }
    m_out.parts.push_back(std::move(p));
  }

  static void describe(LayerPart& p, const UnknownShape&) {
    p.layer_class = layer_class::unknown;
    p.specs["module"] = p.module;
  }
  static void describe(LayerPart& p, const BufferShape& f) {
    p.layer_class = layer_class::buffer;
    p.specs["elements"] = f.elements;
  }
  static void describe(LayerPart& p, const HeadShape& f) {
    p.layer_class = layer_class::output_head;
    p.specs["hidden_size"] = f.hidden_size;
    if (f.lm_head) {
      p.specs["vocab_size"] = f.vocab_size;
    } else {
      p.specs["output_size"] = f.output_size;
    }
    p.specs["has_bias"] = f.has_bias;
  }
  static void describe(LayerPart& p, const NormShape& f) {
    p.layer_class = layer_class::norm;
    p.specs["hidden_size"] = f.hidden_size;
    p.specs["has_bias"] = f.has_bias;
  }
  static void describe(LayerPart& p, const EmbeddingShape& f) {
    p.layer_class = layer_class::embedding;
    p.specs["vocab_size"] = f.vocab_size;
    p.specs["hidden_size"] = f.hidden_size;
  }
  static void describe(LayerPart& p, const AttentionShape& f) {
    ordered_json& s = p.specs;
    s["hidden_size"] = f.hidden_size;
    if (f.cross) {
      p.layer_class = layer_class::cross_attention;
      s["num_heads"] = f.num_heads;
      s["head_dim"] = f.head_dim;
      s["has_bias"] = f.has_bias;
      return;
    }
    if (f.sliding) {
      p.layer_class = layer_class::sliding;
      p.name = "attention_sliding";
      s["num_query_heads"] = f.num_heads;
      s["num_kv_heads"] = f.num_kv_heads;
      s["head_dim"] = f.head_dim;
      s["sliding_window"] = f.sliding_window;
      s["num_sinks"] = f.num_sinks;
      s["has_bias"] = f.has_bias;
      return;
    }
    if (f.num_sinks > 0) {
      p.layer_class = layer_class::attention_sinks;
      s["num_heads"] = f.num_heads;
      s["num_kv_heads"] = f.num_kv_heads;
      s["head_dim"] = f.head_dim;
      s["num_sinks"] = f.num_sinks;
      s["has_bias"] = f.has_bias;
      return;
    }
    const bool gqa = f.num_kv_heads != 0 && f.num_kv_heads < f.num_heads;
    p.layer_class = gqa ? layer_class::gqa : layer_class::attention;
    s["num_heads"] = f.num_heads;
    if (gqa) {
      s["num_kv_heads"] = f.num_kv_heads;
    }
    s["head_dim"] = f.head_dim;
    if (f.has_bias) {
      s["has_bias"] = true;  // beyond the constructor: parameter_count includes the biases
    }
    if (f.output_gate) {
      s["output_gate"] = true;  // beyond the constructor: q_proj holds n·d more rows
    }
  }
  static void describe(LayerPart& p, const MlaShape& f) {
    p.layer_class = layer_class::mla;
    ordered_json& s = p.specs;
    s["hidden_size"] = f.hidden_size;
    s["num_heads"] = f.num_heads;
    s["q_lora_rank"] = f.q_lora_rank;
    s["kv_lora_rank"] = f.kv_lora_rank;
    s["qk_nope_head_dim"] = f.qk_nope_head_dim;
    s["qk_rope_head_dim"] = f.qk_rope_head_dim;
    s["v_head_dim"] = f.v_head_dim;
  }
  static void describe(LayerPart& p, const DeltaNetShape& f) {
    p.layer_class = layer_class::gated_deltanet;
    ordered_json& s = p.specs;
    s["hidden_size"] = f.hidden_size;
    s["num_key_heads"] = f.num_key_heads;
    s["num_value_heads"] = f.num_value_heads;
    s["key_head_dim"] = f.key_head_dim;
    s["value_head_dim"] = f.value_head_dim;
    s["conv_kernel"] = f.conv_kernel;
  }
  static void describe(LayerPart& p, const MambaShape& f) {
    p.layer_class = layer_class::mamba;
    ordered_json& s = p.specs;
    s["hidden_size"] = f.hidden_size;
    s["d_inner"] = f.d_inner;
    s["d_state"] = f.d_state;
    s["d_conv"] = f.d_conv;
    s["dt_rank"] = f.dt_rank;
    s["variant"] = f.mamba2 ? "mamba2" : "mamba";
  }
  static void describe(LayerPart& p, const RwkvShape& f) {
    p.layer_class = f.time_mix ? layer_class::rwkv_time_mix : layer_class::rwkv_channel_mix;
    p.specs["hidden_size"] = f.hidden_size;
    p.specs[f.time_mix ? "attention_hidden_size" : "intermediate_size"] = f.width;
  }
  static void describe(LayerPart& p, const MlpShape& f) {
    p.layer_class = f.gated ? layer_class::gated_mlp : layer_class::mlp;
    ordered_json& s = p.specs;
    s["hidden_size"] = f.hidden_size;
    s["intermediate_size"] = f.intermediate_size;
    if (!f.gated) {
      s["num_projections"] = 2;
    }
    if (f.has_bias) {
      s["has_bias"] = true;
    }
  }
  static void describe(LayerPart& p, const MoeShape& f) {
    p.layer_class = layer_class::moe;
    ordered_json& s = p.specs;
    s["hidden_size"] = f.hidden_size;
    s["intermediate_size"] = f.intermediate_size;
    s["num_experts"] = f.num_experts;
    s["top_k"] = f.top_k;
    s["num_shared_experts"] = f.num_shared_experts;
    s["num_projections"] = f.num_projections;
    s["has_bias"] = f.has_bias;
    if (f.shared_expert_intermediate_size) {
      s["shared_expert_intermediate_size"] = *f.shared_expert_intermediate_size;
    }
  }
  static void describe(LayerPart& p, const VisionShape& f) {
    p.layer_class = layer_class::vision;
    ordered_json& s = p.specs;
    s["hidden_size"] = f.hidden_size;
    switch (f.part) {
      case VisionShape::layer:
        s["num_heads"] = f.num_heads;
        s["intermediate_size"] = f.intermediate_size;
        break;
      case VisionShape::embeddings:
        s["patch_size"] = f.patch_size;
        s["image_size"] = f.image_size;
        break;
      case VisionShape::projector:
        s["text_hidden_size"] = f.text_hidden_size;
        break;
    }
  }
  static void describe(LayerPart& p, const MtpShape& f) {
    p.layer_class = layer_class::mtp;
    p.specs["hidden_size"] = f.hidden_size;
    p.specs["num_experts"] = f.num_experts;
  }

  // The router's tensors leave the MoE part for a part of their own.
  void split_router(LayerPart& moe, const MoeShape& f) {
    LayerPart router;
    std::vector<size_t> keep;
    for (size_t i : moe.tensors) {
      const std::string& leaf = m_ctx.leaves[i].module;
      if (leaf == "gate" || leaf == "router" || leaf == "e_score_correction_bias") {
        router.tensors.push_back(i);
        router.params += m_ctx.params.classes[i].params;
      } else {
        keep.push_back(i);
      }
    }
    if (router.tensors.empty()) {
      return;
    }
    moe.tensors = std::move(keep);
    moe.params -= router.params;
    router.unit = moe.unit;
    router.name = "router";
    router.layer_class = layer_class::router;
    router.layer = moe.layer;
    router.module = moe.module + "#router";
    router.order = moe.order + 1;
    ordered_json& s = router.specs;
    s["hidden_size"] = f.hidden_size;
    s["num_experts"] = f.num_experts;
    s["top_k"] = f.top_k;
    s["scoring_func"] = f.scoring_func;
    s["topk_method"] = f.topk_method;
    s["n_group"] = f.n_group;
    s["topk_group"] = f.topk_group;
    s["has_correction_bias"] = f.has_correction_bias;
    m_routers.push_back(std::move(router));
  }

 public:
  // Router parts go after every unit's, as units of their own used to.
  void flush_routers() {
    for (LayerPart& r : m_routers) {
      m_out.parts.push_back(std::move(r));
    }
    m_routers.clear();
  }

 private:
  const MapContext& m_ctx;
  LayerMap& m_out;
  std::vector<LayerPart> m_routers;
};

}  // namespace

void cut_parts(const MapContext& ctx, LayerMap& out) {
  PartCutter cutter(ctx, out);
  for (size_t i = 0; i < out.units.size(); ++i) {
    cutter.cut(i);
  }
  cutter.flush_routers();
}

}  // namespace mbuild
