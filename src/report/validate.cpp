#include "mbuild/report/validate.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "mbuild/analysis/param_count.hpp"
#include "mbuild/model/tensor_name.hpp"
#include "util/format.hpp"

namespace mbuild {
namespace {

// What an axis of a tensor's shape measures.
enum class Dim {
  none,
  hidden,
  vocab,
  q_out,         // heads x head_dim (attention output projection's input)
  kv_out,        // kv heads x head_dim
  intermediate,  // dense feed-forward width
  expert_inter,  // routed expert width
  experts,       // router rows
  mla_kv,        // kv_lora_rank + qk_rope_head_dim
};

// Tensor-name suffixes and what their (rows, cols) reveal, as the checkpoints store them:
// nn.Linear is (out, in); GPT-2's Conv1D is (in, out). Only unquantized parameters are read.
struct ShapeRule {
  std::string_view suffix;
  Dim rows;
  Dim cols;
  std::string_view model_type = {};  // only for this family when set
};

constexpr std::array k_shape_rules = {
    // Embeddings and output heads.
    ShapeRule{"embed_tokens.weight", Dim::vocab, Dim::hidden},
    ShapeRule{"wte.weight", Dim::vocab, Dim::hidden},
    ShapeRule{"word_embeddings.weight", Dim::vocab, Dim::hidden},
    ShapeRule{"tok_embeddings.weight", Dim::vocab, Dim::hidden},
    ShapeRule{"backbone.embeddings.weight", Dim::vocab, Dim::hidden},
    ShapeRule{"shared.weight", Dim::vocab, Dim::hidden, "t5"},
    ShapeRule{"lm_head.weight", Dim::vocab, Dim::hidden},
    // Attention: the output projection reads heads x head_dim, K holds kv heads x head_dim.
    ShapeRule{"self_attn.o_proj.weight", Dim::hidden, Dim::q_out},
    ShapeRule{"attention.wo.weight", Dim::hidden, Dim::q_out},
    ShapeRule{"SelfAttention.o.weight", Dim::hidden, Dim::q_out},
    ShapeRule{"attention.output.dense.weight", Dim::hidden, Dim::q_out},
    ShapeRule{"self_attention.dense.weight", Dim::hidden, Dim::q_out},
    ShapeRule{"attn.c_proj.weight", Dim::q_out, Dim::hidden, "gpt2"},
    ShapeRule{"self_attn.k_proj.weight", Dim::kv_out, Dim::hidden},
    ShapeRule{"attention.wk.weight", Dim::kv_out, Dim::hidden},
    ShapeRule{"SelfAttention.k.weight", Dim::kv_out, Dim::hidden},
    ShapeRule{"attention.self.key.weight", Dim::kv_out, Dim::hidden},
    ShapeRule{"self_attn.kv_a_proj_with_mqa.weight", Dim::mla_kv, Dim::hidden},
    // Dense feed-forward.
    ShapeRule{"mlp.gate_proj.weight", Dim::intermediate, Dim::hidden},
    ShapeRule{"mlp.up_proj.weight", Dim::intermediate, Dim::hidden},
    ShapeRule{"mlp.down_proj.weight", Dim::hidden, Dim::intermediate},
    ShapeRule{"feed_forward.w1.weight", Dim::intermediate, Dim::hidden},
    ShapeRule{"feed_forward.w2.weight", Dim::hidden, Dim::intermediate},
    ShapeRule{"mlp.dense_h_to_4h.weight", Dim::intermediate, Dim::hidden},
    ShapeRule{"mlp.dense_4h_to_h.weight", Dim::hidden, Dim::intermediate},
    ShapeRule{"intermediate.dense.weight", Dim::intermediate, Dim::hidden},
    ShapeRule{"DenseReluDense.wi.weight", Dim::intermediate, Dim::hidden},
    ShapeRule{"DenseReluDense.wi_0.weight", Dim::intermediate, Dim::hidden},
    ShapeRule{"DenseReluDense.wo.weight", Dim::hidden, Dim::intermediate},
    ShapeRule{"mlp.c_fc.weight", Dim::hidden, Dim::intermediate, "gpt2"},
    ShapeRule{"mlp.c_proj.weight", Dim::intermediate, Dim::hidden, "gpt2"},
    // Routers: one row per routed expert.
    ShapeRule{"mlp.gate.weight", Dim::experts, Dim::hidden},
    ShapeRule{"block_sparse_moe.gate.weight", Dim::experts, Dim::hidden},
    ShapeRule{"mlp.router.weight", Dim::experts, Dim::hidden},
};

// Routed-expert projections: "...experts.<e>.<suffix>".
constexpr std::array k_expert_rules = {
    ShapeRule{"gate_proj.weight", Dim::expert_inter, Dim::hidden},
    ShapeRule{"up_proj.weight", Dim::expert_inter, Dim::hidden},
    ShapeRule{"down_proj.weight", Dim::hidden, Dim::expert_inter},
    ShapeRule{"w1.weight", Dim::expert_inter, Dim::hidden},
    ShapeRule{"w3.weight", Dim::expert_inter, Dim::hidden},
    ShapeRule{"w2.weight", Dim::hidden, Dim::expert_inter},
};

struct Observation {
  uint64_t value = 0;
  std::string evidence;
  size_t seen = 0;
  // The first tensor that disagrees with the first observation.
  std::optional<uint64_t> other;
  std::string other_evidence;
};

void observe(std::map<Dim, Observation>& obs, Dim d, uint64_t v, std::string_view name, char axis) {
  if (d == Dim::none) {
    return;
  }
  Observation& o = obs[d];
  if (o.seen++ == 0) {
    o.value = v;
    o.evidence = fmt::format("{} [{}]", name, axis == 'r' ? "rows" : "cols");
  } else if (v != o.value && !o.other) {
    o.other = v;
    o.other_evidence = name;
  }
}

// "...experts.<n>...." -> n, read by the one tensor-name parser.
std::optional<uint64_t> expert_index(std::string_view name) {
  return TensorName(name).expert_index();
}

bool decoder_component(Component c) {
  return c == Component::attention || c == Component::mlp || c == Component::moe_experts ||
         c == Component::shared_experts || c == Component::router || c == Component::norms ||
         c == Component::ssm;
}

std::string percent(double v) {
  return fmt::format("{:+.2f} %", v);
}

// Config <-> weights: every dimension the shapes reveal, against config.json.
void check_dimensions(const Model& model, const ParamCount& params, ValidationReport& r) {
  const ModelConfig& c = *model.config;
  std::map<Dim, Observation> obs;
  uint64_t max_layer = 0;
  bool any_layer = false;
  std::string layer_evidence;
  uint64_t max_expert = 0;
  bool any_expert = false;
  std::string expert_evidence;
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    const TensorInfo& t = model.tensors[i];
    const TensorClass& cls = params.classes[i];
    if (decoder_component(cls.component) && cls.layer) {
      if (!any_layer || *cls.layer >= max_layer) {
        layer_evidence = t.name;
      }
      max_layer = std::max<uint64_t>(max_layer, *cls.layer);
      any_layer = true;
    }
    if (cls.component == Component::moe_experts) {
      if (auto e = expert_index(t.name)) {
        if (!any_expert || *e >= max_expert) {
          expert_evidence = t.name;
        }
        max_expert = std::max(max_expert, *e);
        any_expert = true;
      }
    }
    if (cls.role != TensorRole::parameter || t.shape.size() != 2 || is_multimodal(cls.component) ||
        cls.component == Component::mtp) {
      continue;
    }
    const bool expert = cls.component == Component::moe_experts && expert_index(t.name);
    auto apply = [&](const ShapeRule& rule) {
      if (!t.name.ends_with(rule.suffix)) {
        return false;
      }
      if (!rule.model_type.empty() && rule.model_type != c.model_type) {
        return false;
      }
      observe(obs, rule.rows, t.shape[0], t.name, 'r');
      observe(obs, rule.cols, t.shape[1], t.name, 'c');
      return true;
    };
    if (expert) {
      std::any_of(k_expert_rules.begin(), k_expert_rules.end(), apply);
    } else {
      std::any_of(k_shape_rules.begin(), k_shape_rules.end(), apply);
    }
  }

