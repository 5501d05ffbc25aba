#include "mbuild/render/render.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/format.hpp"

namespace mbuild {
namespace {

using ojson = nlohmann::ordered_json;

// 70553706496 -> "70,553,706,496"
std::string grouped_signed(int64_t n) {
  return n < 0 ? "-" + format_grouped(static_cast<uint64_t>(-n))
               : "+" + format_grouped(static_cast<uint64_t>(n));
}

template <class T>
ojson optional_json(const std::optional<T>& v) {
  return v ? ojson(*v) : ojson(nullptr);
}

// The "gguf" object: the first file's version, alignment and metadata (scalars as they are,
// arrays as {type, length}), and the tensor bytes of every file.
ojson gguf_json(const WeightFileInfo& first, const Model& model) {
  ojson metadata = ojson::object();
  for (const GgufKv& kv : first.gguf->metadata) {
    const GgufValue& v = kv.value;
    ojson value;
    if (v.type == GgufValueType::array) {
      value = {{"type", gguf_value_type_name(v.array_type)}, {"length", v.array_length}};
    } else if (const auto* u = std::get_if<uint64_t>(&v.scalar)) {
      value = *u;
    } else if (const auto* i = std::get_if<int64_t>(&v.scalar)) {
      value = *i;
    } else if (const auto* d = std::get_if<double>(&v.scalar)) {
      value = *d;
    } else if (const auto* b = std::get_if<bool>(&v.scalar)) {
      value = *b;
    } else if (const auto* s = std::get_if<std::string>(&v.scalar)) {
      value = *s;
    }
    metadata[kv.key] = std::move(value);
  }
  uint64_t data_bytes = 0;
  for (const WeightFileInfo& f : model.files) {
    data_bytes += f.data_bytes;
  }
  return {{"version", first.gguf->version},
          {"alignment", first.gguf->alignment},
          {"data_offset", first.gguf->data_offset},
          {"metadata", metadata},
          {"data_bytes", data_bytes}};
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) {
    return std::string(s);
  }
  std::string out = "\"";
  for (char c : s) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  return out + "\"";
}

}  // namespace

nlohmann::ordered_json memory_json(uint64_t stored_bytes, const std::vector<FormatSize>& formats_in,
                                   const std::optional<KvCache>& kv_cache,
                                   const std::string& kv_unavailable) {
  ojson formats_out = ojson::array();
  for (const FormatSize& f : formats_in) {
    formats_out.push_back(
        {{"format", f.format}, {"bits_per_weight", f.bits_per_weight()}, {"bytes", f.bytes}});
  }
  ojson kv;
  if (kv_cache) {
    const KvCache& k = *kv_cache;
    ojson by_kind = ojson::array();
    for (const KvKind& row : k.by_kind) {
      by_kind.push_back({{"kind", row.kind},
                         {"layers", row.layers},
                         {"bytes_per_token", row.bytes_per_token},
                         {"bytes", row.bytes},
                         {"state_bytes_per_sequence", row.state_bytes_per_sequence}});
    }
    kv = {{"bytes_per_token", k.bytes_per_token},
          {"context", k.context},
          {"batch", k.batch},
          {"bytes", k.bytes},
          {"dtype_bytes", k.dtype_bytes},
          {"state_bytes_per_sequence", k.state_bytes_per_sequence},
          {"state_bytes", k.state_bytes},
          {"mha_bytes_per_token", k.mha_bytes_per_token},
          {"layers",
           {{"full", k.full_layers},
            {"sliding", k.sliding_layers},
            {"mla", k.mla_layers},
            {"state", k.state_layers}}},
          {"by_kind", by_kind},
          {"notes", k.notes}};
  } else {
    kv = {{"bytes_per_token", nullptr},
          {"context", nullptr},
          {"batch", nullptr},
          {"bytes", nullptr},
          {"unavailable", kv_unavailable}};
  }
  return {{"weights_bytes", stored_bytes}, {"formats", formats_out}, {"kv_cache", kv}};
}

