// Paths on the local side (issue #6, paths): an index's weight_map never leads out of the model
// folder; whatever a model folder or file is called, its emitted model_id stays a file name
// inside --out-dir; and a write never goes anywhere else, not even through a symlink planted in
// the output folder. "Nothing written outside" is checked by reading the whole temporary root,
// outside files included, before and after each run.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/fixtures.hpp"

namespace mbuild::e2e {
namespace {

namespace fs = std::filesystem;

// A model folder whose index sends every tensor of the tiny Llama to `shard`.
void write_model_with_index_naming(const fs::path& dir, const std::string& shard) {
  write_file(dir / "config.json", tiny_llama_config().dump(2));
  nlohmann::ordered_json index = {{"metadata", {{"total_size", 4 * tiny_llama_total()}}},
                                  {"weight_map", nlohmann::ordered_json::object()}};
  for (const TensorSpec& t : tiny_llama_tensors()) {
    index["weight_map"][t.name] = shard;
  }
  write_file(dir / "model.safetensors.index.json", index.dump(2));
}

std::string tiny_weights() {
  return safetensors_file(header_for(tiny_llama_tensors()));
}

// Everything under `root` that is new or changed since `before`.
std::vector<std::string> changes(const std::map<std::string, std::string>& before,
                                 const fs::path& root) {
  std::vector<std::string> out;
  for (const auto& [path, content] : read_tree(root)) {
    auto it = before.find(path);
    if (it == before.end() || it->second != content) {
      out.push_back(path);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("a local index whose weight_map leaves the model folder exits 3 naming the index",
          "[paths]") {
  // Each name leads to a valid tiny-Llama file outside the model folder (or to a system file),
  // so without the shard-name check the run would read it and succeed.
  const std::vector<std::string> bad = {"../evil.safetensors",
                                        "a/../../b.safetensors",
                                        "sub/../../../c.safetensors",
                                        "/etc/passwd",
                                        "http://x/y.safetensors",
                                        "file:///etc/passwd",
                                        "C:\\x.safetensors",
                                        "\\\\server\\share\\x.safetensors",
                                        "..",
                                        ".",
                                        ""};
  for (const std::string& shard : bad) {
    TempDir root;
    const fs::path model = root / "deep" / "model";
    write_model_with_index_naming(model, shard);
    fs::create_directories(model / "a");
    fs::create_directories(model / "sub");
    write_file(root / "deep" / "evil.safetensors", tiny_weights());
    write_file(root / "deep" / "b.safetensors", tiny_weights());
    write_file(root / "c.safetensors", tiny_weights());
    write_file(model / "C:\\x.safetensors", tiny_weights());
    fs::create_directories(root / "work");
    const auto before = read_tree(root.path());
    for (const std::string command : {"inspect", "validate", "emit-config"}) {
      INFO(command << " with weight_map naming '" << shard << "'");
      std::vector<std::string> args = {command, model.string()};
      if (command == "emit-config") {
        args.insert(args.end(), {"--out-dir", (root / "work/out").string(), "--gaps-dir",
                                 (root / "work/gaps").string()});
      }
      const ProcessResult r = run_mbuild(args);
      INFO("stderr: " << r.err);
      CHECK(r.exit_code == 3);
      CHECK(r.out.empty());
      const auto lines = split_lines(r.err);
      CHECK(lines.size() == 1);
      const std::string first = lines.empty() ? std::string() : lines[0];
      CHECK(first.starts_with("mbuild: error: "));
      CHECK(first.find("model.safetensors.index.json") != std::string::npos);
      CHECK(first.find("shard name") != std::string::npos);
      CHECK(changes(before, root.path()) == std::vector<std::string>{});
    }
  }
}

// A shard name is printed in the error; a newline or a terminal escape in it must not make a
// second line or reach the terminal. Needs src/core/shard_index.cpp to refuse control
// characters in check_shard_name (or to escape them in the message).
TEST_CASE("a weight_map name with a newline or a terminal escape still gives one plain line",
          "[paths]") {
  for (const std::string shard :
       {"a\nb.safetensors", "x\x1b[2J.safetensors", "tab\t.safetensors"}) {
    INFO("weight_map naming '" << shard << "'");
    TempDir root;
    write_model_with_index_naming(root / "model", shard);
    const ProcessResult r = run_mbuild({"inspect", (root / "model").string()});
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 3);
    CHECK(split_lines(r.err).size() == 1);
    CHECK_FALSE(has_control_characters(r.err));
  }
}

TEST_CASE("whatever a model folder or file is called, its model_id stays a name in --out-dir",
          "[paths]") {
  // Folder names: "org__name" stands for the Hub id org/name, so ".." on either side of "__"
  // would become a path part if model_id were not made a plain file name.
  const std::vector<std::string> folders = {
      "a__..",         "..__x",          "..__..",
      "x__y%2F..%2Fz", "org__name.json", "na\xc3\xafve__mod\xc3\xa8le",
      "sp ace__t\tab", "dots...__...",   "back\\slash__..\\..\\x"};
  for (const std::string& folder : folders) {
    INFO("folder '" << folder << "'");
    TempDir root;
    write_tiny_llama(root / "src" / folder);
    const auto before = read_tree(root.path());
    const ProcessResult r =
        run_mbuild({"emit-config", (root / "src" / folder).string(), "--out-dir",
                    (root / "work/out").string(), "--gaps-dir", (root / "work/gaps").string()});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    const auto out = list_dir(root / "work/out");
    REQUIRE(out.size() == 2);
    const std::string stem = out[0].substr(0, out[0].size() - std::string(".json").size());
    CHECK(out[0] == stem + ".json");
    CHECK(out[1] == stem + ".validation.md");
    const auto doc = nlohmann::json::parse(read_file(root / "work/out" / out[0]));
    CHECK(doc["model_id"] == stem);
    CHECK(stem.find('/') == std::string::npos);
    CHECK(stem.find('\\') == std::string::npos);
    CHECK(stem != "..");
    CHECK(stem != ".");
    for (const std::string& path : changes(before, root.path())) {
      INFO(path);
      CHECK((path == "work" || path.starts_with("work/out") || path.starts_with("work/gaps")));
    }
  }
}

TEST_CASE("a single file named like a path part keeps its model_id inside --out-dir", "[paths]") {
  for (const std::string name : {"..safetensors", "...safetensors", "-.safetensors"}) {
    INFO("file '" << name << "'");
    TempDir root;
    write_file(root / "src" / name, tiny_weights());
    const auto before = read_tree(root.path());
    const ProcessResult r =
        run_mbuild({"emit-config", (root / "src" / name).string(), "--out-dir",
                    (root / "work/out").string(), "--gaps-dir", (root / "work/gaps").string()});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    for (const std::string& path : changes(before, root.path())) {
      INFO(path);
      CHECK((path == "work" || path.starts_with("work/out/") || path == "work/out" ||
             path.starts_with("work/gaps")));
    }
    for (const std::string& file : list_dir(root / "work/out")) {
      CHECK(file != "..");
      CHECK(file != ".");
    }
  }
}

TEST_CASE("config.json's _name_or_path and name never choose where emit-config writes", "[paths]") {
  TempDir root;
  auto config = tiny_llama_config();
  config["_name_or_path"] = "../../../escape";
  config["name_or_path"] = "/tmp/escape";
  config["name"] = "../escape";
  write_file(root / "src/org__model/config.json", config.dump(2));
  write_file(root / "src/org__model/model.safetensors", tiny_weights());
  const auto before = read_tree(root.path());
  const ProcessResult r =
      run_mbuild({"emit-config", (root / "src/org__model").string(), "--out-dir",
                  (root / "work/out").string(), "--gaps-dir", (root / "work/gaps").string()});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(list_dir(root / "work/out") ==
        std::vector<std::string>{"org_model.json", "org_model.validation.md"});
  for (const std::string& path : changes(before, root.path())) {
    INFO(path);
    CHECK((path == "work" || path.starts_with("work/out") || path.starts_with("work/gaps")));
  }
}

TEST_CASE("a symlink planted in the output folders is replaced, never written through", "[paths]") {
  TempDir root;
  write_tiny_llama(root / "src/org__model");
  write_file(root / "outside/config.txt", "outside, config\n");
  write_file(root / "outside/report.txt", "outside, report\n");
  write_file(root / "outside/gap.txt", "outside, gap\n");
  fs::create_directories(root / "work/out");
  fs::create_directories(root / "work/gaps");
  fs::create_symlink(root / "outside/config.txt", root / "work/out/org_model.json");
  fs::create_symlink("../../outside/report.txt", root / "work/out/org_model.validation.md");
  fs::create_symlink(root / "outside/gap.txt", root / "work/gaps/lm_head.md");
  const auto outside = read_tree(root / "outside");
  const ProcessResult r =
      run_mbuild({"emit-config", (root / "src/org__model").string(), "--out-dir",
                  (root / "work/out").string(), "--gaps-dir", (root / "work/gaps").string()});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(read_tree(root / "outside") == outside);
  for (const fs::path& p :
       {root / "work/out/org_model.json", root / "work/out/org_model.validation.md",
        root / "work/gaps/lm_head.md"}) {
    INFO(p);
    CHECK(fs::is_regular_file(fs::symlink_status(p)));
    CHECK(read_file(p).find("outside") == std::string::npos);
  }
  CHECK(nlohmann::json::parse(read_file(root / "work/out/org_model.json"))["model_id"] ==
        "org_model");
}

TEST_CASE("an --out-dir that is a file fails with one line and writes nothing", "[paths]") {
  TempDir root;
  write_tiny_llama(root / "src/org__model");
  write_file(root / "work/out", "a file, not a folder\n");
  const auto before = read_tree(root.path());
  const ProcessResult r =
      run_mbuild({"emit-config", (root / "src/org__model").string(), "--out-dir",
                  (root / "work/out").string(), "--gaps-dir", (root / "work/gaps").string()});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 3);
  const auto lines = split_lines(r.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].starts_with("mbuild: error: "));
  CHECK(lines[0].find((root / "work/out").string()) != std::string::npos);
  CHECK(changes(before, root.path()) == std::vector<std::string>{});
}

}  // namespace mbuild::e2e
