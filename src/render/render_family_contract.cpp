#include "mbuild/render/render_family_contract.hpp"

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace mbuild {
namespace {

// A YAML double-quoted scalar: JSON's string escaping is a subset of YAML's.
std::string yaml_quoted(std::string_view s) {
  return nlohmann::json(std::string(s)).dump();
}

std::string number(double v) {
  if (std::floor(v) == v && std::fabs(v) < 9.0e15) {
    return fmt::format("{}", static_cast<int64_t>(v));
  }
  return fmt::format("{}", v);
}

std::string flag(const std::optional<bool>& b) {
  return *b ? "true" : "false";
}

}  // namespace

std::string render_family_contract_yaml(const FamilyContract& c) {
  std::string out;
  out += "# Emitted by mbuild emit-contract: dims from config.json, templates from the tensors.\n";
  out += fmt::format("family: {}\n", yaml_quoted(c.family));
  out += fmt::format("display_name: {}\n", yaml_quoted(c.display_name));
  out += fmt::format("vendor: {}\n", yaml_quoted(c.vendor));
  out += "architectures:\n";
  for (const std::string& a : c.architectures) {
    out += fmt::format("  - {}\n", yaml_quoted(a));
  }
  out += fmt::format("hf_pattern: {}\n", yaml_quoted(c.hf_pattern));
  if (!c.model_types.empty()) {
    out += "model_types:\n";
    for (const std::string& m : c.model_types) {
      out += fmt::format("  - {}\n", yaml_quoted(m));
    }
  }
  out += "size_variants:\n";
  for (const SizeVariant& v : c.size_variants) {
    out += fmt::format("  {}:\n", yaml_quoted(v.name));
    out += fmt::format("    parameters: {}\n", yaml_quoted(v.parameters));
    for (const auto& [key, value] : v.dims) {
      out += fmt::format("    {}: {}\n", key, number(value));
    }
    if (v.rope_theta) {
      out += fmt::format("    rope_theta: {}\n", number(*v.rope_theta));
    }
    if (v.norm_eps) {
      out += fmt::format("    norm_eps: {}\n", *v.norm_eps);
    }
    if (v.tied_embeddings) {
      out += fmt::format("    tied_embeddings: {}\n", flag(v.tied_embeddings));
    }
  }
  const FamilyConstraints& k = c.constraints;
  out += "constraints:\n";
  if (k.attention_type) {
    out += fmt::format("  attention_type: {}\n", enum_name(*k.attention_type));
  }
  if (k.activation) {
    out += fmt::format("  activation: {}\n", enum_name(*k.activation));
  }
  if (k.norm_type) {
    out += fmt::format("  norm_type: {}\n", enum_name(*k.norm_type));
  }
  if (k.has_bias) {
    out += fmt::format("  has_bias: {}\n", flag(k.has_bias));
  }
  if (k.tied_embeddings) {
    out += fmt::format("  tied_embeddings: {}\n", flag(k.tied_embeddings));
  }
  if (k.positional_encoding) {
    out += fmt::format("  positional_encoding: {}\n", enum_name(*k.positional_encoding));
  }
  if (k.mlp_type) {
    out += fmt::format("  mlp_type: {}\n", enum_name(*k.mlp_type));
  }
  if (k.qk_norm) {
    out += fmt::format("  qk_norm: {}\n", flag(k.qk_norm));
  }
  auto name = [](const std::optional<std::string>& n) {
    return n ? yaml_quoted(*n) : std::string("null");
  };
  out += "tensor_template:\n";
  out += fmt::format("  embedding: {}\n", name(c.tensors.embedding));
  out += fmt::format("  lm_head: {}\n", name(c.tensors.lm_head));
  out += fmt::format("  final_norm: {}\n", name(c.tensors.final_norm));
  if (!c.tensors.global.empty()) {
    out += "  global:\n";
    for (const TensorRoleTemplate& t : c.tensors.global) {
      out += fmt::format("    {}: {}\n", t.role, name(t.name));
    }
  }
  out += "  per_layer:\n";
  for (const TensorRoleTemplate& t : c.tensors.per_layer) {
    if (t.layers == "all") {
      out += fmt::format("    {}: {}\n", t.role, name(t.name));
    } else {
      out += fmt::format("    {}: {{name: {}, layers: {}}}\n", t.role, name(t.name), t.layers);
    }
  }
  if (!c.shape_template.empty()) {
    out += "shape_template:\n";
    for (const auto& [role, expr] : c.shape_template) {
      out += fmt::format("  {}: {}\n", role, yaml_quoted(expr));
    }
  }
  if (!c.quantizations.empty()) {
    out += "quantizations:\n";
    for (const std::string& q : c.quantizations) {
      out += fmt::format("  - {}\n", yaml_quoted(q));
    }
  }
  return out;
}

}  // namespace mbuild