  const bool mla = c.count("kv_lora_rank").value_or(0) > 0;
  auto add = [&](std::string field, std::optional<uint64_t> config, uint64_t weights,
                 std::string evidence, bool consistent) {
    r.dimensions.push_back({std::move(field), config, weights, std::move(evidence), consistent});
  };
  auto direct = [&](std::string field, Dim d, std::optional<uint64_t> config) {
    auto it = obs.find(d);
    if (it == obs.end()) {
      return;
    }
    const Observation& o = it->second;
    if (o.other) {
      add(field, config, *o.other,
          fmt::format("{} = {} but {} = {}", o.evidence, o.value, o.other_evidence, *o.other),
          false);
      return;
    }
    add(std::move(field), config, o.value, o.evidence, config == o.value);
  };
  // heads = axis / head_dim; a remainder is itself an inconsistency.
  auto per_head = [&](std::string field, Dim d, std::optional<uint64_t> config,
                      std::optional<uint64_t> head_dim, std::string_view head_dim_name) {
    auto it = obs.find(d);
    if (it == obs.end() || !head_dim || *head_dim == 0) {
      return;
    }
    const Observation& o = it->second;
    const uint64_t v = o.other ? *o.other : o.value;
    const bool whole = v % *head_dim == 0;
    add(std::move(field), config, v / *head_dim,
        fmt::format("{} = {} / {} {}{}", o.evidence, v, head_dim_name, *head_dim,
                    whole ? "" : " (not a whole number of heads)"),
        whole && !o.other && config == v / *head_dim);
  };

