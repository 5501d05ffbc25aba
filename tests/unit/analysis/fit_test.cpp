// Deployment fit, worked by hand: every expected number below is arithmetic on published
// figures (parameter counts, config.json dimensions, vendor memory and bandwidth).
#include "mbuild/analysis/fit.hpp"

#include <catch2/catch.hpp>

#include "mbuild/source/local_source.hpp"
#include "test_support.hpp"

namespace mbuild {
namespace {

Model load(const std::filesystem::path& folder) {
  LocalFolderSource source(folder);
  auto snap = source.snapshot();
  REQUIRE(snap);
  auto model = build_model(std::move(*snap));
  REQUIRE(model);
  return std::move(*model);
}

FitOptions options(std::string weights_format, uint64_t context, std::string kv_dtype = "bf16") {
  FitOptions o;
  o.weights_format = std::move(weights_format);
  o.context = context;
  o.kv_dtype = std::move(kv_dtype);
  return o;
}

DeviceCount gpus(std::string_view spec) {
  auto d = parse_device_count(spec);
  REQUIRE(d);
  return *d;
}

TEST_CASE("fit: device names and counts") {
  CHECK(gpus("H100x8").count == 8);
  CHECK(gpus("H100x8").device.name == "H100-SXM");
  CHECK(gpus("h100-sxm").count == 1);
  CHECK(gpus("A100-80Gx4").device.memory_bytes == 80'000'000'000);
  CHECK(gpus("MI300X").device.memory_bytes == 192'000'000'000);  // not "MI300" times 0
  CHECK(gpus("mi300xx2").count == 2);
  CHECK(gpus("rtx4090").device.bandwidth_bytes_per_s == 1'008'000'000'000);
  CHECK(gpus("M4-Max").device.bandwidth_bytes_per_s == 546'000'000'000);
  auto unknown = parse_device_count("TPUv5x8");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().kind == ErrorKind::usage);
  CHECK_FALSE(parse_device_count("H100x0"));
  for (const Device& d : devices()) {
    CHECK(d.memory_bytes > 0);
    CHECK(d.bandwidth_bytes_per_s > 0);
    CHECK_FALSE(d.source.empty());
  }
}

// Llama-3.3-70B-Instruct has Llama-3.1-70B's architecture and size (70,553,706,496 params,
// 80 layers, 8 KV heads of 128, max_position_embeddings 131072), stored in BF16.
TEST_CASE("fit: Llama-3.1-70B bf16 does not fit one H100 80G and fits two up to 8827 tokens") {
  const Model model = load(test::corpus_dir() / "meta-llama__Llama-3.3-70B-Instruct");
  const Analysis a = analyze(model, {});
  REQUIRE(a.params.total == 70'553'706'496);
  // Weights as stored: 70,553,706,496 x 2 bytes = 141,107,412,992.
  // KV per token, bf16: 80 layers x 2 (K, V) x 8 heads x 128 x 2 bytes = 327,680.
  // One H100: 80e9 bytes, 90 % usable = 72e9 < weights: no fit, no context fits.
  auto one = fit_model(model, a, gpus("H100"), options("", 8192));
  REQUIRE(one);
  CHECK(one->weights_bytes == 141'107'412'992);
  CHECK(one->kv_bytes == 8192ULL * 327'680);
  CHECK_FALSE(one->fits);
  CHECK(one->max_context == 0);
  CHECK(one->overhead_bytes == 8'000'000'000);
  // Fewest H100s at 8192 tokens: (141,107,412,992 + 2,684,354,560) / 72e9 = 1.997 -> 2.
  CHECK(one->min_gpus == 2);

  // Two H100s: 144e9 usable; 144e9 - 141,107,412,992 = 2,892,587,008 bytes for KV,
  // / 327,680 = 8827.4 -> 8827 tokens.
  auto two = fit_model(model, a, gpus("H100x2"), options("", 8192));
  REQUIRE(two);
  CHECK(two->fits);  // 141,107,412,992 + 2,684,354,560 = 143,791,767,552 <= 144e9
  CHECK(two->max_context == 8827);
  CHECK(two->overhead_bytes == 16'000'000'000);
  // Decode bound: 2 x 3.35e12 B/s / 143,791,767,552 B per token = 46.59 tokens/s.
  CHECK(two->decode_tokens_per_s == Approx(6.7e12 / 143'791'767'552.0));

  // At the default context (max_position_embeddings 131072): 42,949,672,960 bytes of KV;
  // (141,107,412,992 + 42,949,672,960) / 72e9 = 2.56 -> 3 H100s.
  auto full = fit_model(model, a, gpus("H100x2"), {});
  REQUIRE(full);
  CHECK(full->context == 131'072);
  CHECK_FALSE(full->fits);
  CHECK(full->min_gpus == 3);

  // FP8 KV halves the cache: 2,892,587,008 / 163,840 = 17654.9 -> 17654 tokens.
  auto fp8 = fit_model(model, a, gpus("H100x2"), options("", 8192, "fp8"));
  REQUIRE(fp8);
  CHECK(fp8->max_context == 17'654);
}

TEST_CASE("fit: DeepSeek-V3 fp8 fits 8 H200s") {
  const Model model = load(test::data_dir() / "fit" / "deepseek-ai__DeepSeek-V3");
  const Analysis a = analyze(model, {});
  // Counted from config.json: the published 671B (main model) to 685B (with the MTP module).
  REQUIRE(a.total >= 671'000'000'000);
  REQUIRE(a.total <= 686'000'000'000);
  auto fit = fit_model(model, a, gpus("H200x8"), options("fp8", 0));
  REQUIRE(fit);
  // FP8: one byte per weight.
  CHECK(fit->weights_format == "FP8");
  CHECK(fit->weights_bytes == a.total);
  // MLA cache per token: 61 layers x (kv_lora_rank 512 + rope 64) x 2 bytes = 70,272; at
  // max_position_embeddings 163,840: 11,513,364,480 bytes.
  CHECK(fit->context == 163'840);
  CHECK(fit->kv_bytes == 11'513'364'480);
  // 8 x 141e9 x 0.9 = 1,015,200,000,000 usable >= at most 686e9 + 11.5e9.
  CHECK(fit->fits);
  CHECK(fit->max_context == 163'840);  // capped at the model's maximum
  // Fewest H200s: (671..686e9 + 11.5e9) / 126.9e9 = 5.4..5.5 -> 6.
  CHECK(fit->min_gpus == 6);
  // Active per token: 37B of 671B (model card); decode bound = 8 x 4.8e12 / (active bytes +
  // KV) is then ~800 tokens/s; the exact figure follows the counted active share.
  REQUIRE(a.params.active);
  CHECK(fit->decode_tokens_per_s > 500);
  CHECK(fit->decode_tokens_per_s < 1000);
}

TEST_CASE("fit: unknown weight formats and KV dtypes are usage errors") {
  const Model model = load(test::data_dir() / "fit" / "deepseek-ai__DeepSeek-V3");
  const Analysis a = analyze(model, {});
  auto bad_format = fit_model(model, a, gpus("H200"), options("int3", 0));
  REQUIRE_FALSE(bad_format);
  CHECK(bad_format.error().kind == ErrorKind::usage);
  auto bad_kv = fit_model(model, a, gpus("H200"), options("", 0, "int2"));
  REQUIRE_FALSE(bad_kv);
  CHECK(bad_kv.error().kind == ErrorKind::usage);
  // A GGUF type as the format: Q4_K, 144 bytes per 256 weights.
  auto q4k = fit_model(model, a, gpus("H200"), options("q4_k", 0));
  REQUIRE(q4k);
  CHECK(q4k->weights_format == "Q4_K");
  CHECK(q4k->weights_bytes == (a.total + 255) / 256 * 144);
}

}  // namespace
}  // namespace mbuild
