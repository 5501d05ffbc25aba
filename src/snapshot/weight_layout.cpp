#include "snapshot/weight_layout.hpp"

#include <algorithm>
#include <set>

namespace mbuild {
namespace {

struct Layout {
  std::string_view index;   // index file name, or empty
  std::string_view single;  // single-file name, or empty
  std::string_view shard_prefix;
};

constexpr Layout k_layouts[] = {
    {"model.safetensors.index.json", "", "model-"},
    {"", "model.safetensors", ""},
    {"consolidated.safetensors.index.json", "", "consolidated-"},
    {"", "consolidated.safetensors", ""},
    {"diffusion_pytorch_model.safetensors.index.json", "", "diffusion_pytorch_model-"},
    {"", "diffusion_pytorch_model.safetensors", ""},
};

// Subfolders a diffusers pipeline keeps its denoiser in (huggingface.js probes the same).
constexpr std::string_view k_diffusers_subfolders[] = {"transformer/", "unet/"};

bool in_folder(std::string_view path, std::string_view folder) {
  return path.starts_with(folder) && path.find('/', folder.size()) == std::string_view::npos;
}

}  // namespace

bool is_other_weight_file(std::string_view name) {
  const size_t slash = name.rfind('/');
  std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  return base.starts_with("pytorch_model") || base.ends_with(".gguf") || base == "tf_model.h5" ||
         base == "flax_model.msgpack" || base.ends_with(".pth") || base.ends_with(".pt") ||
         (base.ends_with(".bin") && base.starts_with("diffusion_pytorch_model"));
}

WeightLayout choose_weight_layout(const std::vector<std::string>& files) {
  const std::set<std::string, std::less<>> present(files.begin(), files.end());
  WeightLayout out;
  std::vector<std::string_view> folders = {""};
  if (!present.count("config.json") && present.count("model_index.json")) {
    folders.assign(std::begin(k_diffusers_subfolders), std::end(k_diffusers_subfolders));
    folders.emplace_back("");
  }
  for (const std::string& f : files) {
    if (is_other_weight_file(f)) {
      out.other_weights.push_back(f);
    }
  }
  std::sort(out.other_weights.begin(), out.other_weights.end());

  for (std::string_view folder : folders) {
    for (const Layout& layout : k_layouts) {
      const std::string index = std::string(folder) + std::string(layout.index);
      const std::string single = std::string(folder) + std::string(layout.single);
      if (!layout.index.empty() && present.count(index)) {
        out.index = index;
        const std::string prefix = std::string(folder) + std::string(layout.shard_prefix);
        for (const std::string& f : files) {
          if (in_folder(f, folder) && f.starts_with(prefix) && f.ends_with(".safetensors")) {
            out.files.push_back(f);
          }
        }
      } else if (!layout.single.empty() && present.count(single)) {
        out.files.push_back(single);
      } else {
        continue;
      }
      out.folder = std::string(folder);
      out.also_mistral = !layout.index.starts_with("consolidated") &&
                         !layout.single.starts_with("consolidated") &&
                         (present.count("consolidated.safetensors") ||
                          present.count("consolidated.safetensors.index.json"));
      std::sort(out.files.begin(), out.files.end());
      return out;
    }
  }
  for (const std::string& f : files) {
    if (in_folder(f, "") && f.ends_with(".safetensors")) {
      out.files.push_back(f);
    }
  }
  std::sort(out.files.begin(), out.files.end());
  return out;
}

}  // namespace mbuild