  direct("hidden_size", Dim::hidden, c.hidden_size);
  direct("vocab_size", Dim::vocab, c.vocab_size);
  if (any_layer) {
    add("num_layers", c.num_layers, max_layer + 1,
        fmt::format("highest layer index {} ({})", max_layer, layer_evidence),
        c.num_layers == max_layer + 1);
  }
  if (mla) {
    // MLA's output projection reads heads x v_head_dim; K/V live in a shared latent.
    per_head("num_heads", Dim::q_out, c.num_heads, c.count("v_head_dim"), "v_head_dim");
    const auto latent =
        c.count("kv_lora_rank").value_or(0) + c.count("qk_rope_head_dim").value_or(0);
    direct("kv_lora_rank + qk_rope_head_dim", Dim::mla_kv, latent);
  } else {
    per_head("num_heads", Dim::q_out, c.num_heads, c.head_dim, "head_dim");
    per_head("num_kv_heads", Dim::kv_out, c.num_kv_heads, c.head_dim, "head_dim");
  }
  direct("intermediate_size", Dim::intermediate, c.intermediate_size);
  if (c.is_moe() || obs.count(Dim::experts) || any_expert) {
    direct("moe_intermediate_size", Dim::expert_inter,
           c.moe_intermediate_size ? c.moe_intermediate_size : c.intermediate_size);
    direct("num_experts", Dim::experts, c.num_experts);
    if (any_expert) {
      add("num_experts (expert indices)", c.num_experts, max_expert + 1,
          fmt::format("highest expert index {} ({})", max_expert, expert_evidence),
          c.num_experts == max_expert + 1);
    }
  }
}

void add_check(ValidationReport& r, std::string group, std::string name, CheckStatus s,
               std::string detail) {
  r.checks.push_back({std::move(group), std::move(name), s, std::move(detail)});
}

ParamExpectation expectation(std::string label, uint64_t expected, uint64_t computed,
                             double tolerance, std::string source) {
  ParamExpectation e;
  e.label = std::move(label);
  e.expected = expected;
  e.computed = computed;
  e.tolerance = tolerance;
  e.source = std::move(source);
  if (computed > 0) {
    e.difference_percent = (static_cast<double>(expected) - static_cast<double>(computed)) /
                           static_cast<double>(computed) * 100.0;
  } else {
    e.difference_percent = expected == 0 ? 0.0 : 100.0;
  }
  // Exactly equal always passes; otherwise the relative difference must be within tolerance.
  e.pass = expected == computed || std::fabs(e.difference_percent) <= tolerance * 100.0;
  return e;
}

void check_expectation(ValidationReport& r, const ParamExpectation& e, std::string group,
                       std::string name) {
  add_check(r, std::move(group), std::move(name), e.pass ? CheckStatus::pass : CheckStatus::fail,
            fmt::format("expected {} vs computed {}: {} ({} tolerance ±{:g} %)",
                        format_grouped(e.expected), format_grouped(e.computed),
                        percent(e.difference_percent), e.pass ? "within" : "outside",
                        e.tolerance * 100.0));
  r.expectations.push_back(e);
}

// Index <-> shards and offsets <-> file sizes, from what the model builder found.
void check_files(const Model& model, ValidationReport& r) {
  if (model.files.empty()) {
    add_check(r, "weights", "safetensors", CheckStatus::info, "no safetensors files to check");
    return;
  }
  if (model.index) {
    std::vector<std::string> problems;
    for (const Finding& f : model.findings) {
      if (f.where == model.index->name && f.severity == Severity::warning) {
        problems.push_back(f.text);
      }
    }
    add_check(
        r, "weights", "index ↔ shards", problems.empty() ? CheckStatus::pass : CheckStatus::fail,
        problems.empty()
            ? fmt::format("{}: {} entries in {} shard(s), every tensor where the index says{}",
                          model.index->name, model.index->weight_map.size(),
                          model.index->shards.size(),
                          model.index->total_size ? ", total_size matches" : "")
            : fmt::format("{}: {}", model.index->name, fmt::join(problems, "; ")));
  }
  std::vector<std::string> problems;
  bool header_only = false;
  for (const Finding& f : model.findings) {
    const bool file =
        std::any_of(model.files.begin(), model.files.end(), [&](const WeightFileInfo& w) {
          return f.where == w.name || f.where.ends_with("/" + w.name);
        });
    if (file && f.severity == Severity::warning) {
      problems.push_back(fmt::format("{}: {}", f.where, f.text));
    }
    header_only = header_only || f.text.find("header-only") != std::string::npos;
  }
  uint64_t data_bytes = 0;
  for (const WeightFileInfo& f : model.files) {
    data_bytes += f.data_bytes;
  }
  add_check(r, "weights", "offsets ↔ file sizes",
            problems.empty() ? CheckStatus::pass : CheckStatus::fail,
            problems.empty()
                ? fmt::format("{} file(s): data_offsets contiguous, {} tensor bytes{}",
                              model.files.size(), format_grouped(data_bytes),
                              header_only ? " (header-only replica: data region absent)"
                                          : ", file sizes match")
                : fmt::format("{}", fmt::join(problems, "; ")));
}

// A family report as checks: each failure named with both values, never repaired.
void check_family_report(ValidationReport& r, const FamilyReport& f) {
  if (f.family.empty()) {
    add_check(r, "family", "detection", CheckStatus::info,
              f.notes.empty() ? std::string("no family contract matches") : f.notes.front());
    return;
  }
  add_check(r, "family", "detection", CheckStatus::info,
            fmt::format("{} (by {}), size {}", f.family, f.detected_by,
                        f.size.empty() ? std::string("none matches") : f.size));
  for (const DimConflict& c : f.conflicts) {
    add_check(r, "family", c.field, CheckStatus::fail,
              fmt::format("{} states {}, config.json {}", c.source, c.stated, c.found));
  }
  // Without weights only config.json is compared: agreement is reported, not counted as a
  // pass (a folder with nothing to check must not go green); a mismatch still fails.
  const CheckStatus agree = f.tensors_checked ? CheckStatus::pass : CheckStatus::info;
  if (f.cross) {
    std::vector<std::string> bad;
    for (const CrossValidationEntry& e : f.cross->entries) {
      if (e.status == FieldStatus::mismatch) {
        bad.push_back(fmt::format("{} {} vs {}", e.field, e.contract, e.hf));
      }
    }
    add_check(r, "family", "size variant ↔ config.json", bad.empty() ? agree : CheckStatus::fail,
              bad.empty() ? fmt::format("{} field(s): {} match, {} approximate",
                                        f.cross->compared(), f.cross->count(FieldStatus::match),
                                        f.cross->count(FieldStatus::approximate))
                          : fmt::format("{} mismatch(es): {}", bad.size(), fmt::join(bad, "; ")));
  }
  if (!f.tensors_checked) {
    return;
  }
  add_check(r, "family", "tensor names",
            f.missing_total == 0 && f.unexpected_total == 0 ? CheckStatus::pass : CheckStatus::fail,
            fmt::format("{} expected, {} found, {} missing, {} unexpected{}", f.expected_tensors,
                        f.found_tensors, f.missing_total, f.unexpected_total,
                        !f.missing.empty() ? fmt::format(" (first missing: {})", f.missing.front())
                        : !f.unexpected.empty()
                            ? fmt::format(" (first unexpected: {})", f.unexpected.front())
                            : std::string()));
  add_check(
      r, "family", "tensor shapes",
      f.shape_mismatches.empty() ? CheckStatus::pass : CheckStatus::fail,
      f.shape_mismatches.empty()
          ? fmt::format("{} shape(s) as the shape template gives", f.shapes_checked)
          : fmt::format("{} mismatch(es); first: {} {} is {}, template {} = {}",
                        f.shape_mismatches.size(), f.shape_mismatches.front().tensor,
                        f.shape_mismatches.front().role,
                        fmt::format("[{}]", fmt::join(f.shape_mismatches.front().found, ", ")),
                        f.shape_mismatches.front().expression,
                        fmt::format("[{}]", fmt::join(f.shape_mismatches.front().expected, ", "))));
  for (const ConstraintCheck& c : f.constraints) {
    add_check(r, "family", c.constraint, c.pass ? CheckStatus::pass : CheckStatus::fail,
              fmt::format("contract {}, model {} ({})", c.contract, c.model, c.evidence));
  }
}

}  // namespace