std::string render_inspect_json(const Model& model, const Analysis& r,
                                const std::vector<Fit>& fits) {
  ojson j;
  j["schema_version"] = k_inspect_schema_version;
  j["model"] = {
      {"id", model.ref.id},
      {"revision", model.ref.revision.empty() ? ojson(nullptr) : ojson(model.ref.revision)},
      {"commit", model.ref.commit.empty() ? ojson(nullptr) : ojson(model.ref.commit)},
      {"source", model.ref.source},
      {"location", model.ref.location}};
  if (model.config) {
    const ModelConfig& c = *model.config;
    ojson quant = nullptr;
    if (!c.quant.method.empty() || c.quant.fp4_experts) {
      quant = {{"method", c.quant.method},
               {"bits", c.quant.bits ? ojson(c.quant.bits) : ojson(nullptr)},
               {"group_size", c.quant.group_size ? ojson(c.quant.group_size) : ojson(nullptr)},
               {"detail", c.quant.detail},
               {"fp4_experts", c.quant.fp4_experts}};
    }
    j["config"] = {{"model_type", c.model_type},
                   {"architectures", c.architectures},
                   {"hidden_size", optional_json(c.hidden_size)},
                   {"num_layers", optional_json(c.num_layers)},
                   {"num_heads", optional_json(c.num_heads)},
                   {"num_kv_heads", optional_json(c.num_kv_heads)},
                   {"head_dim", optional_json(c.head_dim)},
                   {"intermediate_size", optional_json(c.intermediate_size)},
                   {"vocab_size", optional_json(c.vocab_size)},
                   {"max_position_embeddings", optional_json(c.max_position_embeddings)},
                   {"tie_word_embeddings", optional_json(c.tie_word_embeddings)},
                   {"torch_dtype", c.torch_dtype.empty() ? ojson(nullptr) : ojson(c.torch_dtype)},
                   {"rope_theta", optional_json(c.rope_theta)},
                   {"norm_eps", optional_json(c.norm_eps)},
                   {"sliding_window", optional_json(c.sliding_window)},
                   {"num_experts", optional_json(c.num_experts)},
                   {"top_k", optional_json(c.top_k)},
                   {"moe_intermediate_size", optional_json(c.moe_intermediate_size)},
                   {"num_shared_experts", optional_json(c.num_shared_experts)},
                   {"quantization", quant},
                   {"defaulted", c.defaulted}};
  } else {
    j["config"] = nullptr;
  }
  ojson files = ojson::array();
  for (const WeightFileInfo& f : model.files) {
    files.push_back({{"name", f.name},
                     {"size", f.size},
                     {"tensors", f.tensors},
                     {"header_bytes", f.header_bytes},
                     {"data_bytes", f.data_bytes}});
  }
  j["files"] = files;
  if (model.index) {
    j["index"] = {{"name", model.index->name},
                  {"shards", model.index->shards.size()},
                  {"entries", model.index->weight_map.size()},
                  {"total_size", optional_json(model.index->total_size)}};
  }
  j["other_weights"] = model.other_weights;
  if (const WeightFileInfo* g = model.gguf_file()) {
    j["gguf"] = gguf_json(*g, model);
  }

  const ParamCount& p = r.params;
  ojson by_component = ojson::object();
  for (size_t i = 0; i < k_component_count; ++i) {
    if (p.by_component[i] > 0) {
      by_component[std::string(component_name(static_cast<Component>(i)))] = p.by_component[i];
    }
  }
  ojson analytic;
  if (r.analytic.count) {
    ojson parts = ojson::object();
    for (const auto& [name, n] : r.analytic.count->parts) {
      parts[name] = n;
    }
    analytic = {
        {"total", r.analytic.count->total},
        {"difference", r.analytic.difference},
        {"explanation", r.analytic.explanation},
        {"parts", parts},
        {"assumptions", r.analytic.count->assumptions},
        {"active", r.analytic.count->active
                       ? ojson{{"total", *r.analytic.count->active},
                               {"excluding_embedding",
                                optional_json(r.analytic.count->active_excluding_embedding)}}
                       : ojson(nullptr)}};
  } else {
    analytic = {{"total", nullptr}, {"unavailable", r.analytic.unavailable}};
  }
  j["params"] = {{"total", p.total},
                 {"total_formatted", format_count(p.total)},
                 {"raw_elements", p.raw_elements},
                 {"by_dtype", p.by_dtype},
                 {"raw_elements_by_dtype", p.raw_elements_by_dtype},
                 {"stored_bytes_by_dtype", p.stored_bytes_by_dtype},
                 {"by_component", by_component},
                 {"active", p.active ? ojson{{"total", *p.active},
                                             {"excluding_embedding",
                                              optional_json(p.active_excluding_embedding)}}
                                     : ojson(nullptr)},
                 {"embedding", p.embedding},
                 {"tied_embeddings", p.tied_embeddings},
                 {"routed_experts", p.routed_expert_params},
                 {"buffers", {{"elements", p.buffers}, {"tensors", p.buffer_names}}},
                 {"quant_aux_elements", p.quant_aux_elements},
                 {"quantization", p.quant_method.empty() ? ojson(nullptr) : ojson(p.quant_method)},
                 {"analytic", analytic}};

  j["memory"] = memory_json(p.stored_bytes, r.formats, r.kv, r.kv_unavailable);
  j["layers"] = {{"count", r.layers.count},
                 {"pattern", r.layers.pattern},
                 {"kinds", r.layers.kinds},
                 {"source", r.layers.from_tensors ? "tensors" : "config.json"}};
  j["fingerprint"] = r.fingerprint.empty() ? ojson(nullptr) : ojson(r.fingerprint);
  if (!fits.empty()) {
    ojson fit = ojson::array();
    for (const Fit& f : fits) {
      fit.push_back({{"gpu", f.gpu},
                     {"gpu_count", f.gpu_count},
                     {"weights_format", f.weights_format},
                     {"context", f.context},
                     {"batch", f.batch},
                     {"kv_dtype", f.kv_dtype},
                     {"fits", f.fits},
                     {"max_context", f.max_context},
                     {"min_gpus", optional_json(f.min_gpus)},
                     {"decode_tokens_per_s", f.decode_tokens_per_s},
                     {"overhead_bytes", f.overhead_bytes},
                     {"weights_bytes", f.weights_bytes},
                     {"active_weights_bytes", f.active_weights_bytes},
                     {"kv_bytes", f.kv_bytes},
                     {"memory_bytes", f.memory_bytes}});
    }
    j["fit"] = fit;
  }
  ojson warnings = ojson::array();
  for (const Finding& f : r.findings) {
    warnings.push_back({{"severity", f.severity == Severity::info ? "info" : "warning"},
                        {"where", f.where},
                        {"text", f.text}});
  }
  j["warnings"] = warnings;
  return j.dump(2) + "\n";
}

