// What `mbuild inspect` prints and writes besides the counts: several sources at once, the text
// summary, and the --tensors-csv file.
#include <regex>
#include <set>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/fixtures.hpp"

namespace mbuild::e2e {
namespace {

using nlohmann::json;

constexpr const char* k_llama70b = "meta-llama__Llama-3.3-70B-Instruct";
constexpr const char* k_gpt2 = "openai-community__gpt2";
constexpr const char* k_qwen3_8b = "Qwen__Qwen3-8B";

// Tensor names of a sharded corpus model, read from its index (not from mbuild).
std::set<std::string> index_tensor_names(const std::string& folder) {
  const json index = json::parse(read_file(corpus_model(folder) / "model.safetensors.index.json"));
  std::set<std::string> names;
  for (const auto& [name, file] : index.at("weight_map").items()) {
    names.insert(name);
  }
  return names;
}

}  // namespace

TEST_CASE("inspect of several sources prints one JSON array in input order", "[inspect][json]") {
  const std::vector<std::string> folders{k_llama70b, k_gpt2, k_qwen3_8b};
  std::vector<std::string> args{"inspect"};
  for (const std::string& f : folders) {
    args.push_back(corpus_model(f).string());
  }
  args.insert(args.end(), {"--format", "json"});
  const std::string jobs = GENERATE(as<std::string>{}, "1", "3");
  args.insert(args.end(), {"--jobs", jobs});
  INFO("--jobs " << jobs);

  const ProcessResult run = run_mbuild(args);
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  const json doc = json::parse(run.out);
  REQUIRE(doc.is_array());
  REQUIRE(doc.size() == folders.size());
  for (size_t i = 0; i < folders.size(); ++i) {
    INFO("item " << i);
    CHECK(doc[i].at("model").at("id") == folders[i]);
    CHECK(doc[i].at("params").at("total").get<uint64_t>() == truth_total(folders[i]));
  }
}

TEST_CASE("inspect text output shows the total with thousands separators", "[inspect][text]") {
  const ProcessResult run = run_mbuild({"inspect", corpus_model(k_llama70b).string()});
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(run.out.find(with_separators(truth_total(k_llama70b))) != std::string::npos);
  CHECK(run.out.find("70,553,706,496") != std::string::npos);
  CHECK(run.out.find('\x1b') == std::string::npos);  // no colour into a pipe
}

TEST_CASE("inspect text output of several models shows each total", "[inspect][text]") {
  const ProcessResult run =
      run_mbuild({"inspect", "--ordered", corpus_model(k_gpt2).string(),
                  corpus_model(k_qwen3_8b).string()});  // input order: sources run concurrently
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  const size_t gpt2_at = run.out.find(with_separators(truth_total(k_gpt2)));
  const size_t qwen_at = run.out.find(with_separators(truth_total(k_qwen3_8b)));
  REQUIRE(gpt2_at != std::string::npos);
  REQUIRE(qwen_at != std::string::npos);
  CHECK(gpt2_at < qwen_at);
}

TEST_CASE("inspect --tensors-csv writes one row per tensor", "[inspect][csv]") {
  TempDir out;
  const auto csv_path = out / "tensors.csv";
  const ProcessResult run = run_mbuild(
      {"inspect", corpus_model(k_llama70b).string(), "--tensors-csv", csv_path.string()});
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_code == 0);

  const std::vector<std::string> lines = split_lines(read_file(csv_path));
  REQUIRE_FALSE(lines.empty());
  CHECK(lines.front() == "kind,name,shape,dtype");
  CHECK(lines.size() == 1 + 723);

  // kind,name,"(d0, d1, ...)" or "(d0,)" or "()",dtype
  static const std::regex k_row(
      R"re(^([a-z_]+),([^,"]+),"\((|\d+,|\d+(, \d+)+)\)",([A-Z0-9_]+)$)re");
  std::set<std::string> names;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::smatch m;
    INFO("row " << i << ": " << lines[i]);
    REQUIRE(std::regex_match(lines[i], m, k_row));
    names.insert(m[2].str());
  }
  CHECK(names == index_tensor_names(k_llama70b));

  const std::string content = read_file(csv_path);
  CHECK(
      content.find("\nattention,model.layers.0.self_attn.q_proj.weight,\"(8192, 8192)\",BF16\n") !=
      std::string::npos);
  CHECK(content.find(",model.layers.0.input_layernorm.weight,\"(8192,)\",BF16\n") !=
        std::string::npos);
  CHECK(content.find(",model.embed_tokens.weight,\"(128256, 8192)\",BF16\n") != std::string::npos);
}

TEST_CASE("inspect --tensors-csv leaves no temporary file and replaces an old file whole",
          "[inspect][csv]") {
  TempDir out;
  const auto csv_path = out / "tensors.csv";
  write_file(csv_path, std::string(1 << 20, 'x'));  // longer than the new content

  const ProcessResult run =
      run_mbuild({"inspect", corpus_model(k_gpt2).string(), "--tensors-csv", csv_path.string()});
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(list_dir(out.path()) == std::vector<std::string>{"tensors.csv"});
  const std::string content = read_file(csv_path);
  CHECK(content.starts_with("kind,name,shape,dtype\n"));
  CHECK(content.find('x' + std::string(8, 'x')) == std::string::npos);
  CHECK(split_lines(content).size() == 1 + 160);
}

TEST_CASE("inspect --tensors-csv writes nothing when the source is bad", "[inspect][csv]") {
  TempDir out;
  TempDir model;
  write_file(model / "config.json", "{}");
  write_file(model / "model.safetensors", "short");

  const ProcessResult run = run_mbuild(
      {"inspect", model.path().string(), "--tensors-csv", (out / "tensors.csv").string()});
  CHECK(run.exit_code == 3);
  CHECK(list_dir(out.path()).empty());
}

TEST_CASE("inspect --tensors-csv into a missing folder fails with one error line",
          "[inspect][csv]") {
  TempDir out;
  const auto csv_path = out / "no-such-dir" / "tensors.csv";
  const ProcessResult run =
      run_mbuild({"inspect", corpus_model(k_gpt2).string(), "--tensors-csv", csv_path.string()});
  CHECK(run.exit_code != 0);
  const std::vector<std::string> lines = split_lines(run.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].starts_with("mbuild: error: "));
  CHECK(lines[0].find("tensors.csv") != std::string::npos);
  CHECK(list_dir(out.path()).empty());
}

}  // namespace mbuild::e2e
