// Per-layer kinds by name, as config.json writes them: for comparing a config's kinds with
// lists written out in tests.
#pragma once

#include <string>
#include <vector>

#include "mbuild/model/layer_kind.hpp"

namespace mbuild::test {

template <class Kind>
std::vector<std::string> names(const std::vector<Kind>& kinds) {
  std::vector<std::string> out;
  for (Kind k : kinds) {
    out.emplace_back(kind_name(k));
  }
  return out;
}

}  // namespace mbuild::test
