// The validation report as text, JSON and markdown. Formats only: every number comes from
// validate_model().
#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mbuild/render/render_validation.hpp"

#include "mbuild/render/render.hpp"
#include "util/format.hpp"

namespace mbuild {
namespace {

using ojson = nlohmann::ordered_json;

std::string percent(double v) {
  return fmt::format("{:+.2f} %", v);
}

std::string opt_count(const std::optional<uint64_t>& v) {
  return v ? std::to_string(*v) : std::string("-");
}

std::string result_line(const ValidationReport& r) {
  const size_t fails = r.count(CheckStatus::fail);
  const size_t passes = r.count(CheckStatus::pass);
  if (r.passed()) {
    return fmt::format("PASS: {} check(s) passed", passes);
  }
  return fails == 0 ? std::string("FAIL: no check could run")
                    : fmt::format("FAIL: {} of {} check(s) failed", fails, fails + passes);
}

std::string params_line(const ValidationReport& r) {
  std::string s = fmt::format("{} ({}) from {}", format_grouped(r.computed_params),
                              format_count(r.computed_params),
                              r.params_from_headers ? "the safetensors headers" : "config.json");
  if (r.active_params) {
    s += fmt::format("; {} ({}) active per token", format_grouped(*r.active_params),
                     format_count(*r.active_params));
  }
  return s;
}

std::string kv_line(const KvCache& k) {
  const uint64_t layers = k.full_layers + k.sliding_layers + k.mla_layers;
  return fmt::format(
      "{} bytes/token over {} attention layer(s) at {} byte(s) per element; {} at "
      "{} tokens x {} sequence(s)",
      format_grouped(k.bytes_per_token), layers, k.dtype_bytes, format_bytes(k.bytes), k.context,
      k.batch);
}

std::string format_line(const FormatSize& f) {
  return fmt::format("{} ({:.4g} bpw) {}", f.format, f.bits_per_weight(), format_bytes(f.bytes));
}

std::string sci(double v) {
  return fmt::format("{:.3g}", v);
}

// The architecture explanation as labelled sentences, shared by text and markdown.
std::vector<std::pair<std::string, std::string>> explanation_lines(
    const ArchitectureExplanation& e) {
  std::vector<std::pair<std::string, std::string>> out;
  const AttentionFacts& a = e.attention;
  std::string att;
  if (a.kind == "none") {
    att = fmt::format(
        "no attention: {} layers of {} hold a constant state of {} per sequence "
        "instead of a KV cache",
        a.state_layers, a.state_kind.empty() ? "recurrence" : a.state_kind,
        format_bytes(a.state_bytes));
  } else if (a.kind == "bidirectional MHA") {
    att = fmt::format("bidirectional multi-head attention ({} heads x {}): an encoder, no KV cache",
                      a.heads, a.head_dim);
  } else {
    if (a.kind == "MLA") {
      att = fmt::format(
          "MLA (multi-head latent attention): {} heads read one compressed latent "
          "cached per layer and token",
          a.heads);
    } else if (a.kind == "MQA") {
      att = fmt::format("MQA: {} query heads share 1 KV head (head_dim {})", a.heads, a.head_dim);
    } else if (a.kind == "GQA") {
      att = fmt::format("GQA: {} query heads share {} KV heads, {} per group (head_dim {})",
                        a.heads, a.kv_heads, a.kv_heads ? a.heads / a.kv_heads : 0, a.head_dim);
    } else {
      att = fmt::format("MHA: {} heads, each with its own K and V (head_dim {})", a.heads,
                        a.head_dim);
    }
    if (a.sliding_layers > 0 && a.sliding_window) {
      att += fmt::format("; {} of {} attention layers use a sliding window of {} tokens",
                         a.sliding_layers, a.sliding_layers + a.full_layers + a.mla_layers,
                         *a.sliding_window);
    }
    if (a.state_layers > 0) {
      att += fmt::format("; hybrid: {} more layers are {} with {} of state per sequence",
                         a.state_layers, a.state_kind, format_bytes(a.state_bytes));
    }
    if (a.kv_bytes && a.mha_bytes) {
      att += fmt::format(". KV cache at {} tokens: {} vs {} with MHA ({:.1f} % saved)",
                         k_explain_context, format_bytes(*a.kv_bytes), format_bytes(*a.mha_bytes),
                         a.saving * 100.0);
    }
  }
  out.emplace_back("attention", att);

  const FfnFacts& f = e.ffn;
  std::string ffn;
  if (f.kind == "none") {
    ffn = "no separate feed-forward block (the mixer holds the projections)";
  } else {
    ffn = f.kind;
    if (f.kind == "SwiGLU") {
      ffn += " (gated: down(SiLU(gate·x) ⊙ up·x))";
    } else if (f.kind == "GeGLU") {
      ffn += " (gated: down(GELU(gate·x) ⊙ up·x))";
    }
    if (!f.activation.empty()) {
      ffn += fmt::format(", activation {}", f.activation);
    }
    if (f.intermediate > 0 && f.dense_layers > 0) {
      ffn += fmt::format("; intermediate {} = {:.2f} x hidden {}", f.intermediate, f.expansion,
                         f.hidden);
    }
    if (f.experts > 0) {
      ffn += fmt::format(
          "; MoE in {} layer(s): {} routed experts, top-{}, expert width {} "
          "({:.2f} x hidden){}",
          f.moe_layers, f.experts, f.top_k, f.expert_intermediate,
          f.hidden ? static_cast<double>(f.expert_intermediate) / static_cast<double>(f.hidden)
                   : 0.0,
          f.shared_experts ? fmt::format(", {} shared", f.shared_experts) : "");
    }
  }
  out.emplace_back("ffn", ffn);

  out.emplace_back(
      "norm", e.norm.eps ? fmt::format("{}, eps {:g}", e.norm.kind, *e.norm.eps) : e.norm.kind);

  const PositionFacts& p = e.position;
  std::string pos = p.kind;
  if (p.kind == "RoPE" && p.rope_theta && p.wavelength) {
    pos = fmt::format("RoPE, θ = {}{}; longest wavelength 2πθ ≈ {} tokens", *p.rope_theta,
                      p.theta_assumed ? " (default: config.json names none)" : "",
                      format_grouped(static_cast<uint64_t>(std::llround(*p.wavelength))));
    if (!p.scaling.empty()) {
      pos += fmt::format("; scaling {}{}", p.scaling,
                         p.scaling_factor ? fmt::format(" x{:g}", *p.scaling_factor) : "");
    }
  }
  if (p.max_positions) {
    pos += fmt::format("; {} positions", *p.max_positions);
  }
  out.emplace_back("position", pos);

  const ScalingFacts& s = e.scaling;
  out.emplace_back(
      "scaling",
      fmt::format("N = {}{}; Chinchilla-optimal tokens 20·N ≈ {} ({}); training compute "
                  "6·N·D ≈ {} FLOPs",
                  format_count(s.params),
                  s.active ? fmt::format(" ({} active)", format_count(*s.active)) : "",
                  sci(s.chinchilla_tokens),
                  format_count(static_cast<uint64_t>(s.chinchilla_tokens)), sci(s.training_flops)));
  std::vector<std::string> formats;
  for (const FormatSize& fs : e.formats) {
    formats.push_back(format_line(fs));
  }
  out.emplace_back("weights", fmt::format("{}", fmt::join(formats, " · ")));
  return out;
}

std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string tick(const std::string& s) {
  return s.empty() ? std::string() : "`" + s + "`";
}

// Names of missing / unexpected tensors a text report prints (the JSON keeps more).
constexpr size_t k_max_text_names = 10;

std::string shape_list(const std::vector<uint64_t>& s) {
  return fmt::format("[{}]", fmt::join(s, ", "));
}

// The compared rows of a cross-validation as table lines, then the one-sided rows as the
// contract_only and hf_only lists.
std::string cross_text(const CrossValidation& cv) {
  std::string out;
  for (const CrossValidationEntry& e : cv.entries) {
    if (e.compared()) {
      out += fmt::format("  {:<26} {:<28} {:<24} {}\n", e.field, e.contract, e.hf,
                         field_status_name(e.status));
    }
  }
  for (FieldStatus s : {FieldStatus::contract_only, FieldStatus::hf_only}) {
    const std::vector<std::string> items = cv.listed(s);
    out += fmt::format("  {}: {}\n", field_status_name(s),
                       items.empty() ? "-" : fmt::format("{}", fmt::join(items, ", ")));
  }
  return out;
}

std::string cross_md(const CrossValidation& cv) {
  std::string out = "| field | contract | hf | status |\n|---|---|---|---|\n";
  for (const CrossValidationEntry& e : cv.entries) {
    if (e.compared()) {
      out += fmt::format("| {} | {} | {} | {} |\n", e.field, md_cell(e.contract), md_cell(e.hf),
                         field_status_name(e.status));
    }
  }
  auto list = [&](FieldStatus s) {
    std::vector<std::string> ticked;
    for (const std::string& item : cv.listed(s)) {
      ticked.push_back(tick(md_cell(item)));
    }
    return ticked.empty() ? std::string("none") : fmt::format("{}", fmt::join(ticked, ", "));
  };
  out += fmt::format("\n- **contract_only**: {}\n- **hf_only**: {}\n",
                     list(FieldStatus::contract_only), list(FieldStatus::hf_only));
  return out;
}

// One JSON row per cross-validation row; `source` says which contract it compares.
void cross_json(ojson& rows, const CrossValidation& cv, std::string_view source,
                const std::string& contract_file) {
  for (const CrossValidationEntry& e : cv.entries) {
    rows.push_back(
        {{"field", e.field},
         {"contract", e.status == FieldStatus::hf_only ? ojson(nullptr) : ojson(e.contract)},
         {"hf", e.status == FieldStatus::contract_only ? ojson(nullptr) : ojson(e.hf)},
         {"status", field_status_name(e.status)},
         {"source", source},
         {"contract_file", contract_file}});
  }
}

}  // namespace

std::string render_validation_text(const ValidationReport& r) {
  std::string out;
  auto line = [&](std::string_view label, const std::string& text) {
    out += fmt::format("{:<14}{}\n", label, text);
  };
  line("model", r.model_id + (r.commit.empty() ? "" : " @ " + r.commit.substr(0, 12)));
  line("result", result_line(r));
  line("params", params_line(r));

  out += "\nchecks\n";
  for (const ValidationCheck& c : r.checks) {
    out += fmt::format("  {:<5} {:<17} {:<30} {}\n",
                       c.status == CheckStatus::fail ? "FAIL" : check_status_name(c.status),
                       c.group, c.name, c.detail);
  }
  if (!r.expectations.empty()) {
    out += "\nexpected params\n";
    for (const ParamExpectation& e : r.expectations) {
      out +=
          fmt::format("  {:<22} expected {:>19}  computed {:>19}  {:>9}  tolerance ±{:g} %  {}\n",
                      e.label, format_grouped(e.expected), format_grouped(e.computed),
                      percent(e.difference_percent), e.tolerance * 100.0, e.pass ? "pass" : "FAIL");
      if (!e.source.empty()) {
        out += fmt::format("  {:<22} source: {}\n", "", e.source);
      }
    }
  }
  if (r.cross) {
    out += fmt::format("\ncross-validation against {}\n", r.contract ? r.contract->file : "");
    out += fmt::format("  {:<26} {:<28} {:<24} {}\n", "field", "contract", "hf", "status");
    out += cross_text(*r.cross);
  }
  if (r.family && !r.family->family.empty()) {
    const FamilyReport& f = *r.family;
    out += fmt::format("\nfamily {} (by {}), size {} ({})\n", f.family, f.detected_by,
                       f.size.empty() ? "-" : f.size, f.contract_file);
    out += fmt::format(
        "  compliance: {}; {} tensors expected, {} found, {} missing, {} "
        "unexpected, {} shapes checked, {} shape mismatches\n",
        f.compliant ? "compliant" : "NOT compliant", f.expected_tensors, f.found_tensors,
        f.missing_total, f.unexpected_total, f.shapes_checked, f.shape_mismatches.size());
    for (const ShapeMismatch& m : f.shape_mismatches) {
      out += fmt::format("  shape  {} ({}): {} vs {} = {}\n", m.tensor, m.role, shape_list(m.found),
                         m.expression, shape_list(m.expected));
    }
    for (size_t i = 0; i < std::min<size_t>(f.missing.size(), k_max_text_names); ++i) {
      out += fmt::format("  missing     {}\n", f.missing[i]);
    }
    for (size_t i = 0; i < std::min<size_t>(f.unexpected.size(), k_max_text_names); ++i) {
      out += fmt::format("  unexpected  {}\n", f.unexpected[i]);
    }
    for (const ConstraintCheck& c : f.constraints) {
      out += fmt::format("  {:<20} contract {:<10} model {:<10} {:<5} {}\n", c.constraint,
                         c.contract, c.model, c.pass ? "ok" : "FAIL", c.evidence);
    }
    if (f.cross) {
      out += fmt::format("  {:<26} {:<28} {:<24} {}\n", "field", "contract", "hf", "status");
      out += cross_text(*f.cross);
    }
    for (const std::string& n : f.notes) {
      out += fmt::format("  note: {}\n", n);
    }
  }
  if (!r.dimensions.empty()) {
    out += "\nconfig ↔ weights\n";
    for (const WeightDimension& d : r.dimensions) {
      out += fmt::format("  {:<32} config {:<10} weights {:<10} {:<5} {}\n", d.field,
                         opt_count(d.config), d.weights, d.consistent ? "ok" : "FAIL", d.evidence);
    }
  }

  out += "\nmemory\n";
  line("  weights", fmt::format("{} as stored", format_bytes(r.stored_bytes)));
  for (size_t i = 0; i < r.formats.size(); i += 4) {
    std::vector<std::string> row;
    for (size_t j = i; j < std::min(r.formats.size(), i + 4); ++j) {
      row.push_back(format_line(r.formats[j]));
    }
    line(i == 0 ? "  formats" : "", fmt::format("{}", fmt::join(row, " · ")));
  }
  if (r.kv) {
    line("  kv cache", kv_line(*r.kv));
    if (r.kv->state_layers > 0) {
      line("  state",
           fmt::format("{} per sequence, {} at batch {} ({} linear-attention / SSM "
                       "layers)",
                       format_bytes(r.kv->state_bytes_per_sequence),
                       format_bytes(r.kv->state_bytes), r.kv->batch, r.kv->state_layers));
    }
    for (const std::string& n : r.kv->notes) {
      line("", n);
    }
  } else {
    line("  kv cache", "unavailable: " + r.kv_unavailable);
  }

  if (r.explanation) {
    out += "\narchitecture\n";
    for (const auto& [label, text] : explanation_lines(*r.explanation)) {
      line("  " + label, text);
    }
  }
  if (!r.sources.empty()) {
    out += "\n";
    line("sources", fmt::format("{}", fmt::join(r.sources, ", ")));
  }
  if (!r.findings.empty()) {
    out += "\n";
    for (const Finding& f : r.findings) {
      line(f.severity == Severity::info ? "note" : "warning",
           fmt::format("{}: {}", f.where, f.text));
    }
  }
  return out;
}

std::string render_validation_md(const ValidationReport& r) {
  std::string out = fmt::format("# Validation report: {}\n\n", r.model_id);
  if (!r.commit.empty()) {
    out += fmt::format("Commit `{}`.\n\n", r.commit);
  }
  out += fmt::format("**{}**. Parameters: {}.\n\n", result_line(r), params_line(r));

  out += "## Checks\n\n| status | group | check | detail |\n|---|---|---|---|\n";
  for (const ValidationCheck& c : r.checks) {
    out += fmt::format("| {} | {} | {} | {} |\n", check_status_name(c.status), c.group,
                       md_cell(c.name), md_cell(c.detail));
  }

  if (!r.expectations.empty()) {
    out +=
        "\n## Expected vs computed parameters\n\n"
        "| expected by | expected | computed | difference | tolerance | status |\n"
        "|---|---:|---:|---:|---:|---|\n";
    for (const ParamExpectation& e : r.expectations) {
      out +=
          fmt::format("| {}{} | {} | {} | {} | ±{:g} % | {} |\n", e.label,
                      e.source.empty() ? "" : " (" + md_cell(e.source) + ")",
                      format_grouped(e.expected), format_grouped(e.computed),
                      percent(e.difference_percent), e.tolerance * 100.0, e.pass ? "pass" : "fail");
    }
  }

  if (r.cross) {
    out += fmt::format("\n## Cross-validation against {}\n\n",
                       tick(r.contract ? r.contract->file : ""));
    out += cross_md(*r.cross);
  }

  if (r.family && !r.family->family.empty()) {
    const FamilyReport& f = *r.family;
    out += fmt::format("\n## Family contract {} ({})\n\n", tick(f.family), tick(f.contract_file));
    out += fmt::format("- size variant: {}\n- detected by: {}\n- compliance: {}\n",
                       f.size.empty() ? "none" : tick(f.size), md_cell(f.detected_by),
                       f.compliant ? "compliant" : "**not compliant**");
    out += fmt::format(
        "- tensors: {} expected, {} found, {} missing, {} unexpected, {} shape "
        "mismatch(es)\n",
        f.expected_tensors, f.found_tensors, f.missing_total, f.unexpected_total,
        f.shape_mismatches.size());
    if (!f.constraints.empty()) {
      out += "\n| constraint | contract | model | status |\n|---|---|---|---|\n";
      for (const ConstraintCheck& c : f.constraints) {
        out += fmt::format("| {} | {} | {} | {} |\n", c.constraint, c.contract, c.model,
                           c.pass ? "pass" : "fail");
      }
    }
    if (f.cross) {
      out += fmt::format("\nSize variant {} against config.json:\n\n", tick(f.size));
      out += cross_md(*f.cross);
    }
  }

  out += "\n## Config ↔ weights\n\n";
  if (r.dimensions.empty()) {
    out += "No dimension could be read from the tensor shapes.\n";
  } else {
    out += "| field | config.json | weights | evidence | status |\n|---|---:|---:|---|---|\n";
    for (const WeightDimension& d : r.dimensions) {
      out += fmt::format("| {} | {} | {} | {} | {} |\n", d.field, opt_count(d.config), d.weights,
                         md_cell(d.evidence), d.consistent ? "match" : "mismatch");
    }
  }
  if (!r.findings.empty()) {
    out += "\nFindings:\n\n";
    for (const Finding& f : r.findings) {
      out += fmt::format("- {} `{}`: {}\n", f.severity == Severity::info ? "note" : "warning",
                         md_cell(f.where), f.text);
    }
  }

  out += "\n## Memory\n\n";
  out += fmt::format(
      "Weights as stored: {}.\n\n| format | bits per weight | bytes | size |\n"
      "|---|---:|---:|---:|\n",
      format_bytes(r.stored_bytes));
  for (const FormatSize& f : r.formats) {
    out += fmt::format("| {} | {:.4g} | {} | {} |\n", f.format, f.bits_per_weight(),
                       format_grouped(f.bytes), format_bytes(f.bytes));
  }
  if (r.kv) {
    out += fmt::format("\nKV cache: {}.\n", kv_line(*r.kv));
    if (r.kv->state_layers > 0) {
      out += fmt::format(
          "Recurrent state (separate from the KV cache): {} per sequence, {} at "
          "batch {}.\n",
          format_bytes(r.kv->state_bytes_per_sequence), format_bytes(r.kv->state_bytes),
          r.kv->batch);
    }
    for (const std::string& n : r.kv->notes) {
      out += fmt::format("- {}\n", n);
    }
  } else {
    out += fmt::format("\nKV cache: unavailable ({}).\n", r.kv_unavailable);
  }

  if (r.explanation) {
    out += "\n## Architecture\n\n";
    for (const auto& [label, text] : explanation_lines(*r.explanation)) {
      out += fmt::format("- **{}**: {}\n", label, text);
    }
  }
  if (!r.sources.empty()) {
    out += "\n## Sources\n\n";
    for (const std::string& s : r.sources) {
      out += fmt::format("- {}\n", s);
    }
  }
  return out;
}

std::string render_validation_json(const ValidationReport& r) {
  ojson j;
  j["schema_version"] = 1;
  j["model"] = {{"id", r.model_id},
                {"revision", r.revision.empty() ? ojson(nullptr) : ojson(r.revision)},
                {"commit", r.commit.empty() ? ojson(nullptr) : ojson(r.commit)}};
  j["passed"] = r.passed();
  j["summary"] = validation_summary(r);
  j["params"] = {{"computed", r.computed_params},
                 {"computed_formatted", format_count(r.computed_params)},
                 {"from", r.params_from_headers ? "headers" : "config"},
                 {"active", r.active_params ? ojson(*r.active_params) : ojson(nullptr)}};
  ojson checks = ojson::array();
  for (const ValidationCheck& c : r.checks) {
    checks.push_back({{"group", c.group},
                      {"name", c.name},
                      {"status", check_status_name(c.status)},
                      {"detail", c.detail}});
  }
  j["checks"] = checks;
  ojson expectations = ojson::array();
  for (const ParamExpectation& e : r.expectations) {
    expectations.push_back({{"label", e.label},
                            {"expected", e.expected},
                            {"computed", e.computed},
                            {"difference_percent", e.difference_percent},
                            {"tolerance", e.tolerance},
                            {"source", e.source},
                            {"status", e.pass ? "pass" : "fail"}});
  }
  j["expected"] = expectations;
  if (r.family) {
    const FamilyReport& f = *r.family;
    j["family"] = {{"name", f.family.empty() ? ojson(nullptr) : ojson(f.family)},
                   {"size", f.size.empty() ? ojson(nullptr) : ojson(f.size)},
                   {"contract", f.contract_file.empty() ? ojson(nullptr) : ojson(f.contract_file)},
                   {"detected_by", f.detected_by},
                   {"notes", f.notes}};
    ojson shapes = ojson::array();
    for (const ShapeMismatch& m : f.shape_mismatches) {
      shapes.push_back({{"tensor", m.tensor},
                        {"role", m.role},
                        {"template", m.expression},
                        {"expected", m.expected},
                        {"found", m.found}});
    }
    ojson constraints = ojson::array();
    for (const ConstraintCheck& c : f.constraints) {
      constraints.push_back({{"constraint", c.constraint},
                             {"contract", c.contract},
                             {"model", c.model},
                             {"status", c.pass ? "pass" : "fail"},
                             {"evidence", c.evidence}});
    }
    ojson conflicts = ojson::array();
    for (const DimConflict& c : f.conflicts) {
      conflicts.push_back(
          {{"field", c.field}, {"stated", c.stated}, {"found", c.found}, {"source", c.source}});
    }
    j["compliance"] = {
        {"compliant", f.family.empty() || !f.tensors_checked ? ojson(nullptr) : ojson(f.compliant)},
        {"tensors_checked", f.tensors_checked},
        {"expected_tensors", f.expected_tensors},
        {"found_tensors", f.found_tensors},
        {"missing_total", f.missing_total},
        {"missing", f.missing},
        {"unexpected_total", f.unexpected_total},
        {"unexpected", f.unexpected},
        {"shapes_checked", f.shapes_checked},
        {"shape_mismatches", shapes},
        {"constraints", constraints},
        {"conflicts", conflicts}};
  }
  // One table of rows from the --against contract and from the family contract's size variant.
  ojson cross = ojson::array();
  if (r.cross) {
    cross_json(cross, *r.cross, "against", r.contract ? r.contract->file : std::string());
  }
  if (r.family && r.family->cross) {
    cross_json(cross, *r.family->cross, "family", r.family->contract_file);
  }
  j["cross_validation"] = cross;
  if (r.contract) {
    j["against"] = {{"contract", r.contract->file}, {"schema_version", r.contract->schema_version}};
  } else {
    j["against"] = nullptr;
  }
  ojson invariants = ojson::array();
  for (const Invariant& inv : r.invariants) {
    invariants.push_back(
        {{"name", inv.name}, {"status", inv.holds ? "pass" : "fail"}, {"detail", inv.detail}});
  }
  j["invariants"] = invariants;
  ojson dims = ojson::array();
  for (const WeightDimension& d : r.dimensions) {
    dims.push_back({{"field", d.field},
                    {"config", d.config ? ojson(*d.config) : ojson(nullptr)},
                    {"weights", d.weights},
                    {"evidence", d.evidence},
                    {"status", d.consistent ? "match" : "mismatch"}});
  }
  j["config_weights"] = dims;
  j["memory"] = memory_json(r.stored_bytes, r.formats, r.kv, r.kv_unavailable);
  if (r.explanation) {
    const ArchitectureExplanation& e = *r.explanation;
    auto opt = [](const auto& v) { return v ? ojson(*v) : ojson(nullptr); };
    j["architecture"] = {{"attention",
                          {{"kind", e.attention.kind},
                           {"heads", e.attention.heads},
                           {"kv_heads", e.attention.kv_heads},
                           {"head_dim", e.attention.head_dim},
                           {"sliding_window", opt(e.attention.sliding_window)},
                           {"state_kind", e.attention.state_kind},
                           {"kv_bytes_4k", opt(e.attention.kv_bytes)},
                           {"mha_bytes_4k", opt(e.attention.mha_bytes)},
                           {"kv_saving", e.attention.saving}}},
                         {"ffn",
                          {{"kind", e.ffn.kind},
                           {"activation", e.ffn.activation},
                           {"intermediate_size", e.ffn.intermediate},
                           {"expansion_ratio", e.ffn.expansion},
                           {"experts", e.ffn.experts},
                           {"top_k", e.ffn.top_k},
                           {"expert_intermediate_size", e.ffn.expert_intermediate}}},
                         {"norm", {{"kind", e.norm.kind}, {"eps", opt(e.norm.eps)}}},
                         {"position",
                          {{"kind", e.position.kind},
                           {"rope_theta", opt(e.position.rope_theta)},
                           {"rope_wavelength", opt(e.position.wavelength)},
                           {"rope_scaling", e.position.scaling},
                           {"rope_scaling_factor", opt(e.position.scaling_factor)},
                           {"max_position_embeddings", opt(e.position.max_positions)}}},
                         {"scaling",
                          {{"params", e.scaling.params},
                           {"chinchilla_tokens", e.scaling.chinchilla_tokens},
                           {"training_flops", e.scaling.training_flops}}}};
  } else {
    j["architecture"] = nullptr;
  }
  j["sources"] = r.sources;
  ojson findings = ojson::array();
  for (const Finding& f : r.findings) {
    findings.push_back({{"severity", f.severity == Severity::info ? "info" : "warning"},
                        {"where", f.where},
                        {"text", f.text}});
  }
  j["findings"] = findings;
  return j.dump(2) + "\n";
}

}  // namespace mbuild