std::string_view check_status_name(CheckStatus s) {
  switch (s) {
    case CheckStatus::pass:
      return "pass";
    case CheckStatus::fail:
      return "fail";
    case CheckStatus::info:
      return "info";
  }
  return "info";
}

// Nothing checked is not a pass: a CI job must not go green on a folder with nothing to check.
bool ValidationReport::passed() const {
  return count(CheckStatus::fail) == 0 && count(CheckStatus::pass) > 0;
}

size_t ValidationReport::count(CheckStatus s) const {
  return static_cast<size_t>(std::count_if(
      checks.begin(), checks.end(), [s](const ValidationCheck& c) { return c.status == s; }));
}

ValidationReport validate_model(const Model& model, const ValidateOptions& o) {
  return validate_model(
      model, analyze(model, {.context = o.context, .batch = o.batch, .explain = true}), o);
}

ValidationReport validate_model(const Model& model, const Analysis& analysis,
                                const ValidateOptions& o) {
  ValidationReport r;
  r.model_id = model.ref.id;
  r.revision = model.ref.revision;
  r.commit = model.ref.commit;

  const ParamCount& params = analysis.params;
  r.findings = analysis.findings;
  r.stored_bytes = params.stored_bytes;
  r.params_from_headers = analysis.from_headers;
  r.computed_params = analysis.total;
  r.active_params = params.routed_expert_params > 0 ? params.active : std::nullopt;
  const std::optional<AnalyticCount>& analytic = analysis.analytic.count;

  // Config.
  if (!model.config) {
    add_check(r, "config", "config.json", CheckStatus::info,
              "no config.json: dimensions and cross-validation not checked");
  } else if (r.params_from_headers && analytic) {
    const int64_t diff = static_cast<int64_t>(params.total) - static_cast<int64_t>(analytic->total);
    add_check(r, "config", "analytic count", CheckStatus::info,
              diff == 0 ? fmt::format("config.json implies {} params, as the headers hold",
                                      format_grouped(analytic->total))
                        : fmt::format("config.json implies {} params; the headers hold {} ({:+})",
                                      format_grouped(analytic->total), format_grouped(params.total),
                                      diff));
  }

  // Expected values.
  if (o.expected_params) {
    check_expectation(r,
                      expectation("--expected-params", *o.expected_params, r.computed_params,
                                  o.tolerance, o.source_text),
                      "expected", "total params");
  }
  if (o.expected_layers) {
    const auto layers = model.config ? model.config->num_layers : std::nullopt;
    add_check(
        r, "expected", "num_layers",
        layers == o.expected_layers ? CheckStatus::pass : CheckStatus::fail,
        layers ? fmt::format("expected {} vs config.json {}", *o.expected_layers, *layers)
               : fmt::format("expected {}, config.json names no layer count", *o.expected_layers));
  }

  // The contract: its own consistency, its total, its fields against config.json.
  if (o.contract) {
    const Contract& c = *o.contract;
    r.contract = c;
    for (const ContractCheck& cc : check_contract(c)) {
      add_check(r, "contract", cc.name,
                cc.status == ContractCheckStatus::pass   ? CheckStatus::pass
                : cc.status == ContractCheckStatus::fail ? CheckStatus::fail
                                                         : CheckStatus::info,
                cc.detail);
    }
    check_expectation(r,
                      expectation("contract total_params", c.total_params, r.computed_params,
                                  o.tolerance, c.file),
                      "contract", "total_params");
    if (model.config) {
      CrossValidation cv = cross_validate(c, *model.config);
      std::vector<std::string> bad;
      for (const CrossValidationEntry& e : cv.entries) {
        if (e.status == FieldStatus::mismatch) {
          bad.push_back(fmt::format("{} {} vs {}", e.field, e.contract, e.hf));
        }
      }
      add_check(r, "cross-validation", "contract ↔ config.json",
                bad.empty() ? CheckStatus::pass : CheckStatus::fail,
                bad.empty()
                    ? fmt::format("{} field(s): {} match, {} approximate, {} info", cv.compared(),
                                  cv.count(FieldStatus::match), cv.count(FieldStatus::approximate),
                                  cv.count(FieldStatus::info))
                    : fmt::format("{} mismatch(es): {}", bad.size(), fmt::join(bad, "; ")));
      r.cross = std::move(cv);
    }
  }

  // The family contract: detection, tensor-template compliance, constraints, and its size
  // variant against config.json.
  if (o.families) {
    auto fam = check_family(model, params, *o.families, o.family, o.size);
    if (!fam) {
      r.family_error = fam.error();
    } else {
      check_family_report(r, *fam);
      r.family = std::move(*fam);
    }
    r.invariants = variant_report(model, params).invariants;
    // Without weights the invariants read config.json alone: reported, not counted as passes.
    const CheckStatus holds = model.tensors.empty() ? CheckStatus::info : CheckStatus::pass;
    for (const Invariant& inv : r.invariants) {
      add_check(r, "invariants", inv.name, inv.holds ? holds : CheckStatus::fail, inv.detail);
    }
  }

  // Config <-> weights.
  if (model.config && !model.tensors.empty()) {
    check_dimensions(model, params, r);
    for (const WeightDimension& d : r.dimensions) {
      add_check(r, "weights", d.field, d.consistent ? CheckStatus::pass : CheckStatus::fail,
                fmt::format("config.json {} vs weights {} ({})",
                            d.config ? std::to_string(*d.config) : std::string("-"), d.weights,
                            d.evidence));
    }
    // The output projection itself: a matrix with a vocabulary-sized axis (BERT's
    // cls.predictions.transform is a head, but not the projection tied to the embeddings).
    uint64_t lm_head = 0;
    const uint64_t vocab = model.config->vocab_size.value_or(0);
    for (size_t i = 0; i < model.tensors.size(); ++i) {
      const TensorInfo& t = model.tensors[i];
      if (params.classes[i].component == Component::lm_head && t.shape.size() == 2 &&
          (params.classes[i].role == TensorRole::packed || t.shape[0] == vocab ||
           t.shape[1] == vocab)) {
        lm_head += params.classes[i].params;
      }
    }
    if (model.config->tie_word_embeddings && *model.config->tie_word_embeddings && lm_head > 0 &&
        lm_head == params.embedding) {
      // Falcon's uploads store the head config.json ties: as large as the embedding, it may be a
      // copy that loading ties, or a head of its own. Headers cannot tell, so it is reported.
      add_check(r, "weights", "tie_word_embeddings", CheckStatus::info,
                fmt::format("config.json ties the embeddings; the checkpoint also stores an "
                            "lm_head of the embedding's {} params (a copy loading ties, or a "
                            "head of its own: the headers cannot tell)",
                            format_grouped(lm_head)));
    } else if (model.config->tie_word_embeddings && params.embedding > 0) {
      const bool tied = *model.config->tie_word_embeddings;
      const bool consistent = tied == (lm_head == 0);
      add_check(r, "weights", "tie_word_embeddings",
                consistent ? CheckStatus::pass : CheckStatus::fail,
                tied ? (lm_head == 0 ? "tied, and no lm_head is stored"
                                     : fmt::format("config.json ties the embeddings but the "
                                                   "checkpoint stores an lm_head of {} params",
                                                   format_grouped(lm_head)))
                     : (lm_head > 0 ? fmt::format("untied, and an lm_head of {} params is stored",
                                                  format_grouped(lm_head))
                                    : std::string("config.json unties the embeddings but the "
                                                  "checkpoint stores no lm_head")));
    }
  }
  check_files(model, r);

  // Memory.
  r.formats = analysis.formats;
  r.kv = analysis.kv;
  r.kv_unavailable = analysis.kv_unavailable;
  r.explanation = analysis.explanation;

  // Sources: the Hub URL at its commit, and whatever the expected values came from.
  if (model.ref.source == "hub" || model.ref.source == "hf-cache") {
    std::string endpoint = model.ref.source == "hub" && !model.ref.location.empty()
                               ? model.ref.location
                               : std::string("https://huggingface.co");
    const std::string& rev = !model.ref.commit.empty() ? model.ref.commit : model.ref.revision;
    r.sources.push_back(rev.empty() ? fmt::format("{}/{}", endpoint, model.ref.id)
                                    : fmt::format("{}/{}/tree/{}", endpoint, model.ref.id, rev));
  }
  if (!o.source_text.empty()) {
    r.sources.push_back(o.source_text);
  }
  return r;
}

