// Malformed local models: exit 3, nothing on stdout, and exactly one line on stderr,
// `mbuild: error: <path naming the file>: <fault>`.
#include <functional>
#include <regex>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/fixtures.hpp"

namespace mbuild::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

// One way to break a model folder, and the file the error message must name.
struct Fault {
  std::string name;
  std::string file;  // the file name the one error line must mention
  std::function<void(const fs::path&)> make;
};

void write_config(const fs::path& dir) {
  write_file(dir / "config.json", tiny_llama_config().dump(2));
}

// config.json plus model.safetensors made of `header` and `data_bytes` bytes of data.
void write_header(const fs::path& dir, const std::string& header, uint64_t data_bytes) {
  write_config(dir);
  write_file(dir / "model.safetensors", safetensors_bytes(header, data_bytes));
}

std::vector<Fault> faults() {
  return {
      {"file shorter than 8 bytes", "model.safetensors",
       [](const fs::path& dir) {
         write_config(dir);
         write_file(dir / "model.safetensors", std::string("\x10\0\0", 3));
       }},
      {"header length past the end of the file", "model.safetensors",
       [](const fs::path& dir) {
         const std::string header = header_for(tiny_llama_tensors()).dump();
         std::string bytes = safetensors_bytes(header);
         bytes.resize(8 + header.size() / 2);  // the header is cut in the middle
         write_config(dir);
         write_file(dir / "model.safetensors", bytes);
       }},
      {"header length far past the end of the file", "model.safetensors",
       [](const fs::path& dir) {
         std::string bytes =
             safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})");
         bytes[5] = '\x01';  // length becomes 2^40 + n
         write_config(dir);
         write_file(dir / "model.safetensors", bytes);
       }},
      {"header not JSON", "model.safetensors",
       [](const fs::path& dir) { write_header(dir, "this is not json at all", 0); }},
      {"header JSON but not an object", "model.safetensors",
       [](const fs::path& dir) { write_header(dir, "[1, 2, 3]", 0); }},
      {"unknown dtype", "model.safetensors",
       [](const fs::path& dir) {
         write_header(dir, R"({"w":{"dtype":"Q7","shape":[2,2],"data_offsets":[0,16]}})", 16);
       }},
      {"overflowing shape", "model.safetensors",
       [](const fs::path& dir) {
         // 2^32 * 2^32 * 2^32 elements overflow 64 bits.
         write_header(
             dir,
             R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,16]}})",
             16);
       }},
      {"shape and data_offsets disagree", "model.safetensors",
       [](const fs::path& dir) {
         write_header(dir, R"({"w":{"dtype":"F32","shape":[4,4],"data_offsets":[0,16]}})", 64);
       }},
      {"overlapping data_offsets", "model.safetensors",
       [](const fs::path& dir) {
         write_header(dir,
                      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                      12);
       }},
      {"gapped data_offsets", "model.safetensors",
       [](const fs::path& dir) {
         write_header(dir,
                      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})",
                      20);
       }},
      {"index naming a missing shard", "model-00002-of-00002.safetensors",
       [](const fs::path& dir) {
         write_config(dir);
         const std::vector<TensorSpec> tensors = tiny_llama_tensors();
         const std::vector<TensorSpec> first(tensors.begin(), tensors.begin() + 6);
         ordered_json index{{"metadata", {{"total_size", 880}}},
                            {"weight_map", ordered_json::object()}};
         for (size_t i = 0; i < tensors.size(); ++i) {
           index["weight_map"][tensors[i].name] =
               i < 6 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
         }
         write_file(dir / "model.safetensors.index.json", index.dump(2));
         write_file(dir / "model-00001-of-00002.safetensors", safetensors_file(header_for(first)));
       }},
      {"index that is not JSON", "model.safetensors.index.json",
       [](const fs::path& dir) {
         write_config(dir);
         write_file(dir / "model.safetensors.index.json", "{\"weight_map\": ");
         write_file(dir / "model-00001-of-00001.safetensors",
                    safetensors_file(header_for(tiny_llama_tensors())));
       }},
      {"config.json not an object", "config.json",
       [](const fs::path& dir) {
         write_file(dir / "config.json", "[1, 2, 3]\n");
         write_file(dir / "model.safetensors", safetensors_file(header_for(tiny_llama_tensors())));
       }},
      {"config.json not JSON", "config.json",
       [](const fs::path& dir) {
         write_file(dir / "config.json", "{\"model_type\": \"llama\",\n");
         write_file(dir / "model.safetensors", safetensors_file(header_for(tiny_llama_tensors())));
       }},
  };
}

}  // namespace

TEST_CASE("a well-formed tiny model is accepted (the faults below are the only change)",
          "[bad-input]") {
  TempDir dir;
  write_tiny_llama(dir.path());
  const ProcessResult run = run_mbuild({"inspect", dir.path().string()});
  INFO("stderr: " << run.err);
  CHECK(run.exit_code == 0);
}

TEST_CASE("bad local input exits 3 with one error line naming the file", "[bad-input]") {
  const Fault fault = GENERATE(from_range(faults()));
  const std::string format = GENERATE(as<std::string>{}, "text", "json");
  INFO("fault: " << fault.name << ", --format " << format);

  TempDir dir;
  fault.make(dir.path());
  const ProcessResult run = run_mbuild({"inspect", dir.path().string(), "--format", format});
  INFO("stdout: " << run.out);
  INFO("stderr: " << run.err);
  REQUIRE_FALSE(run.timed_out);
  CHECK(run.signal == 0);
  CHECK(run.exit_code == 3);
  CHECK(run.out.empty());

  const std::vector<std::string> lines = split_lines(run.err);
  REQUIRE(lines.size() == 1);
  CHECK(run.err.ends_with("\n"));
  // mbuild: error: <what, naming the file>: <why>
  static const std::regex k_line(R"(^mbuild: error: (.+): (\S.*)$)");
  std::smatch m;
  REQUIRE(std::regex_match(lines[0], m, k_line));
  CHECK(m[1].str().find(dir.path().string() + "/") == 0);  // <what> is a file of the model
  CHECK(lines[0].find(fault.file) != std::string::npos);
}

TEST_CASE("one bad source among good ones fails the run but the good ones are reported",
          "[bad-input]") {
  TempDir dir;
  write_header(dir.path(), "not json", 0);
  const std::string good = corpus_model("openai-community__gpt2").string();
  const ProcessResult run = run_mbuild({"inspect", good, dir.path().string(), "--format", "json"});
  INFO("stderr: " << run.err);
  CHECK(run.exit_code == 3);
  CHECK(split_lines(run.err).size() == 1);
  const nlohmann::json doc = nlohmann::json::parse(run.out);
  REQUIRE(doc.is_array());
  CHECK(doc.at(0).at("model").at("id") == "openai-community__gpt2");
}

}  // namespace mbuild::e2e
