// Deployment fit (DESIGN.md "Deployment fit"): whether a model's weights and KV cache fit on N
// devices of a kind, the largest context and fewest devices that fit, and a decode upper bound.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mbuild/analysis/analysis.hpp"
#include "mbuild/model/model.hpp"
#include "mbuild/util/error.hpp"

namespace mbuild {

// One accelerator as its vendor publishes it: memory (decimal bytes: "80 GB" is 80e9) and
// peak memory bandwidth (bytes per second), with where the figures come from.
struct Device {
  std::string_view name;     // "H100-SXM"
  std::string_view aliases;  // space-separated other names ("H100 H100-80G")
  uint64_t memory_bytes = 0;
  uint64_t bandwidth_bytes_per_s = 0;
  std::string_view source;  // the vendor's published figure
};

// The built-in devices, one row each.
const std::vector<Device>& devices();

// The device a name means (case-insensitive; '-', '_' and spaces ignored), or nullptr.
const Device* find_device(std::string_view name);

// "H100x8" -> (H100, 8); "H100" -> (H100, 1). Fails (usage) on an unknown device or count.
struct DeviceCount {
  Device device;
  uint64_t count = 1;
};
Result<DeviceCount> parse_device_count(std::string_view spec);

// Of each device's memory, what serving may use: vLLM's default gpu_memory_utilization (0.9,
// vllm/engine/arg_utils.py). The rest (10 %) is the stated overhead: CUDA context, NCCL
// buffers, activation workspace and fragmentation are assumed to fit in it.
inline constexpr uint64_t k_usable_memory_percent = 90;

struct FitOptions {
  std::string weights_format;  // "" (as stored), bf16, fp16, fp8, int8, int4 or a ggml type
  uint64_t context = 0;        // 0: max_position_embeddings (else 4096)
  uint64_t batch = 1;
  std::string kv_dtype = "bf16";  // bf16, fp16, fp8 (fp32 too)
  bool kv_mtp = false;            // the MTP layers' KV too (speculative decoding)
};

struct Fit {
  std::string gpu;
  uint64_t gpu_count = 1;
  std::string weights_format;  // as reported ("as-stored" or the format's name)
  uint64_t context = 0;
  uint64_t batch = 1;
  std::string kv_dtype;
  uint64_t weights_bytes = 0;         // all weights in the format
  uint64_t active_weights_bytes = 0;  // read per decode step (MoE: the active share)
  uint64_t kv_bytes = 0;              // KV cache (and recurrent state) at context x batch
  uint64_t memory_bytes = 0;          // gpu_count x device memory
  uint64_t overhead_bytes = 0;        // the share not usable for serving (10 %)
  bool fits = false;
  uint64_t max_context = 0;  // largest context (<= max_position_embeddings) that fits; 0: none
  std::optional<uint64_t> min_gpus;  // fewest devices holding weights + KV at the context
  double decode_tokens_per_s = 0;    // per sequence: bandwidth / (active weights + KV)
};

// Fails (usage) on an unknown weights format or KV dtype, and (not_found) when the model has no
// KV-cache size (encoder-only, dimensions missing).
Result<Fit> fit_model(const Model& model, const Analysis& analysis, const DeviceCount& devices,
                      const FitOptions& options);

}  // namespace mbuild
