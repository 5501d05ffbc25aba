#include "mbuild/analysis/fit.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "mbuild/snapshot/ggml_type.hpp"
#include "util/checked.hpp"

namespace mbuild {
namespace {

constexpr uint64_t k_gb = 1'000'000'000;  // vendors' GB and GB/s are decimal

// The devices, one row each: vendor figures (memory as sold, peak memory bandwidth).
const std::vector<Device> k_devices = {
    {"H100-SXM", "H100 H100-80G H100SXM5", 80 * k_gb, 3'350 * k_gb,
     "NVIDIA H100 Tensor Core GPU datasheet: H100 SXM 80 GB HBM3, 3.35 TB/s"},
    {"H100-PCIe", "H100PCIE", 80 * k_gb, 2'000 * k_gb,
     "NVIDIA H100 PCIe product brief PB-11133-001_v02: 80 GB HBM2e, over 2,000 GB/s"},
    {"H200", "H200-SXM H200-141G", 141 * k_gb, 4'800 * k_gb,
     "NVIDIA H200 Tensor Core GPU datasheet: 141 GB HBM3e, 4.8 TB/s"},
    {"B200", "B200-HGX HGX-B200", 180 * k_gb, 7'700 * k_gb,
     "NVIDIA HGX B200 per-GPU figures: 180 GB HBM3e, 7.7 TB/s (as tabulated at "
     "hpc-ai.com/blog/B200-Practical-Considerations-for-AI-Teams); the B200 package carries "
     "192 GB at 8 TB/s, of which HGX systems expose 180 GB"},
    {"A100-40G", "A100-40GB A100-SXM-40G", 40 * k_gb, 1'555 * k_gb,
     "NVIDIA A100 Tensor Core GPU datasheet: A100 40 GB HBM2, 1,555 GB/s"},
    {"A100-80G", "A100 A100-80GB A100-SXM A100-SXM-80G", 80 * k_gb, 2'039 * k_gb,
     "NVIDIA A100 Tensor Core GPU datasheet: A100 80 GB SXM HBM2e, 2,039 GB/s"},
    {"L40S", "", 48 * k_gb, 864 * k_gb, "NVIDIA L40S datasheet: 48 GB GDDR6 with ECC, 864 GB/s"},
    {"L4", "", 24 * k_gb, 300 * k_gb, "NVIDIA L4 Tensor Core GPU datasheet: 24 GB GDDR6, 300 GB/s"},
    {"RTX-4090", "4090 GEFORCE-RTX-4090", 24 * k_gb, 1'008 * k_gb,
     "NVIDIA GeForce RTX 4090 specifications: 24 GB GDDR6X, 384-bit at 21 Gbps = 1,008 GB/s"},
    {"RTX-5090", "5090 GEFORCE-RTX-5090", 32 * k_gb, 1'792 * k_gb,
     "NVIDIA GeForce RTX 5090 specifications: 32 GB GDDR7, 512-bit at 28 Gbps = 1,792 GB/s"},
    {"MI300X", "INSTINCT-MI300X", 192 * k_gb, 5'300 * k_gb,
     "AMD Instinct MI300X datasheet: 192 GB HBM3, 5.3 TB/s peak memory bandwidth"},
    {"M2-Ultra", "", 192 * k_gb, 800 * k_gb,
     "Apple newsroom, M2 Ultra (2023-06-05): up to 192 GB unified memory, 800 GB/s"},
    {"M3-Max", "", 128 * k_gb, 400 * k_gb,
     "Apple newsroom, M3 family (2023-10-30): M3 Max up to 128 GB unified memory, 400 GB/s "
     "(16-core CPU; the 14-core part has 300 GB/s and up to 96 GB)"},
    {"M4-Max", "", 128 * k_gb, 546 * k_gb,
     "Apple newsroom, M4 Max (2024-10-30): up to 128 GB unified memory, 546 GB/s (16-core "
     "CPU; the 14-core part has 410 GB/s and up to 36 GB)"},
};

std::string folded(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '-' && c != '_' && c != ' ') {
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

// Bytes of `params` weights in a named format: the formats of weight_formats (memory.cpp,
// FP16 the size of BF16), else a ggml type (ceil(params / block) blocks).
std::optional<std::pair<std::string, uint64_t>> format_bytes(std::string_view name,
                                                             uint64_t params) {
  std::string f = folded(name);
  if (f == "FP16" || f == "F16") {
    f = "BF16";
  }
  if (f == "FP32") {
    f = "F32";
  }
  for (const FormatSize& s : weight_formats(params)) {
    if (folded(s.format) == f) {
      return std::make_pair(std::string(s.format), s.bytes);
    }
  }
  if (const GgmlType* t = ggml_type_by_name(name)) {
    const uint64_t blocks = params / t->block_size + (params % t->block_size ? 1 : 0);
    return std::make_pair(std::string(t->name),
                          checked_mul(blocks, t->type_size).value_or(UINT64_MAX));
  }
  return std::nullopt;
}

uint64_t sat_add(uint64_t a, uint64_t b) {
  return checked_add(a, b).value_or(UINT64_MAX);
}

}  // namespace

const std::vector<Device>& devices() {
  return k_devices;
}

const Device* find_device(std::string_view name) {
  const std::string want = folded(name);
  for (const Device& d : k_devices) {
    if (folded(d.name) == want) {
      return &d;
    }
    std::string_view aliases = d.aliases;
    while (!aliases.empty()) {
      const size_t space = aliases.find(' ');
      if (folded(aliases.substr(0, space)) == want) {
        return &d;
      }
      aliases = space == std::string_view::npos ? std::string_view() : aliases.substr(space + 1);
    }
  }
  return nullptr;
}

Result<DeviceCount> parse_device_count(std::string_view spec) {
  DeviceCount out;
  std::string_view name = spec;
  // "H100x8": the count after the last 'x', unless the whole is a name ("RTX4090").
  if (const size_t x = spec.find_last_of("xX");
      !find_device(spec) && x != std::string_view::npos && x > 0) {
    std::string_view count = spec.substr(x + 1);
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
    if (!count.empty() && ec == std::errc() && end == count.data() + count.size()) {
      if (n == 0 || n > 65536) {
        return fail(ErrorKind::usage, std::string(spec), "GPU count must be 1 to 65536");
      }
      out.count = n;
      name = spec.substr(0, x);
    }
  }
  const Device* d = find_device(name);
  if (!d) {
    std::vector<std::string_view> names;
    names.reserve(k_devices.size());
    for (const Device& known : k_devices) {
      names.push_back(known.name);
    }
    return fail(ErrorKind::usage, std::string(spec), "unknown GPU",
                fmt::format("known: {}; or give --gpu-mem and --gpu-bw", fmt::join(names, ", ")));
  }
  out.device = *d;
  return out;
}

Result<Fit> fit_model(const Model& model, const Analysis& analysis, const DeviceCount& devices,
                      const FitOptions& options) {
  Fit fit;
  fit.gpu = std::string(devices.device.name);
  fit.gpu_count = devices.count;
  fit.batch = options.batch ? options.batch : 1;
  fit.kv_dtype = options.kv_dtype;
  if (!model.config) {
    return fail(ErrorKind::not_found, model.ref.id, "no config: no KV-cache size for the fit");
  }
  if (analysis.total == 0) {
    return fail(ErrorKind::not_found, model.ref.id, "no parameter count: nothing to fit");
  }
  const std::span<const MixerKind> layer_mixers =
      analysis.layers.mixers.empty() ? std::span<const MixerKind>(model.config->layer_attention)
                                     : std::span<const MixerKind>(analysis.layers.mixers);
  const auto kv_bytes = kv_dtype_bytes(options.kv_dtype);
  if (!kv_bytes) {
    return fail(ErrorKind::usage, "--kv-dtype",
                fmt::format("unknown KV dtype '{}'", excerpt(options.kv_dtype)),
                "bf16, fp16, fp8 or fp32");
  }
  // Weights: as stored (the headers' bytes), or the total in another format.
  const uint64_t total = analysis.total;
  uint64_t active = analysis.params.active.value_or(total);
  if (!analysis.from_headers) {
    active = total;
    // Counted from config.json alone: the routed experts of every MoE layer (3 projections of
    // hidden x moe_intermediate each), of which top_k of num_experts are read per token.
    const ModelConfig& c = *model.config;
    const uint64_t experts = c.num_experts.value_or(0), top_k = c.top_k.value_or(0);
    if (experts > 1 && top_k > 0 && c.num_layers && c.hidden_size && c.moe_intermediate_size) {
      const uint64_t dense = std::min(*c.num_layers, c.count("first_k_dense_replace").value_or(0));
      const long double routed = static_cast<long double>(*c.num_layers - dense) * experts * 3 *
                                 static_cast<long double>(*c.hidden_size) *
                                 static_cast<long double>(*c.moe_intermediate_size);
      if (routed < static_cast<long double>(total)) {
        active = static_cast<uint64_t>(static_cast<long double>(total) - routed +
                                       routed * static_cast<long double>(top_k) /
                                           static_cast<long double>(experts));
      }
    }
  }
  if (options.weights_format.empty() || folded(options.weights_format) == "ASSTORED") {
    fit.weights_format = "as-stored";
    fit.weights_bytes =
        analysis.from_headers ? analysis.params.stored_bytes : format_bytes("BF16", total)->second;
  } else {
    auto f = format_bytes(options.weights_format, total);
    if (!f) {
      return fail(ErrorKind::usage, "--weights-format",
                  fmt::format("unknown format '{}'", excerpt(options.weights_format)),
                  "bf16, fp16, fp8, int8, int4, q8_0, q4_k_m, mxfp4, nvfp4 or a GGUF type");
    }
    fit.weights_format = f->first;
    fit.weights_bytes = f->second;
  }
  // Read per decode step: the active share of the weights (all of them for a dense model).
  fit.active_weights_bytes =
      total ? static_cast<uint64_t>(static_cast<long double>(fit.weights_bytes) * active / total)
            : fit.weights_bytes;

  auto kv_options = [&](uint64_t context) {
    return KvOptions{
        .context = context,
        .batch = fit.batch,
        .dtype_bytes = *kv_bytes,
        .mtp_layers = options.kv_mtp ? analysis.layers.mtp : 0,
        .indexer = analysis.layers.mixers.empty() ? nullptr : &analysis.layers.indexer};
  };
  auto kv_at = [&](uint64_t context) -> Result<uint64_t> {
    auto kv = kv_cache(*model.config, layer_mixers, kv_options(context));
    if (!kv) {
      return tl::unexpected(kv.error());
    }
    return sat_add(kv->bytes, kv->state_bytes);
  };
  auto kv = kv_cache(*model.config, layer_mixers, kv_options(options.context));
  if (!kv) {
    return tl::unexpected(kv.error());
  }
  fit.context = kv->context;
  fit.kv_bytes = sat_add(kv->bytes, kv->state_bytes);

  const uint64_t per_device = devices.device.memory_bytes;
  const uint64_t usable_per_device =
      per_device / 100 * k_usable_memory_percent + per_device % 100 * k_usable_memory_percent / 100;
  fit.memory_bytes = checked_mul(per_device, devices.count).value_or(UINT64_MAX);
  const uint64_t usable = checked_mul(usable_per_device, devices.count).value_or(UINT64_MAX);
  fit.overhead_bytes = fit.memory_bytes - usable;
  const uint64_t needed = sat_add(fit.weights_bytes, fit.kv_bytes);
  fit.fits = needed <= usable;

  // The largest context that fits (the KV cache grows with context, piecewise linearly: a
  // binary search over kv_cache itself), capped at the model's max_position_embeddings.
  const uint64_t limit = model.config->max_position_embeddings.value_or(uint64_t{1} << 40);
  if (fit.weights_bytes < usable) {
    uint64_t lo = 0, hi = limit;
    while (lo < hi) {
      const uint64_t mid = lo + (hi - lo + 1) / 2;
      auto bytes = kv_at(mid);
      if (!bytes) {
        return tl::unexpected(bytes.error());
      }
      if (sat_add(fit.weights_bytes, *bytes) <= usable) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    fit.max_context = lo;
  }
  // The fewest devices that hold weights + KV at the context.
  if (usable_per_device > 0) {
    const uint64_t n = needed / usable_per_device + (needed % usable_per_device ? 1 : 0);
    fit.min_gpus = std::max<uint64_t>(n, 1);
  }
  // Decode, memory-bound: each step reads the active weights and the whole KV cache once;
  // every sequence of the batch gets one token per step.
  const uint64_t bandwidth =
      checked_mul(devices.device.bandwidth_bytes_per_s, devices.count).value_or(UINT64_MAX);
  const uint64_t per_step = sat_add(fit.active_weights_bytes, fit.kv_bytes);
  fit.decode_tokens_per_s =
      per_step ? static_cast<double>(bandwidth) / static_cast<double>(per_step) : 0.0;
  return fit;
}

}  // namespace mbuild
