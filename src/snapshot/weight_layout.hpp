// Which files hold a repo's weights, decided from its file list alone (a folder listing or the
// Hub's siblings), so the local and Hub sources choose the same way.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mbuild {

struct WeightLayout {
  std::string folder;  // "" or a diffusers subfolder such as "transformer/"
  std::string index;   // the index file (with folder), or empty for single files
  // Safetensors files to read. For an index these are the shard candidates the listing shows
  // (the index itself is authoritative); otherwise the single file or every *.safetensors.
  std::vector<std::string> files;
  std::vector<std::string> other_weights;  // pytorch_model.bin, *.gguf, ... (for hints)
  bool also_mistral = false;  // the repo also ships Mistral consolidated* (not counted)
};

// Picks, in order: model.safetensors.index.json, model.safetensors,
// consolidated.safetensors.index.json, consolidated.safetensors, the diffusers names (at the
// root or under transformer/ or unet/ when model_index.json is present), else every
// *.safetensors at the root. `files` are paths relative to the repo root.
WeightLayout choose_weight_layout(const std::vector<std::string>& files);

// True for file names that hold weights in another format than safetensors.
bool is_other_weight_file(std::string_view name);

}  // namespace mbuild
