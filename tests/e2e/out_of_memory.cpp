// Running out of memory is exit 7 with one line, not "bad input" (exit 3): the input is fine,
// the machine's limit is not.
#include <chrono>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "e2e/fixtures.hpp"

namespace mbuild::e2e {
namespace {

// The address-space limit (ulimit -v, KiB) the binary runs under: it starts and prints its
// version well within it, and the model below needs ~180 MB of heap.
constexpr const char* k_limit_kib = "150000";

// A valid single-file model whose header lists 400,000 one-element tensors (~38 MB of JSON):
// one file, so the headers are read on the main thread, and its tensor table outgrows the limit.
void write_large_model(const std::filesystem::path& dir) {
  constexpr size_t k_tensors = 400'000;
  std::string header = "{";
  header.reserve(k_tensors * 96);
  for (size_t i = 0; i < k_tensors; ++i) {
    header += (i ? ",\"" : "\"") + std::string("model.layers.") + std::to_string(i) +
              ".extra.weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[" +
              std::to_string(4 * i) + "," + std::to_string(4 * i + 4) + "]}";
  }
  header += "}";
  write_file(dir / "model.safetensors", safetensors_bytes(header));
  write_file(dir / "config.json",
             R"({"model_type": "llama", "hidden_size": 4, "num_hidden_layers": 1,
                 "num_attention_heads": 2, "vocab_size": 8, "intermediate_size": 8})");
}

// The same tensors in two shards (headers parsed on worker threads; a worker that runs out of
// memory takes its turn and the main thread throws once all are joined). Under this limit the
// main thread's table reservation is what fails first.
void write_sharded_model(const std::filesystem::path& dir) {
  constexpr size_t k_per_shard = 200'000;
  for (size_t shard = 0; shard < 2; ++shard) {
    std::string header = "{";
    header.reserve(k_per_shard * 96);
    for (size_t i = 0; i < k_per_shard; ++i) {
      header += (i ? ",\"" : "\"") + std::string("model.layers.") +
                std::to_string(shard * k_per_shard + i) +
                ".extra.weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[" +
                std::to_string(4 * i) + "," + std::to_string(4 * i + 4) + "]}";
    }
    header += "}";
    write_file(dir / ("model-0000" + std::to_string(shard + 1) + "-of-00002.safetensors"),
               safetensors_bytes(header));
  }
  write_file(dir / "config.json",
             R"({"model_type": "llama", "hidden_size": 4, "num_hidden_layers": 1,
                 "num_attention_heads": 2, "vocab_size": 8, "intermediate_size": 8})");
}

// mbuild with `args` under `ulimit -v`.
ProcessResult run_limited(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"/bin/sh", "-c",
                                std::string("ulimit -v ") + k_limit_kib + " && exec \"$@\"", "sh",
                                binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, base_environment(), std::chrono::seconds(120));
}

}  // namespace

TEST_CASE("out of memory exits 7 with one line, not as bad input", "[oom]") {
  // A sanitizer build reserves terabytes of shadow memory at start, which no address-space
  // limit allows: there the binary cannot even print its version, and the test cannot run.
  const ProcessResult version = run_limited({"--version"});
  if (version.exit_code != 0) {
    WARN("skipped: the binary cannot start under ulimit -v " << k_limit_kib << " (sanitizers?)");
    return;
  }
  TempDir dir;
  write_large_model(dir.path());
  const ProcessResult r = run_limited({"inspect", dir.path().string(), "--format", "json"});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 7);
  CHECK(r.out.empty());
  CHECK(r.err == "mbuild: error: out of memory: std::bad_alloc\n");
}

TEST_CASE("a sharded model that does not fit exits 7 too", "[oom]") {
  if (run_limited({"--version"}).exit_code != 0) {
    WARN("skipped: the binary cannot start under ulimit -v " << k_limit_kib << " (sanitizers?)");
    return;
  }
  TempDir dir;
  write_sharded_model(dir.path());
  const ProcessResult r = run_limited({"inspect", dir.path().string(), "--format", "json"});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 7);
  CHECK(r.out.empty());
  CHECK(r.err == "mbuild: error: out of memory: std::bad_alloc\n");
}

TEST_CASE("--help lists exit code 7", "[oom]") {
  const ProcessResult r = run_mbuild({"--help"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("7  out of memory or another system resource") != std::string::npos);
}

}  // namespace mbuild::e2e
