#include "snapshot/weight_layout.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "mbuild/snapshot/gguf.hpp"

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

std::vector<GgufVariant> gguf_variants(const std::vector<std::string>& files) {
  std::map<std::string, std::vector<std::pair<uint32_t, std::string>>> by_name;
  for (const std::string& f : files) {
    const size_t slash = f.find('/');
    const std::string_view base =
        slash == std::string::npos ? std::string_view(f) : std::string_view(f).substr(slash + 1);
    // The root, or one folder down: the Hub keeps a large quantization's split set in a folder
    // of its own ("Q4_K_M/<stem>-00001-of-00003.gguf").
    if (base.find('/') != std::string_view::npos || slash == 0 || !f.ends_with(".gguf") ||
        base.starts_with("mmproj")) {
      continue;
    }
    if (auto split = gguf_split_name(f)) {
      by_name[split->stem].emplace_back(split->part, f);
    } else {
      by_name[f.substr(0, f.size() - 5)].emplace_back(1, f);
    }
  }
  std::vector<GgufVariant> out;
  for (auto& [name, parts] : by_name) {
    std::sort(parts.begin(), parts.end());
    GgufVariant v{name, {}};
    for (auto& [part, file] : parts) {
      v.files.push_back(std::move(file));
    }
    out.push_back(std::move(v));
  }
  return out;
}

const GgufVariant* find_gguf_variant(const std::vector<GgufVariant>& variants,
                                     std::string_view select) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
  };
  const std::string want = lower(select);
  for (const GgufVariant& v : variants) {
    if (lower(v.name) == want ||
        std::find(v.files.begin(), v.files.end(), select) != v.files.end()) {
      return &v;
    }
  }
  // A quantization tag: the name ends with "-Q4_K_M" or ".Q4_K_M".
  const GgufVariant* found = nullptr;
  for (const GgufVariant& v : variants) {
    const std::string name = lower(v.name);
    if (name.size() > want.size() && name.ends_with(want) &&
        (name[name.size() - want.size() - 1] == '-' || name[name.size() - want.size() - 1] == '.' ||
         name[name.size() - want.size() - 1] == '_')) {
      if (found) {
        return nullptr;  // ambiguous
      }
      found = &v;
    }
  }
  return found;
}

std::vector<std::string> gguf_tags(const std::vector<GgufVariant>& variants) {
  std::vector<std::string> tags;
  for (const GgufVariant& v : variants) {
    std::string tag = v.name;
    // Suffixes from the shortest: after the last '-' or '.', then the one before, ...
    for (size_t end = v.name.size(); end > 0;) {
      const size_t cut = v.name.find_last_of("-./", end - 1);
      if (cut == std::string::npos || v.name[cut] == '/') {
        break;
      }
      const std::string candidate = v.name.substr(cut + 1);
      if (find_gguf_variant(variants, candidate) == &v) {
        tag = candidate;
        break;
      }
      end = cut;
    }
    tags.push_back(std::move(tag));
  }
  return tags;
}

WeightLayout choose_weight_layout(const std::vector<std::string>& files,
                                  std::string_view gguf_select) {
  const std::set<std::string, std::less<>> present(files.begin(), files.end());
  WeightLayout out;
  // A quantization asked for by name is read even beside safetensors.
  if (!gguf_select.empty()) {
    out.gguf_variants = gguf_variants(files);
    if (const GgufVariant* chosen = find_gguf_variant(out.gguf_variants, gguf_select)) {
      out.gguf_files = chosen->files;
      for (const std::string& f : files) {
        if (is_other_weight_file(f) &&
            std::find(out.gguf_files.begin(), out.gguf_files.end(), f) == out.gguf_files.end()) {
          out.other_weights.push_back(f);
        }
      }
      std::sort(out.other_weights.begin(), out.other_weights.end());
      return out;
    }
  }
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
  if (out.files.empty() && gguf_select.empty()) {
    out.gguf_variants = gguf_variants(files);
    const GgufVariant* chosen =
        out.gguf_variants.size() == 1 ? &out.gguf_variants.front() : nullptr;
    if (chosen) {
      out.gguf_files = chosen->files;
      // The files read are weights, not "other weights" to hint at.
      std::erase_if(out.other_weights, [&](const std::string& f) {
        return std::find(out.gguf_files.begin(), out.gguf_files.end(), f) != out.gguf_files.end();
      });
    }
  }
  return out;
}

}  // namespace mbuild