std::string validation_summary(const ValidationReport& r) {
  const size_t total = r.checks.size() - r.count(CheckStatus::info);
  std::string out;
  if (r.passed()) {
    out = fmt::format("passed {} of {} checks", total, total);
  } else {
    std::vector<std::string> failed;
    for (const ValidationCheck& c : r.checks) {
      if (c.status == CheckStatus::fail) {
        failed.push_back(c.group + " " + c.name);
      }
    }
    out = fmt::format("FAILED {} of {} checks ({})", failed.size(), total, fmt::join(failed, ", "));
  }
  out += fmt::format("; {} params ({})", format_count(r.computed_params),
                     r.params_from_headers ? "safetensors headers" : "config.json");
  for (const ParamExpectation& e : r.expectations) {
    out += fmt::format("; {} {} ({})", e.label, format_grouped(e.expected),
                       percent(e.difference_percent));
  }
  if (r.cross) {
    out += fmt::format("; cross-validation {} match, {} approximate, {} mismatch",
                       r.cross->count(FieldStatus::match), r.cross->count(FieldStatus::approximate),
                       r.cross->count(FieldStatus::mismatch));
  }
  return out;
}

Result<uint64_t> parse_param_count(std::string_view text) {
  const std::string original(text);
  auto bad = [&](std::string why) {
    return fail(ErrorKind::usage, "--expected-params", fmt::format("'{}' {}", original, why),
                "write 70553706496, 70,553,706,496, 70.55B or 7.0e10");
  };
  std::string s;
  for (char ch : text) {
    if (ch != ',' && ch != '_' && ch != ' ') {
      s += ch;
    }
  }
  if (s.empty()) {
    return bad("is empty");
  }
  double scale = 1;
  switch (s.back()) {
    case 'k':
    case 'K':
      scale = 1e3;
      break;
    case 'm':
    case 'M':
      scale = 1e6;
      break;
    case 'b':
    case 'B':
    case 'g':
    case 'G':
      scale = 1e9;
      break;
    case 't':
    case 'T':
      scale = 1e12;
      break;
    default:
      break;
  }
  if (scale != 1) {
    s.pop_back();
  }
  const bool numeric = std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= '0' && ch <= '9') || ch == '.' || ch == 'e' || ch == 'E' || ch == '+' ||
           ch == '-';
  });
  if (s.empty() || !numeric || !(std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '.')) {
    return bad("is not a parameter count");
  }
  // Plain digits stay exact; decimals and exponents go through double.
  if (scale == 1 &&
      std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    if (s.size() > 19) {
      return bad("is too large");
    }
    uint64_t v = 0;
    for (char ch : s) {
      v = v * 10 + static_cast<uint64_t>(ch - '0');
    }
    if (v > (uint64_t{1} << 63)) {
      return bad("is too large");
    }
    return v;
  }
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    return bad("is not a number");
  }
  if (used != s.size()) {
    return bad("is not a number");
  }
  v *= scale;
  if (!std::isfinite(v) || v < 0 || v >= 9.2e18) {
    return bad("is out of range");
  }
  return static_cast<uint64_t>(std::llround(v));
}

}  // namespace mbuild
