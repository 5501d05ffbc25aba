// Paths from the Hub side, through the real binary and the mock Hub (issue #6, paths): Hub ids
// and revisions are validated before any request; shard names from a Hub index's weight_map or
// from the repo listing never leave the repo; every write stays inside mbuild's cache or the
// output folders, and an emitted model_id never escapes --out-dir.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "e2e/fixtures.hpp"
#include "e2e/process.hpp"
#include "hub/mock_hub.hpp"

using namespace mbuild::e2e;
using mbuild::test::MockHub;
using mbuild::test::RepoSpec;
namespace fs = std::filesystem;

namespace {

// A root holding the working folder and mbuild's cache, so that "nothing was written outside"
// is one comparison of read_tree(root) before and after.
struct Sandbox {
  TempDir root;
  fs::path work = root / "work";
  fs::path cache = root / "cache";
  Sandbox() { fs::create_directories(work); }

  ProcessEnvironment env(const MockHub& mock) const {
    return base_environment()
        .unset("HF_HUB_OFFLINE")
        .set("HF_ENDPOINT", mock.endpoint())
        .set("MBUILD_CACHE", cache.string());
  }
};

// The tiny Llama as in-memory repo files: config.json plus `weights` (file name -> tensors).
RepoSpec tiny_repo(const std::string& id) {
  RepoSpec spec;
  spec.id = id;
  spec.files["config.json"] = tiny_llama_config().dump(2);
  spec.files["model.safetensors"] = safetensors_file(header_for(tiny_llama_tensors()));
  return spec;
}

// An index sending every tiny-Llama tensor to `shard`, with a good shard beside it in the repo.
RepoSpec repo_with_index_naming(const std::string& id, const std::string& shard) {
  RepoSpec spec;
  spec.id = id;
  spec.files["config.json"] = tiny_llama_config().dump(2);
  nlohmann::ordered_json index = {{"metadata", {{"total_size", 4 * tiny_llama_total()}}},
                                  {"weight_map", nlohmann::ordered_json::object()}};
  for (const TensorSpec& t : tiny_llama_tensors()) {
    index["weight_map"][t.name] = shard;
  }
  spec.files["model.safetensors.index.json"] = index.dump(2);
  spec.files["model-00001-of-00001.safetensors"] =
      safetensors_file(header_for(tiny_llama_tensors()));
  return spec;
}

// Requests whose raw path holds any of `fragments` (case-insensitive for percent-encodings).
std::vector<std::string> requests_naming(const MockHub& mock,
                                         const std::vector<std::string>& fragments) {
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
  };
  std::vector<std::string> out;
  for (const auto& rec : mock.requests()) {
    for (const std::string& f : fragments) {
      if (lower(rec.path).find(lower(f)) != std::string::npos) {
        out.push_back(rec.method + " " + rec.host + rec.path);
        break;
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("bad Hub ids and revisions exit 2 or 4 with one line and make no request") {
  MockHub mock;
  mock.add_repo(tiny_repo("org/name"));
  struct Case {
    std::string name;
    std::vector<std::string> args;  // after "inspect"
    int code;
  };
  const std::string long_part(97, 'a');
  const std::string huge(100'000, 'b');
  // Path-like specs that are no file or folder exit 4 (not found); anything else that is not
  // org/name[@revision] is a usage error, 2 (README "Exit codes").
  const std::vector<Case> cases = {
      {"parent traversal", {"../x"}, 4},
      {"deep parent traversal", {"../../../../../../tmp/x"}, 4},
      {"absolute path", {"/abs"}, 4},
      {"absolute org/name", {"/org/name"}, 4},
      {"dot-dot name", {"org/.."}, 2},
      {"dot-dot org", {"../name"}, 4},
      {"dot-dot inside a part", {"org/a..b"}, 2},
      {"dot-dot segment after a part", {"org/name/../x"}, 2},
      {"three parts", {"a/b/c"}, 2},
      {"trailing slash", {"org/name/"}, 2},
      {"empty part", {"org//name"}, 2},
      {"one part", {"name"}, 2},
      {"space", {"org/na me"}, 2},
      {"percent-encoded slash and dots", {"org%2F..%2Fx"}, 2},
      {"percent-encoded dots", {"org/%2e%2e"}, 2},
      {"percent-encoded traversal in the org", {"%2e%2e/x"}, 2},
      {"backslash separator", {"org\\name"}, 2},
      {"backslash traversal", {"org/..\\..\\x"}, 2},
      {"a part over 96 characters", {"org/" + long_part}, 2},
      {"a 100,000-character id", {"org/" + huge}, 2},
      {"fullwidth letter",
       {"org/na\xef\xbd\x8d"
        "e"},
       2},
      {"cyrillic look-alike", {"org/n\xd0\xb0me"}, 2},
      {"zero-width space", {"org/name\xe2\x80\x8b"}, 2},
      {"fullwidth solidus as the separator", {"org\xef\xbc\x8fname"}, 2},
      {"newline", {"org/na\nme"}, 2},
      {"terminal escape", {"org/na\x1b[31mme"}, 2},
      {"leading dot in the name", {"org/.hidden"}, 2},
      {"trailing dot", {"org/name."}, 2},
      {"double dash (the cache folder's separator)", {"org--x/name"}, 2},
      {"double dash in the name", {"org/na--me"}, 2},
      {".git suffix", {"org/name.git"}, 2},
      {"revision: parent traversal", {"org/name@../../../../escape"}, 2},
      {"revision: traversal after refs/", {"org/name@refs/../../x"}, 2},
      {"revision: absolute", {"org/name@/etc/x"}, 2},
      {"revision: empty", {"org/name@"}, 2},
      {"revision: space", {"org/name@a b"}, 2},
      {"revision: newline", {"org/name@main\nx"}, 2},
      {"revision: backslash", {"org/name@..\\x"}, 2},
      {"revision: dot component", {"org/name@refs/./x"}, 2},
      {"revision: .lock component", {"org/name@main.lock"}, 2},
      {"--revision: parent traversal", {"org/name", "--revision", "../../../escape"}, 2},
      {"--revision: absolute", {"org/name", "--revision", "/tmp/escape"}, 2},
  };
  for (const Case& c : cases) {
    for (const std::string command : {"inspect", "emit-config"}) {
      // Every command opens its sources the same way: emit-config, the one that writes, repeats
      // the cases that point somewhere on disk.
      const std::string& spec = c.args[0];
      if (command == "emit-config" && spec.find("..") == std::string::npos &&
          !spec.starts_with("/") && c.args.size() == 1) {
        continue;
      }
      INFO(command << ": " << c.name);
      Sandbox box;
      const auto before = read_tree(box.root.path());
      mock.clear_requests();
      std::vector<std::string> args = {command};
      args.insert(args.end(), c.args.begin(), c.args.end());
      const ProcessResult r = run_mbuild(args, box.env(mock), box.work);
      INFO("stderr: " << r.err);
      CHECK(r.exit_code == c.code);
      CHECK(r.out.empty());
      const auto lines = split_lines(r.err);
      CHECK(lines.size() == 1);
      const std::string first = lines.empty() ? std::string() : lines[0];
      CHECK(first.starts_with("mbuild: error: "));
      CHECK_FALSE(has_control_characters(r.err));
      CHECK(r.err.size() < 1000);  // a huge id is cut short in the message
      CHECK(mock.request_count() == 0);
      CHECK(read_tree(box.root.path()) == before);
    }
  }
}

TEST_CASE("valid unusual Hub ids and revisions are accepted and stay inside cache and out-dir") {
  MockHub mock;
  RepoSpec unusual = tiny_repo("A-b.c_9/_x.Y-z_1.0");
  unusual.branches = {{"main", ""}, {"feature/v1.2_x", ""}};
  unusual.prs = {{3, ""}};
  mock.add_repo(unusual);
  for (const std::string spec : {"A-b.c_9/_x.Y-z_1.0", "A-b.c_9/_x.Y-z_1.0@feature/v1.2_x",
                                 "A-b.c_9/_x.Y-z_1.0@refs/pr/3"}) {
    INFO(spec);
    Sandbox box;
    const ProcessResult r = run_mbuild(
        {"emit-config", spec, "--out-dir", "out", "--gaps-dir", "gaps"}, box.env(mock), box.work);
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(list_dir(box.work / "out") ==
          std::vector<std::string>{"A-b.c_9__x.Y-z_1.0.json", "A-b.c_9__x.Y-z_1.0.validation.md"});
    // Everything written is in the cache, out/ or gaps/.
    for (const auto& [path, content] : read_tree(box.root.path())) {
      INFO(path);
      CHECK((path == "cache" || path == "work" || path.starts_with("cache/") ||
             path.starts_with("work/out") || path.starts_with("work/gaps")));
    }
    for (const auto& entry : fs::recursive_directory_iterator(box.cache)) {
      const std::string rel = entry.path().lexically_relative(box.cache).generic_string();
      CHECK(rel.find("..") == std::string::npos);
    }
  }
}

TEST_CASE("a Hub index whose weight_map leaves the repo exits 3 naming it and fetches nothing") {
  MockHub mock;
  // Without the check these would be fetched: the good shard's bytes sit where each leads.
  const std::vector<std::string> bad = {"../evil.safetensors",
                                        "/etc/passwd",
                                        "http://x/y.safetensors",
                                        "https://127.0.0.1:9/y.safetensors",
                                        "file:///etc/passwd",
                                        "a/../../b.safetensors",
                                        "sub/../../../../c.safetensors",
                                        "C:\\x.safetensors",
                                        "\\\\server\\share\\x.safetensors",
                                        "..",
                                        "."};
  for (const std::string& shard : bad) {
    const std::string id = "org/bad-index";
    RepoSpec spec = repo_with_index_naming(id, shard);
    spec.files["evil.safetensors"] = spec.files["model-00001-of-00001.safetensors"];
    mock.add_repo(spec);
    for (const std::string command : {"inspect", "validate", "emit-config"}) {
      INFO(command << " with weight_map naming '" << shard << "'");
      Sandbox box;
      mock.clear_requests();
      std::vector<std::string> args = {command, id};
      if (command == "emit-config") {
        args.insert(args.end(), {"--out-dir", "out", "--gaps-dir", "gaps"});
      }
      const ProcessResult r = run_mbuild(args, box.env(mock), box.work);
      INFO("stderr: " << r.err);
      CHECK(r.exit_code == 3);
      const auto lines = split_lines(r.err);
      CHECK(lines.size() == 1);
      const std::string first = lines.empty() ? std::string() : lines[0];
      CHECK(first.starts_with("mbuild: error: "));
      CHECK(first.find("model.safetensors.index.json") != std::string::npos);
      CHECK(first.find("shard name") != std::string::npos);
      CHECK(requests_naming(mock, {"evil", "passwd", "y.safetensors", "b.safetensors",
                                   "c.safetensors", "x.safetensors", "/..", "%2e%2e"}) ==
            std::vector<std::string>{});
      CHECK_FALSE(fs::exists(box.work / "out"));
      CHECK_FALSE(fs::exists(box.work / "gaps"));
      CHECK_FALSE(fs::exists(box.root / "evil.safetensors"));
    }
  }
}

TEST_CASE("unsafe names in the Hub's file listing are never fetched") {
  MockHub mock;
  RepoSpec spec;
  spec.id = "org/listing";
  spec.files["config.json"] = tiny_llama_config().dump(2);
  const std::string weights = safetensors_file(header_for(tiny_llama_tensors()));
  spec.files["good.safetensors"] = weights;
  spec.files["../up.safetensors"] = weights;
  spec.files["/abs.safetensors"] = weights;
  spec.files["sub/../../twice.safetensors"] = weights;
  mock.add_repo(spec);
  Sandbox box;
  const ProcessResult r =
      run_mbuild({"inspect", "org/listing", "--format", "json"}, box.env(mock), box.work);
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["params"]["total"] == tiny_llama_total());
  REQUIRE(doc["files"].size() == 1);
  CHECK(doc["files"][0]["name"] == "good.safetensors");
  CHECK(requests_naming(mock, {"up.safetensors", "abs.safetensors", "twice.safetensors", "/..",
                               "%2e%2e"}) == std::vector<std::string>{});
  for (const auto& [path, content] : read_tree(box.root.path())) {
    CHECK((path == "cache" || path == "work" || path.starts_with("cache/")));
  }
}
