// Parameter counting (DESIGN.md "Counting conventions"), quantization-aware.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mbuild/model/model.hpp"
#include "mbuild/util/finding.hpp"

namespace mbuild {

enum class Component {
  embedding,
  attention,
  mlp,
  moe_experts,
  shared_experts,
  router,
  norms,
  lm_head,
  vision,     // a vision tower (patch embedding, encoder blocks)
  projector,  // what carries its features into the language model (projector, mergers)
  mtp,
  ssm,
  other,
};
inline constexpr size_t k_component_count = static_cast<size_t>(Component::other) + 1;
std::string_view component_name(Component c);
// A vision tower or its projector: parts outside the language model.
inline bool is_multimodal(Component c) {
  return c == Component::vision || c == Component::projector;
}

// What a stored tensor is, for counting.
enum class TensorRole {
  parameter,  // counted element by element
  packed,     // a container of quantized weights: counted as the weights it holds
  quant_aux,  // scales, zeros, group indices, ...: not counted
  buffer,     // stored non-parameter state (GPT-2 attn.bias masks): counted, listed apart
};
std::string_view role_name(TensorRole r);

struct TensorClass {
  Component component = Component::other;
  TensorRole role = TensorRole::parameter;
  uint64_t params = 0;             // logical parameters it contributes to the total
  std::string_view logical_dtype;  // dtype name, or "INT4", "NF4", "MXFP4", ...
  std::optional<uint32_t> layer;   // decoder layer index when the name carries one
};

struct ParamCount {
  uint64_t total = 0;                        // DESIGN.md convention
  uint64_t raw_elements = 0;                 // plain element count of every stored tensor
  std::map<std::string, uint64_t> by_dtype;  // logical params per dtype
  std::map<std::string, uint64_t> raw_elements_by_dtype;  // per stored dtype
  std::map<std::string, uint64_t> stored_bytes_by_dtype;  // tensor bytes per stored dtype
  std::array<uint64_t, k_component_count> by_component{};
  uint64_t buffers = 0;  // elements of non-parameter buffers (included in total)
  std::vector<std::string> buffer_names;
  uint64_t quant_aux_elements = 0;
  uint64_t stored_bytes = 0;  // Σ tensor bytes
  uint64_t embedding = 0;     // the input embedding (token embeddings) alone
  bool tied_embeddings = false;
  uint64_t routed_expert_params = 0;
  std::optional<uint64_t> active;  // MoE: params touched per token, the input embedding included
  // The same without the input embedding (Meta's and OpenAI's published convention); a tied
  // embedding stays in, as the output head uses it.
  std::optional<uint64_t> active_excluding_embedding;
  std::string quant_method;          // as detected ("" when unquantized)
  std::vector<TensorClass> classes;  // parallel to Model::tensors
  std::vector<Finding> findings;
};

// Classifies and counts every tensor of a model.
ParamCount count_params(const Model& model);

// Parses "layers.12." style indices out of a tensor name (the first number after a layer
// container segment), or nullopt.
std::optional<uint32_t> layer_index_of(std::string_view tensor_name);

}  // namespace mbuild
