// Which files hold a repo's weights, decided from its file list alone (a folder listing or the
// Hub's siblings), so the local and Hub sources choose the same way.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mbuild {

// One quantization of a GGUF repo: a single file, or every part of one split set
// ("<stem>-00001-of-00003.gguf" ...). `name` is the path without ".gguf" and without the split
// suffix ("Meta-Llama-3-8B-Instruct-Q4_K_M", or "Q4_K_M/Qwen3-235B-A22B-Q4_K_M" for a split set
// kept in a folder of its own, as large quantizations on the Hub are).
struct GgufVariant {
  std::string name;
  std::vector<std::string> files;  // in part order
};

struct WeightLayout {
  std::string folder;  // "" or a diffusers subfolder such as "transformer/"
  std::string index;   // the index file (with folder), or empty for single files
  // Safetensors files to read. For an index these are the shard candidates the listing shows
  // (the index itself is authoritative); otherwise the single file or every *.safetensors.
  std::vector<std::string> files;
  std::vector<std::string> other_weights;  // pytorch_model.bin, *.gguf, ... (for hints)
  bool also_mistral = false;  // the repo also ships Mistral consolidated* (not counted)
  // Without safetensors, or when a quantization was asked for: the GGUF quantizations at the
  // root and one folder down (vision projectors "mmproj*" left out), and the files of the one
  // chosen (the only one, or the one asked for); empty when several are present and none was
  // asked for, or none matches. Kept apart from `files`, which only ever names safetensors
  // files.
  std::vector<GgufVariant> gguf_variants;
  std::vector<std::string> gguf_files;
};

// Picks, in order: model.safetensors.index.json, model.safetensors,
// consolidated.safetensors.index.json, consolidated.safetensors, the diffusers names (at the
// root or under transformer/ or unet/ when model_index.json is present), else every
// *.safetensors at the root. `files` are paths relative to the repo root.
// Without safetensors, GGUF: `gguf_select` picks a variant by file name, variant name, or
// quantization tag at the end of the name ("Q4_K_M", case-insensitive). A `gguf_select` that
// matches a variant wins over safetensors beside it (it asks for that file); one that matches
// none leaves `gguf_files` empty, for the source to report with the variants' tags.
WeightLayout choose_weight_layout(const std::vector<std::string>& files,
                                  std::string_view gguf_select = {});

// The GGUF quantizations among a repo's files (at the root and one folder down), sorted by
// name.
std::vector<GgufVariant> gguf_variants(const std::vector<std::string>& files);

// The variant `select` names (see choose_weight_layout), or nullptr.
const GgufVariant* find_gguf_variant(const std::vector<GgufVariant>& variants,
                                     std::string_view select);

// For each variant, the shortest tag that selects it alone: the end of its name after a '-' or
// '.' ("Q4_K_M", "UD-Q4_K_XL" when "Q4_K_XL" is taken twice), else its whole name. What an
// error lists as the tags to pick from.
std::vector<std::string> gguf_tags(const std::vector<GgufVariant>& variants);

// True for file names that hold weights in another format than safetensors.
bool is_other_weight_file(std::string_view name);

}  // namespace mbuild