std::string render_inspect_text(const Model& model, const Analysis& r,
                                const std::vector<Fit>& fits) {
  std::string out;
  auto line = [&](std::string_view label, const std::string& text) {
    out += fmt::format("{:<14}{}\n", label, text);
  };
  std::string where = model.ref.source;
  if (!model.ref.commit.empty()) {
    where += " @ " + model.ref.commit.substr(0, 12);
  }
  line("model", fmt::format("{} ({}: {})", model.ref.id, where, model.ref.location));
  if (model.config) {
    const ModelConfig& c = *model.config;
    auto opt = [](const std::optional<uint64_t>& v) { return v ? std::to_string(*v) : "?"; };
    line("architecture",
         fmt::format("{} ({})", c.architectures.empty() ? "?" : c.architectures.front(),
                     c.model_type.empty() ? "?" : c.model_type));
    line("dimensions",
         fmt::format("{} layers, hidden {}, heads {} / kv {}, head_dim {}, ffn {}, vocab {}",
                     opt(c.num_layers), opt(c.hidden_size), opt(c.num_heads), opt(c.num_kv_heads),
                     opt(c.head_dim), opt(c.intermediate_size), opt(c.vocab_size)));
    if (c.is_moe()) {
      line("experts",
           fmt::format("{} routed, top-{}, expert ffn {}{}", *c.num_experts, opt(c.top_k),
                       // Mixtral and Granite 4.0 size their experts by intermediate_size.
                       opt(c.moe_intermediate_size ? c.moe_intermediate_size : c.intermediate_size),
                       c.num_shared_experts ? fmt::format(", {} shared", *c.num_shared_experts)
                                            : std::string()));
    }
    if (!c.quant.method.empty()) {
      line("quantization",
           fmt::format("{}{}{}", c.quant.method,
                       c.quant.bits ? fmt::format(" {}-bit", c.quant.bits) : "",
                       c.quant.group_size ? fmt::format(", group {}", c.quant.group_size) : ""));
    }
  } else {
    line("config", "no config.json");
  }
  uint64_t header_bytes = 0;
  for (const WeightFileInfo& f : model.files) {
    header_bytes += f.header_bytes;
  }
  const WeightFileInfo* gguf = model.gguf_file();
  line("files", fmt::format("{} {} file(s){}, {} tensors, {} of headers", model.files.size(),
                            gguf ? fmt::format("GGUF v{}", gguf->gguf->version) : "safetensors",
                            model.index ? " via " + model.index->name : "", model.tensors.size(),
                            format_bytes(header_bytes)));
  if (!model.other_weights.empty()) {
    line("other weights", fmt::format("{}", fmt::join(model.other_weights, ", ")));
  }

  const ParamCount& p = r.params;
  out += "\n";
  line("params", fmt::format("{} ({})", format_grouped(p.total), format_count(p.total)));
  for (const auto& [dtype, n] : p.by_dtype) {
    auto bytes = p.stored_bytes_by_dtype.find(dtype);
    // GGUF types: what each takes on disk, and so its bits per weight.
    if (gguf && bytes != p.stored_bytes_by_dtype.end() && n > 0) {
      line("", fmt::format("{:<12}{:>20}  {:>10}  {:.4g} bits/weight", dtype, format_grouped(n),
                           format_bytes(bytes->second),
                           static_cast<double>(bytes->second) * 8.0 / static_cast<double>(n)));
    } else {
      line("", fmt::format("{:<12}{:>20}", dtype, format_grouped(n)));
    }
  }
  if (p.raw_elements != p.total || p.raw_elements_by_dtype != p.by_dtype) {
    line("raw elements", format_grouped(p.raw_elements));
    for (const auto& [dtype, n] : p.raw_elements_by_dtype) {
      line("", fmt::format("{:<12}{:>20}", dtype, format_grouped(n)));
    }
  }
  line("components", "");
  for (size_t i = 0; i < k_component_count; ++i) {
    if (p.by_component[i] > 0) {
      line("", fmt::format("{:<16}{:>20}", component_name(static_cast<Component>(i)),
                           format_grouped(p.by_component[i])));
    }
  }
  if (p.tied_embeddings) {
    line("embeddings", fmt::format("{} (tied: lm_head shares them)", format_grouped(p.embedding)));
  }
  if (p.routed_expert_params > 0 && p.active) {
    line("active",
         fmt::format("{} ({}) per token", format_grouped(*p.active), format_count(*p.active)));
    if (p.active_excluding_embedding && *p.active_excluding_embedding != *p.active) {
      line("", fmt::format("{} ({}) without the input embedding (Meta's, OpenAI's convention)",
                           format_grouped(*p.active_excluding_embedding),
                           format_count(*p.active_excluding_embedding)));
    }
  }
  if (p.buffers > 0) {
    line("buffers", fmt::format("{} elements in {} non-parameter buffer(s), included above",
                                format_grouped(p.buffers), p.buffer_names.size()));
  }
  if (r.analytic.count) {
    std::string verdict =
        r.analytic.difference == 0
            ? "matches the headers"
            : fmt::format("{} vs headers: {}", grouped_signed(r.analytic.difference),
                          fmt::join(r.analytic.explanation, "; "));
    line("analytic",
         fmt::format("{} from config.json ({})", format_grouped(r.analytic.count->total),
                     model.tensors.empty() ? "no headers to compare" : verdict));
  } else {
    line("analytic", "unavailable: " + r.analytic.unavailable);
  }

  out += "\n";
  line("weights", fmt::format("{} as stored", format_bytes(p.stored_bytes)));
  std::vector<std::string> fs;
  for (const FormatSize& f : r.formats) {
    fs.push_back(
        fmt::format("{} {:.4g} bpw {}", f.format, f.bits_per_weight(), format_bytes(f.bytes)));
  }
  for (size_t i = 0; i < fs.size(); i += 3) {
    std::vector<std::string> row(fs.begin() + static_cast<long>(i),
                                 fs.begin() + static_cast<long>(std::min(fs.size(), i + 3)));
    line(i == 0 ? "formats" : "", fmt::format("{}", fmt::join(row, " · ")));
  }
  if (r.kv) {
    const KvCache& k = *r.kv;
    line("kv cache",
         fmt::format("{} bytes/token; {} at {} tokens x {} sequence(s)",
                     format_grouped(k.bytes_per_token), format_bytes(k.bytes), k.context, k.batch));
    if (k.by_kind.size() > 1) {  // what each kind of layer holds
      std::vector<std::string> rows;
      for (const KvKind& row : k.by_kind) {
        rows.push_back(row.state_bytes_per_sequence > 0
                           ? fmt::format("{} ×{}: {} state", row.kind, row.layers,
                                         format_bytes(row.state_bytes_per_sequence))
                           : fmt::format("{} ×{}: {} B/token", row.kind, row.layers,
                                         format_grouped(row.bytes_per_token)));
      }
      line("", fmt::format("{}", fmt::join(rows, " · ")));
    }
    if (k.state_bytes > 0) {
      line("state", fmt::format("{} per sequence (linear-attention / SSM layers)",
                                format_bytes(k.state_bytes_per_sequence)));
    }
  } else {
    line("kv cache", "unavailable: " + r.kv_unavailable);
  }
  if (r.layers.count > 0) {
    line("layers", r.layers.pattern);
    if (!r.layers.tally.empty()) {
      line("", r.layers.tally);
    }
  }
  if (!r.fingerprint.empty()) {
    line("fingerprint", r.fingerprint);
  }
  if (!fits.empty()) {
    out += "\n";
    line("fit", fmt::format("weights {}, context {} x batch {}, KV {}; {}% of memory usable "
                            "(vLLM's default gpu_memory_utilization)",
                            fits[0].weights_format, fits[0].context, fits[0].batch,
                            fits[0].kv_dtype, k_usable_memory_percent));
    line("", fmt::format("{:<14}{:>12}{:>12}{:>12}{:>6}{:>12}{:>9}{:>12}", "gpu", "memory",
                         "weights", "kv", "fits", "max ctx", "min gpus", "decode t/s"));
    for (const Fit& f : fits) {
      line("", fmt::format("{:<14}{:>12}{:>12}{:>12}{:>6}{:>12}{:>9}{:>12.1f}",
                           fmt::format("{}x{}", f.gpu, f.gpu_count), format_bytes(f.memory_bytes),
                           format_bytes(f.weights_bytes), format_bytes(f.kv_bytes),
                           f.fits ? "yes" : "no", f.max_context,
                           f.min_gpus ? std::to_string(*f.min_gpus) : "?", f.decode_tokens_per_s));
    }
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

std::string render_tensors_csv(const Model& model, const Analysis& r) {
  std::string out = "kind,name,shape,dtype\n";
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    const TensorInfo& t = model.tensors[i];
    const TensorClass& c = r.params.classes[i];
    out += fmt::format("{},{},{},{}\n", component_name(c.component), csv_field(t.name),
                       csv_field(format_shape(t.shape)), tensor_dtype_name(t));
  }
  return out;
}

std::string render_variant(const Model& model, const VariantReport& v) {
  std::string out = fmt::format("model: {}\n", model.ref.id);
  for (const auto& [name, value] : v.fields) {
    out += fmt::format("{}: {}\n", name, value);
  }
  for (const Invariant& inv : v.invariants) {
    out += fmt::format("invariant: {}: {} ({})\n", inv.name, inv.holds ? "holds" : "BROKEN",
                       inv.detail);
  }
  return out;
}

}  // namespace mbuild
