// Family contracts: what a model family's checkpoints look like (dims per size variant,
// architectural constraints, tensor names and shapes per role), one YAML file per family in the
// format of aprender's `apr oracle` contracts (DESIGN.md "Family contracts and fingerprint").
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mbuild/util/error.hpp"

namespace mbuild {

inline constexpr uint64_t k_max_family_contract_bytes = 1'000'000;

// One size variant's dims, under the contract's names (hidden_dim, num_layers, ...). `dims`
// holds every number the variant states, the defaults filled in (num_kv_heads = num_heads,
// head_dim = hidden_dim / num_heads), and is what shape templates are evaluated over.
struct SizeVariant {
  std::string name;        // "8b", "70b"
  std::string parameters;  // as written ("8B", "70.6B"); empty when not stated
  std::map<std::string, double, std::less<>> dims;
  std::optional<double> rope_theta, norm_eps;
  std::optional<bool> tied_embeddings;  // overrides the family's constraint (Llama 3.2 1B)
  std::optional<uint64_t> dim(std::string_view key) const;
};

enum class AttentionType { mha, gqa, mqa, mla, ssm, linear, hybrid };
enum class MlpType { swiglu, gated_mlp, gelu_mlp, relu_mlp, moe, none };
enum class NormType { rmsnorm, layernorm };
enum class PositionalEncoding { rope, absolute, alibi, relative, none };
enum class Activation { silu, gelu, gelu_tanh, relu, none };

std::string_view enum_name(AttentionType v);
std::string_view enum_name(MlpType v);
std::string_view enum_name(NormType v);
std::string_view enum_name(PositionalEncoding v);
std::string_view enum_name(Activation v);

struct FamilyConstraints {
  std::optional<AttentionType> attention_type;
  std::optional<Activation> activation;
  std::optional<NormType> norm_type;
  std::optional<PositionalEncoding> positional_encoding;
  std::optional<MlpType> mlp_type;
  std::optional<bool> has_bias, tied_embeddings, qk_norm;
  std::map<std::string, std::string, std::less<>> other;  // keys this build does not check
};

// A per-layer role: the tensor name with `{n}` for the layer index (and `{e}` for the expert
// index), and the layers it applies to. `layers` is "all" (default), a mixer or feed-forward
// kind as config.json names it ("full_attention", "linear_attention", "mamba", "dense", "moe"),
// "first" (a tensor only layer 0 holds), or "sparse_indexer" (a DSA layer with a lightning
// indexer of its own: every layer of DeepSeek-V3.2, GLM-5.2's `indexer_types` "full").
struct TensorRoleTemplate {
  std::string role;
  std::optional<std::string> name;  // nullopt: the family has no such tensor (`null`)
  std::string layers = "all";
};

struct TensorTemplate {
  std::optional<std::string> embedding, lm_head, final_norm;
  std::vector<TensorRoleTemplate> global;     // other tensors stored once (extension)
  std::vector<TensorRoleTemplate> per_layer;  // in file order
};

struct FamilyContract {
  std::string file;  // as loaded ("contracts/llama.yaml", "<built-in>/llama.yaml")
  std::string family, display_name, vendor, hf_pattern;
  std::vector<std::string> architectures;
  std::vector<std::string> model_types;  // extra model_type values that name this family
  std::vector<SizeVariant> size_variants;
  FamilyConstraints constraints;
  TensorTemplate tensors;
  std::map<std::string, std::string, std::less<>> shape_template;  // role -> "[expr, expr]"
  std::vector<std::string> quantizations;
  bool has_gguf_template = false, has_chat_template = false, has_certification = false;

  const SizeVariant* variant(std::string_view name) const;
};

// Parses one contract. Fails (bad_input) naming the file, the key and the line for YAML syntax
// errors, a missing required key (family, architectures, size_variants, tensor_template), a
// value of the wrong type or an unknown enum value. Quoted booleans ("true") are booleans.
Result<FamilyContract> parse_family_contract(std::string_view file, std::string_view text);

// Every `*.yaml` / `*.yml` of a folder, names starting with `_` skipped, in name order. Fails
// (not_found) when the folder cannot be read, and with the first malformed file's error.
Result<std::vector<FamilyContract>> load_family_contracts(const std::filesystem::path& dir);

// The contracts built into the binary (the repository's contracts/ folder at build time).
const std::vector<FamilyContract>& builtin_family_contracts();

// Evaluates a shape template ("[num_heads * head_dim, hidden_dim]") over `dims` with muParser.
// Fails (bad_input naming `what`) on a parse error, an unknown name or a value that is not a
// non-negative integer.
Result<std::vector<uint64_t>> evaluate_shape(
    std::string_view what, std::string_view expression,
    const std::map<std::string, double, std::less<>>& dims);

}  // namespace mbuild
