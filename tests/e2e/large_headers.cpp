// Headers from 64 KiB on (local files that large are mapped), files that are not regular files,
// and values too long to echo: each case once crashed, hung or printed a 100 KB line.
#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/fixtures.hpp"

namespace mbuild::e2e {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The header JSON of a safetensors file, and the file with `header` in its place.
std::string header_of(const std::string& file) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) {
    n = n << 8 | static_cast<unsigned char>(file[static_cast<size_t>(i)]);
  }
  return file.substr(8, n);
}
std::string with_header(const std::string& file, const std::string& header) {
  const std::string old = header_of(file);
  return safetensors_bytes(header) + file.substr(8 + old.size());
}

// Llama-3.2-1B-Instruct's folder, with its header rewritten by `edit`.
void write_llama_1b(const fs::path& dir, const std::function<std::string(std::string)>& edit) {
  const fs::path from = corpus_model("meta-llama__Llama-3.2-1B-Instruct");
  write_file(dir / "config.json", read_file(from / "config.json"));
  const std::string file = read_file(from / "model.safetensors");
  write_file(dir / "model.safetensors", with_header(file, edit(header_of(file))));
}

// The header with "__metadata__" padded by `pad` bytes (compact JSON, as the script).
std::string padded(const std::string& header, size_t pad) {
  nlohmann::ordered_json h = nlohmann::ordered_json::parse(header);
  h["__metadata__"] = {{"format", "pt"}, {"pad", std::string(pad, 'x')}};
  return h.dump();
}

ProcessResult inspect_json(const fs::path& dir) {
  SpawnOptions o;
  o.kill_after = 60s;
  return run_mbuild_with({"inspect", dir.string(), "--format", "json"}, base_environment(), o);
}

TEST_CASE("an unknown dtype in a mapped header is bad input, not a crash", "[bad-input][mapped]") {
  // The reproduction: one dtype renamed, metadata padded past the 64 KiB threshold
  // (60,000) and under it (40,000). Both must give the same exit 3 line.
  for (const size_t pad : {size_t{40'000}, size_t{60'000}}) {
    TempDir dir;
    write_llama_1b(dir.path(), [&](std::string h) {
      std::string s = padded(h, pad);
      s.replace(s.find("\"BF16\""), 6, "\"Q17\"");
      return s;
    });
    INFO("pad " << pad);
    const ProcessResult run = inspect_json(dir.path());
    CHECK(run.signal == 0);
    CHECK(run.exit_code == 3);
    CHECK(run.out.empty());
    REQUIRE(split_lines(run.err).size() == 1);
    CHECK(run.err.find("model.safetensors") != std::string::npos);
    CHECK(run.err.find("unknown dtype 'Q17'") != std::string::npos);
  }
}

TEST_CASE("a valid mapped header with an escaped name is read exactly", "[mapped]") {
  // "model.norm.weigh\u0074" is "model.norm.weight": valid JSON the fast path leaves to the
  // reference reader. 56,812 and 76,812 bytes of header, under and over 64 KiB.
  for (const size_t size : {size_t{56'812}, size_t{76'812}}) {
    TempDir dir;
    write_llama_1b(dir.path(), [&](const std::string& h) {
      auto escaped = [&](size_t pad) {
        std::string s = padded(h, pad);
        s.replace(s.find("\"model.norm.weight\""), 19, "\"model.norm.weigh\\u0074\"");
        return s;
      };
      return escaped(size - escaped(0).size());  // the padding adds its length, nothing else
    });
    const std::string header = header_of(read_file(dir / "model.safetensors"));
    INFO("header " << header.size() << " bytes");
    CHECK(header.size() == size);
    const ProcessResult run = inspect_json(dir.path());
    INFO("stderr: " << run.err);
    CHECK(run.signal == 0);
    REQUIRE(run.exit_code == 0);
    const auto doc = nlohmann::json::parse(run.out);
    CHECK(doc.at("params").at("total").get<uint64_t>() ==
          truth_total("meta-llama__Llama-3.2-1B-Instruct"));
  }
}

TEST_CASE("a one-byte corruption of a real 195 KB shard header is bad input",
          "[bad-input][mapped]") {
  // Qwen3-30B-A3B's shard 4 of 13 has a 195 KB header; "dtype" -> "dtypf" in its first tensor.
  TempDir dir;
  const fs::path from = corpus_model("Qwen__Qwen3-30B-A3B");
  for (const auto& entry : fs::directory_iterator(from)) {
    write_file(dir / entry.path().filename(), read_file(entry.path()));
  }
  const std::string shard = "model-00004-of-00013.safetensors";
  std::string bytes = read_file(dir / shard);
  REQUIRE(header_of(bytes).size() > 190'000);
  bytes.replace(bytes.find("\"dtype\""), 7, "\"dtypf\"");
  write_file(dir / shard, bytes);
  const ProcessResult run = inspect_json(dir.path());
  INFO("stderr: " << run.err);
  CHECK(run.signal == 0);
  CHECK(run.exit_code == 3);
  CHECK(run.out.empty());
  REQUIRE(split_lines(run.err).size() == 1);
  CHECK(run.err.find(shard) != std::string::npos);
  CHECK(run.err.find("missing dtype") != std::string::npos);
}

TEST_CASE("a named pipe or a folder where a model file belongs is bad input, never a hang",
          "[bad-input][file-type]") {
  struct Case {
    std::string name;  // the entry made a FIFO or a folder
    bool folder;
  };
  const Case cases[] = {
      {"config.json", false},
      {"model.safetensors", false},
      {"model.safetensors.index.json", false},
      {"model.safetensors", true},
  };
  for (const Case& c : cases) {
    TempDir dir;
    write_file(dir / "config.json", tiny_llama_config().dump(2));
    if (c.name != "model.safetensors") {
      write_tiny_llama(dir.path());
    }
    fs::remove(dir / c.name);
    if (c.folder) {
      fs::create_directory(dir / c.name);
    } else {
      REQUIRE(::mkfifo((dir / c.name).c_str(), 0600) == 0);
    }
    for (const std::string command : {"inspect", "validate", "emit-config"}) {
      INFO(command << " with " << c.name << (c.folder ? " a folder" : " a FIFO"));
      TempDir out;
      SpawnOptions o;
      o.kill_after = 30s;
      o.cwd = out.path();
      const ProcessResult run =
          run_mbuild_with({command, dir.path().string()}, base_environment(), o);
      INFO("stderr: " << run.err);
      CHECK_FALSE(run.killed);
      CHECK(run.exit_code == 3);
      CHECK(run.out.empty());
      REQUIRE(split_lines(run.err).size() == 1);
      CHECK(run.err.find(c.name) != std::string::npos);
      CHECK(run.err.find(c.folder ? "is a folder" : "is a named pipe") != std::string::npos);
      CHECK(list_dir(out.path()).empty());  // nothing half-written
    }
  }
}

TEST_CASE("a long value echoed in an error is cut to a short line", "[bad-input]") {
  TempDir dir;
  nlohmann::ordered_json config = tiny_llama_config();
  config["hidden_size"] = std::string(100'000, '7');
  write_tiny_llama(dir.path());
  write_file(dir / "config.json", config.dump());
  const ProcessResult run = run_mbuild({"inspect", dir.path().string()});
  CHECK(run.exit_code == 3);
  REQUIRE(split_lines(run.err).size() == 1);
  INFO(run.err);
  CHECK(run.err.size() < 400);
  CHECK(run.err.find("hidden_size") != std::string::npos);
  CHECK(run.err.find("\u2026") != std::string::npos);
}

}  // namespace
}  // namespace mbuild::e2e
