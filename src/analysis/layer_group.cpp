// Step 5 of the layer mapper: the per-layer kinds the tensors show (against config.json's), and
// identical parts grouped into the entries of the emitted config.
#include <algorithm>
#include <map>
#include <numeric>

#include <fmt/format.h>

#include "analysis/layer_steps.hpp"

namespace mbuild {
namespace {

// The token mixer a unit's shape shows, or nullopt when it is not one.
std::optional<MixerKind> mixer_kind(const UnitShape& shape) {
  if (const auto* a = std::get_if<AttentionShape>(&shape)) {
    return a->cross     ? std::nullopt
           : a->sliding ? std::optional(MixerKind::sliding_attention)
                        : std::optional(MixerKind::full_attention);
  }
  if (std::holds_alternative<MlaShape>(shape)) {
    return MixerKind::full_attention;
  }
  if (std::holds_alternative<DeltaNetShape>(shape)) {
    return MixerKind::linear_attention;
  }
  if (std::holds_alternative<MambaShape>(shape)) {
    return MixerKind::mamba;
  }
  if (std::holds_alternative<ShortConvShape>(shape)) {
    return MixerKind::short_conv;
  }
  if (const auto* r = std::get_if<RwkvShape>(&shape); r && r->time_mix) {
    return MixerKind::rwkv;
  }
  return std::nullopt;
}

}  // namespace

void read_layer_kinds(const MapContext& ctx, LayerMap& out) {
  if (ctx.num_layers == 0) {
    return;
  }
  const size_t n = static_cast<size_t>(std::min<uint64_t>(ctx.num_layers, 100'000));
  out.layer_mixers.assign(n, std::nullopt);
  out.layer_ffns.assign(n, std::nullopt);
  out.layer_present.assign(n, false);
  out.layer_indexer.assign(n, false);
  for (const LayerUnit& u : out.units) {
    if (!u.scope.empty() || !u.layer || *u.layer >= n) {
      continue;
    }
    out.layer_present[*u.layer] = true;
    const auto* rwkv = std::get_if<RwkvShape>(&u.shape);
    if (const auto m = mixer_kind(u.shape)) {
      // MLA with a lightning indexer under it is DSA's sparse attention.
      const bool indexer = std::holds_alternative<MlaShape>(u.shape) &&
                           std::any_of(u.tensors.begin(), u.tensors.end(), [&](size_t t) {
                             return is_indexer_tensor(ctx.model.tensors[t].name);
                           });
      out.layer_indexer[*u.layer] = out.layer_indexer[*u.layer] || indexer;
      // Attention and a Mamba mixer in one layer run side by side (Falcon-H1).
      auto& seen = out.layer_mixers[*u.layer];
      const bool parallel = seen && ((is_softmax_attention(*seen) && *m == MixerKind::mamba) ||
                                     (*seen == MixerKind::mamba && is_softmax_attention(*m)));
      seen = parallel ? MixerKind::attention_mamba : indexer ? MixerKind::sparse_attention : *m;
    } else if (std::holds_alternative<MoeShape>(u.shape)) {
      out.layer_ffns[*u.layer] = FfnKind::moe;
    } else if ((std::holds_alternative<MlpShape>(u.shape) || (rwkv && !rwkv->time_mix)) &&
               !out.layer_ffns[*u.layer]) {
      out.layer_ffns[*u.layer] = FfnKind::dense;  // an RWKV channel mix is its feed-forward
    }
  }
}

void group_parts(LayerMap& out) {
  std::vector<size_t> order(out.parts.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::tie(out.parts[a].order, out.parts[a].module) <
           std::tie(out.parts[b].order, out.parts[b].module);
  });
  std::map<std::string, size_t> entry_of;
  for (size_t pi : order) {
    const LayerPart& p = out.parts[pi];
    const std::string key =
        fmt::format("{}|{}|{}|{}", p.name, p.layer_class, p.specs.dump(), p.params);
    auto [it, fresh] = entry_of.emplace(key, out.entries.size());
    if (fresh) {
      LayerEntry e;
      e.name = p.name;
      e.layer_class = p.layer_class;
      e.parameter_count = p.params;
      if (p.layer) {
        e.specs["layer_idx"] = *p.layer;
      }
      for (const auto& [k, v] : p.specs.items()) {
        e.specs[k] = v;
      }
      e.specs["parameter_count"] = p.params;
      out.entries.push_back(std::move(e));
    }
    LayerEntry& e = out.entries[it->second];
    ++e.count;
    e.parts.push_back(pi);
    out.total += p.params;
  }
  // Names stay unique: later entries with a taken name get "_2", "_3", ...
  std::map<std::string, int> seen;
  for (LayerEntry& e : out.entries) {
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

}  // namespace mbuild
