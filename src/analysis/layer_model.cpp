#include "analysis/layer_model.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace mbuild {
namespace {

template <typename T>
std::optional<T> at(const std::vector<T>& v, size_t i) {
  return i < v.size() ? std::optional<T>(v[i]) : std::nullopt;
}

template <typename T>
std::optional<T> at(const std::vector<std::optional<T>>& v, size_t i) {
  return i < v.size() ? v[i] : std::nullopt;
}

void disagree(LayerModel& out, size_t layer, std::string text) {
  out.disagreements.push_back({Severity::warning, fmt::format("layer {}", layer), std::move(text)});
}

}  // namespace

LayerModel build_layer_model(const ModelConfig* config, const LayerMap* map) {
  LayerModel out;
  size_t n = 0;
  if (config && config->num_layers) {
    n = static_cast<size_t>(std::min<uint64_t>(*config->num_layers, 100'000));
  } else if (map) {
    n = map->layer_present.size();
  }
  // A layer whose tensors show no mixer has none only if the tensors show mixers elsewhere:
  // when no layer shows one (a partial checkpoint, names no rule knows), they tell nothing.
  auto any_set = [](const auto& v) {
    return std::any_of(v.begin(), v.end(), [](const auto& k) { return k.has_value(); });
  };
  const bool mixers_seen = map && any_set(map->layer_mixers);
  const bool ffns_seen = map && any_set(map->layer_ffns);
  const bool indexers_seen = map && std::find(map->layer_indexer.begin(), map->layer_indexer.end(),
                                              true) != map->layer_indexer.end();
  static const std::vector<MixerKind> no_mixers;
  static const std::vector<FfnKind> no_ffns;
  const auto& cfg_mixers = config ? config->layer_attention : no_mixers;
  const auto& cfg_ffns = config ? config->layer_mlp : no_ffns;
  static const std::vector<bool> no_flags;
  const auto& cfg_indexer = config ? config->layer_indexer : no_flags;
  for (size_t i = 0; i < n; ++i) {
    const bool present = map && i < map->layer_present.size() && map->layer_present[i];
    const auto c_mixer = at(cfg_mixers, i);
    const auto c_ffn = at(cfg_ffns, i);
    const auto t_mixer = map ? at(map->layer_mixers, i) : std::nullopt;
    const auto t_ffn = map ? at(map->layer_ffns, i) : std::nullopt;
    // Kinds the config only assumes (a family mbuild does not know) are not contradicted.
    const bool known_mixer =
        c_mixer && *c_mixer != MixerKind::unknown && config->layer_kinds_stated;
    const bool known_ffn = c_ffn && *c_ffn != FfnKind::unknown && config->mlp_kinds_stated;

    MixerKind mixer = c_mixer.value_or(MixerKind::full_attention);
    if (t_mixer) {
      out.from_tensors = true;
      if (c_mixer && is_softmax_attention(*c_mixer) && is_softmax_attention(*t_mixer)) {
        mixer = *c_mixer;
      } else {
        if (known_mixer && *c_mixer != *t_mixer) {
          disagree(out, i,
                   fmt::format("config.json says {}, the tensors show {}", kind_name(*c_mixer),
                               kind_name(*t_mixer)));
        }
        mixer = *t_mixer;
      }
    } else if (present && mixers_seen) {
      out.from_tensors = true;
      if (known_mixer && *c_mixer != MixerKind::none) {
        disagree(out, i,
                 fmt::format("config.json says {}, the tensors show no token mixer",
                             kind_name(*c_mixer)));
      }
      mixer = MixerKind::none;
    }

    // A sparse-attention layer keeps an indexer unless config.json's schedule says it shares
    // one; where the layer's attention tensors are there, they say whether it has one.
    const bool scheduled = i >= cfg_indexer.size() || cfg_indexer[i];
    const bool c_indexer = c_mixer == MixerKind::sparse_attention && scheduled;
    bool indexer = mixer == MixerKind::sparse_attention && scheduled;
    if (t_mixer && is_softmax_attention(*t_mixer)) {
      const bool t_indexer = i < map->layer_indexer.size() && map->layer_indexer[i];
      if (known_mixer && c_indexer != t_indexer) {
        disagree(out, i,
                 c_indexer ? "config.json gives it a sparse-attention indexer, the tensors show "
                             "none"
                           : "the tensors show a sparse-attention indexer config.json does not "
                             "give it");
      }
      indexer = t_indexer;
      if (t_indexer) {
        mixer = MixerKind::sparse_attention;
      } else if (mixer == MixerKind::sparse_attention && !indexers_seen) {
        mixer = *t_mixer;  // no layer holds an indexer: plain attention runs
      }
    }

    FfnKind ffn = c_ffn.value_or(FfnKind::dense);
    if (t_ffn) {
      if (known_ffn && *c_ffn != *t_ffn) {
        disagree(out, i,
                 fmt::format("config.json says {} MLP, the tensors show {}", kind_name(*c_ffn),
                             kind_name(*t_ffn)));
      }
      ffn = *t_ffn;
    } else if (present && ffns_seen) {
      if (known_ffn && *c_ffn != FfnKind::none) {
        disagree(out, i,
                 fmt::format("config.json says {} MLP, the tensors show no feed-forward",
                             kind_name(*c_ffn)));
      }
      ffn = FfnKind::none;
    }
    out.mixers.push_back(mixer);
    out.indexer.push_back(indexer);
    out.ffns.push_back(ffn);
  }
  return out;
}

}  // namespace mbuild
