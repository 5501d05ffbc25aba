#include "analysis/layer_pattern.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace mbuild {
namespace {

constexpr size_t k_max_period = 64;

std::string run(const std::string& kind, size_t count) {
  return count == 1 ? kind : fmt::format("{} ×{}", kind, count);
}

// Run-length form of a short block: "linear_attention ×3, full_attention".
std::string runs(const std::vector<std::string>& kinds, size_t begin, size_t end) {
  std::vector<std::string> parts;
  for (size_t i = begin; i < end;) {
    size_t j = i;
    while (j < end && kinds[j] == kinds[i]) {
      ++j;
    }
    parts.push_back(run(kinds[i], j - i));
    i = j;
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

bool uniform(const std::vector<std::string>& v) {
  return std::adjacent_find(v.begin(), v.end(), std::not_equal_to<>()) == v.end();
}

}  // namespace

std::string compress_layer_pattern(const std::vector<std::string>& kinds) {
  std::vector<std::string> parts;
  const size_t n = kinds.size();
  for (size_t i = 0; i < n;) {
    size_t best_period = 1, best_reps = 1;
    for (size_t p = 1; p <= k_max_period && i + 2 * p <= n; ++p) {
      size_t reps = 1;
      while (i + (reps + 1) * p <= n &&
             std::equal(kinds.begin() + static_cast<long>(i),
                        kinds.begin() + static_cast<long>(i + p),
                        kinds.begin() + static_cast<long>(i + reps * p))) {
        ++reps;
      }
      if (reps >= 2 && p * reps > best_period * best_reps) {
        best_period = p;
        best_reps = reps;
      }
    }
    if (best_period == 1) {
      size_t j = i;
      while (j < n && kinds[j] == kinds[i]) {
        ++j;
      }
      parts.push_back(run(kinds[i], j - i));
      i = j;
    } else {
      parts.push_back(fmt::format("({}) ×{}", runs(kinds, i, i + best_period), best_reps));
      i += best_period * best_reps;
    }
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::vector<std::string> layer_kinds(const std::vector<std::string>& attention,
                                     const std::vector<std::string>& mlp) {
  const bool mlp_varies = !uniform(mlp) && mlp.size() == attention.size();
  if (!mlp_varies) {
    return attention;
  }
  if (uniform(attention)) {
    return mlp;
  }
  // Both vary: a layer with one of the two shows that one (Nemotron-H blocks), else both.
  std::vector<std::string> out;
  for (size_t i = 0; i < attention.size(); ++i) {
    out.push_back(attention[i] == "none" ? mlp[i]
                  : mlp[i] == "none"     ? attention[i]
                                         : attention[i] + "+" + mlp[i]);
  }
  return out;
}

std::vector<std::string> layer_labels(const std::vector<MixerKind>& mixers,
                                      const std::vector<FfnKind>& ffns,
                                      const std::vector<bool>& nope,
                                      const std::vector<bool>& indexer) {
  std::vector<std::string> m, f;
  for (size_t i = 0; i < mixers.size(); ++i) {
    const bool no_positions = i < nope.size() && nope[i] && is_softmax_attention(mixers[i]);
    const bool shared_index =
        mixers[i] == MixerKind::sparse_attention && i < indexer.size() && !indexer[i];
    m.push_back(fmt::format("{}{}{}", kind_name(mixers[i]), no_positions ? " (NoPE)" : "",
                            shared_index ? " (shared index)" : ""));
  }
  for (FfnKind k : ffns) {
    f.emplace_back(kind_name(k));
  }
  return layer_kinds(m, f);
}

std::string tally_layer_kinds(const std::vector<std::string>& kinds) {
  std::vector<std::pair<std::string, size_t>> counts;  // in order of first appearance
  for (const std::string& k : kinds) {
    auto it =
        std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == k; });
    if (it == counts.end()) {
      counts.emplace_back(k, 1);
    } else {
      ++it->second;
    }
  }
  if (counts.size() < 2) {
    return {};
  }
  std::vector<std::string> parts;
  for (const auto& [kind, n] : counts) {
    parts.push_back(fmt::format("{} {}", n, kind));
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace mbuild
