// Local sources: model folders, single files and the HF cache layout (HUB_PROTOCOL.md §4, §5).
#include "mbuild/source/local_source.hpp"

#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "mbuild/model/model.hpp"
#include "test_support.hpp"

using namespace mbuild;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view k_config = R"({"model_type":"llama","hidden_size":4})";

// A complete safetensors file (header + data region) holding one F32 [2, 2] tensor.
std::string small_safetensors(const std::string& tensor = "w") {
  return test::safetensors_bytes(test::header_json({{tensor, "F32", {2, 2}}})) +
         std::string(16, '\0');
}

Snapshot snapshot_of(ModelSource& source) {
  auto snap = source.snapshot();
  if (!snap) {
    FAIL("snapshot failed: " << snap.error().message());
  }
  return std::move(*snap);
}

constexpr const char* k_commit = "0123456789abcdef0123456789abcdef01234567";
constexpr const char* k_other_commit = "fedcba9876543210fedcba9876543210fedcba98";

// An HF cache holding models--org--name with refs/main -> k_commit, whose snapshot links
// config.json and model.safetensors to blobs (as huggingface_hub writes them).
struct HfCache {
  test::TempDir dir;
  fs::path repo = dir.path() / "models--org--name";

  HfCache() {
    const std::string config_blob(40, 'c');
    const std::string weights_blob(64, 'e');
    dir.write("models--org--name/blobs/" + config_blob, k_config);
    dir.write("models--org--name/blobs/" + weights_blob, small_safetensors());
    dir.write("models--org--name/refs/main", k_commit);  // no trailing newline
    const fs::path snapshot = repo / "snapshots" / k_commit;
    fs::create_directories(snapshot);
    fs::create_symlink("../../blobs/" + config_blob, snapshot / "config.json");
    fs::create_symlink("../../blobs/" + weights_blob, snapshot / "model.safetensors");
  }
};

}  // namespace

TEST_CASE("a local folder with model.safetensors gives one weight file and the config") {
  test::TempDir dir;
  dir.write("config.json", k_config);
  const std::string weights = small_safetensors();
  dir.write("model.safetensors", weights);
  LocalFolderSource source(dir.path());
  Snapshot snap = snapshot_of(source);
  CHECK(snap.ref.source == "local");
  CHECK(snap.ref.id == dir.path().filename().string());
  REQUIRE(snap.config_json);
  CHECK(*snap.config_json == k_config);
  CHECK_FALSE(snap.index);
  REQUIRE(snap.files.size() == 1);
  CHECK(snap.files[0].name == "model.safetensors");
  CHECK(snap.files[0].size == weights.size());
  CHECK(snap.files[0].head.size() == weights.size() - 16);  // 8 + N only
  CHECK(snap.other_weights.empty());
  CHECK(snap.findings.empty());

  auto model = build_model(std::move(snap));
  REQUIRE(model);
  CHECK(model->tensors.size() == 1);
  CHECK(model->findings.empty());  // the data region is present: no header-only note
}

TEST_CASE("a local folder with an index reads every shard it names") {
  test::TempDir dir;
  dir.write("config.json", k_config);
  dir.write("model.safetensors.index.json", R"({"metadata":{"total_size":32},"weight_map":{
    "a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}})");
  dir.write("model-00001-of-00002.safetensors", small_safetensors("a"));
  dir.write("model-00002-of-00002.safetensors", small_safetensors("b"));
  LocalFolderSource source(dir.path(), "org/sharded");
  Snapshot snap = snapshot_of(source);
  CHECK(snap.ref.id == "org/sharded");
  REQUIRE(snap.index);
  CHECK(snap.index->shards.size() == 2);
  REQUIRE(snap.files.size() == 2);
  CHECK(snap.files[0].name == "model-00001-of-00002.safetensors");
  CHECK(snap.files[1].name == "model-00002-of-00002.safetensors");
  auto model = build_model(std::move(snap));
  REQUIRE(model);
  CHECK(model->findings.empty());
}

TEST_CASE("an index naming a missing shard is bad input naming the index") {
  test::TempDir dir;
  dir.write("config.json", k_config);
  dir.write("model.safetensors.index.json", R"({"weight_map":{
    "a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}})");
  dir.write("model-00001-of-00002.safetensors", small_safetensors("a"));
  LocalFolderSource source(dir.path());
  auto snap = source.snapshot();
  REQUIRE_FALSE(snap);
  CHECK(snap.error().kind == ErrorKind::bad_input);
  CHECK(snap.error().what == (dir.path() / "model.safetensors.index.json").string());
  CHECK(snap.error().why.find("'model-00002-of-00002.safetensors'") != std::string::npos);
}

TEST_CASE("a malformed shard in a local folder is bad input naming the file") {
  test::TempDir dir;
  dir.write("model.safetensors", std::string("\x02\0\0\0", 4));
  LocalFolderSource source(dir.path());
  auto snap = source.snapshot();
  REQUIRE_FALSE(snap);
  CHECK(snap.error().kind == ErrorKind::bad_input);
  CHECK(snap.error().what == (dir.path() / "model.safetensors").string());
}

TEST_CASE("a folder with only pytorch_model.bin has no weight files and lists it") {
  test::TempDir dir;
  dir.write("config.json", k_config);
  dir.write("pytorch_model.bin", "PK\x03\x04 not really a zip");
  LocalFolderSource source(dir.path());
  Snapshot snap = snapshot_of(source);
  CHECK(snap.files.empty());
  CHECK(snap.other_weights == std::vector<std::string>{"pytorch_model.bin"});
  CHECK(snap.config_json.has_value());
}

TEST_CASE("a folder with both model.safetensors and consolidated.safetensors counts one") {
  test::TempDir dir;
  dir.write("config.json", k_config);
  dir.write("params.json", "{}");
  dir.write("model.safetensors", small_safetensors("model.layers.0.w"));
  dir.write("consolidated.safetensors", small_safetensors("layers.0.w"));
  LocalFolderSource source(dir.path());
  Snapshot snap = snapshot_of(source);
  REQUIRE(snap.files.size() == 1);
  CHECK(snap.files[0].name == "model.safetensors");
  REQUIRE(snap.findings.size() == 1);
  CHECK(snap.findings[0].severity == Severity::info);
  CHECK(snap.findings[0].text.find("consolidated") != std::string::npos);
}

TEST_CASE("a folder with only the Mistral layout reads consolidated.safetensors") {
  test::TempDir dir;
  dir.write("params.json", "{}");
  dir.write("consolidated.safetensors", small_safetensors("layers.0.w"));
  LocalFolderSource source(dir.path());
  Snapshot snap = snapshot_of(source);
  REQUIRE(snap.files.size() == 1);
  CHECK(snap.files[0].name == "consolidated.safetensors");
  CHECK(snap.findings.empty());
}

TEST_CASE("a diffusers folder reads the transformer subfolder") {
  test::TempDir dir;
  dir.write("model_index.json", R"({"_class_name":"FluxPipeline"})");
  dir.write("transformer/config.json", R"({"_class_name":"FluxTransformer2DModel"})");
  dir.write("transformer/diffusion_pytorch_model.safetensors", small_safetensors());
  LocalFolderSource source(dir.path());
  Snapshot snap = snapshot_of(source);
  CHECK(snap.config_name == "transformer/config.json");
  REQUIRE(snap.files.size() == 1);
  CHECK(snap.files[0].name == "transformer/diffusion_pytorch_model.safetensors");
}

TEST_CASE("a folder without config.json or safetensors is not found") {
  test::TempDir dir;
  dir.write("README.md", "# nothing here");
  LocalFolderSource empty(dir.path());
  auto snap = empty.snapshot();
  REQUIRE_FALSE(snap);
  CHECK(snap.error().kind == ErrorKind::not_found);

  LocalFolderSource missing(dir.path() / "absent");
  auto none = missing.snapshot();
  REQUIRE_FALSE(none);
  CHECK(none.error().kind == ErrorKind::not_found);
}

TEST_CASE("a single .safetensors file is read on its own") {
  test::TempDir dir;
  const fs::path file = dir.write("weights/tiny.safetensors", small_safetensors());
  LocalFileSource source(file);
  Snapshot snap = snapshot_of(source);
  CHECK(snap.ref.id == "tiny");
  CHECK(snap.ref.source == "local");
  CHECK_FALSE(snap.config_json);
  REQUIRE(snap.files.size() == 1);
  CHECK(snap.files[0].name == file.string());
  auto model = build_model(std::move(snap));
  REQUIRE(model);
  CHECK(model->tensors.size() == 1);
}

TEST_CASE("a single .safetensors file picks up the config.json beside it") {
  test::TempDir dir;
  dir.write("config.json", k_config);
  const fs::path file = dir.write("model.safetensors", small_safetensors());
  LocalFileSource source(file);
  Snapshot snap = snapshot_of(source);
  REQUIRE(snap.config_json);
  REQUIRE(snap.findings.size() == 1);
  CHECK(snap.findings[0].severity == Severity::info);
}

TEST_CASE("a missing single file is not found") {
  test::TempDir dir;
  LocalFileSource source(dir.path() / "absent.safetensors");
  auto snap = source.snapshot();
  REQUIRE_FALSE(snap);
  CHECK(snap.error().kind == ErrorKind::not_found);
}

TEST_CASE("the HF cache resolves refs/main to its snapshot folder") {
  HfCache cache;
  std::string commit;
  auto folder = resolve_hf_cache(cache.dir.path(), "org/name", "main", commit);
  REQUIRE(folder);
  CHECK(*folder == cache.repo / "snapshots" / k_commit);
  CHECK(commit == k_commit);
  // An empty revision means main.
  std::string again;
  auto main_folder = resolve_hf_cache(cache.dir.path(), "org/name", "", again);
  REQUIRE(main_folder);
  CHECK(again == k_commit);
}

TEST_CASE("an HF cache snapshot is read through its blob symlinks") {
  HfCache cache;
  std::string commit;
  auto folder = resolve_hf_cache(cache.dir.path(), "org/name", "main", commit);
  REQUIRE(folder);
  LocalFolderSource source(*folder, "org/name");
  Snapshot snap = snapshot_of(source);
  REQUIRE(snap.config_json);
  CHECK(*snap.config_json == k_config);
  REQUIRE(snap.files.size() == 1);
  CHECK(snap.files[0].size == small_safetensors().size());
  auto model = build_model(std::move(snap));
  REQUIRE(model);
  CHECK(model->tensors.size() == 1);
}

TEST_CASE("a 40-hex revision goes straight to snapshots/") {
  HfCache cache;
  fs::create_directories(cache.repo / "snapshots" / k_other_commit);
  std::string commit;
  auto folder = resolve_hf_cache(cache.dir.path(), "org/name", k_other_commit, commit);
  REQUIRE(folder);
  CHECK(*folder == cache.repo / "snapshots" / k_other_commit);
  CHECK(commit == k_other_commit);
}

TEST_CASE("a PR revision is read from the nested refs/refs/pr/N file") {
  HfCache cache;
  cache.dir.write("models--org--name/refs/refs/pr/1", k_other_commit);
  fs::create_directories(cache.repo / "snapshots" / k_other_commit);
  std::string commit;
  auto folder = resolve_hf_cache(cache.dir.path(), "org/name", "refs/pr/1", commit);
  REQUIRE(folder);
  CHECK(commit == k_other_commit);
}

TEST_CASE("a ref with a trailing newline is accepted") {
  HfCache cache;
  cache.dir.write("models--org--name/refs/v1.0", std::string(k_commit) + "\n");
  std::string commit;
  auto folder = resolve_hf_cache(cache.dir.path(), "org/name", "v1.0", commit);
  REQUIRE(folder);
  CHECK(commit == k_commit);
}

TEST_CASE("a ref that does not hold a commit is bad input") {
  HfCache cache;
  cache.dir.write("models--org--name/refs/broken", "not a commit");
  std::string commit;
  auto folder = resolve_hf_cache(cache.dir.path(), "org/name", "broken", commit);
  REQUIRE_FALSE(folder);
  CHECK(folder.error().kind == ErrorKind::bad_input);
}

TEST_CASE("a repo, ref or snapshot missing from the HF cache is an offline miss") {
  HfCache cache;
  std::string commit;
  SECTION("repo") {
    auto folder = resolve_hf_cache(cache.dir.path(), "org/other", "main", commit);
    REQUIRE_FALSE(folder);
    CHECK(folder.error().kind == ErrorKind::network);
    CHECK(folder.error().what == "org/other");
  }
  SECTION("ref") {
    auto folder = resolve_hf_cache(cache.dir.path(), "org/name", "dev", commit);
    REQUIRE_FALSE(folder);
    CHECK(folder.error().kind == ErrorKind::network);
    CHECK(folder.error().why.find("'dev'") != std::string::npos);
  }
  SECTION("snapshot of a ref") {
    cache.dir.write("models--org--name/refs/stale", k_other_commit);
    auto folder = resolve_hf_cache(cache.dir.path(), "org/name", "stale", commit);
    REQUIRE_FALSE(folder);
    CHECK(folder.error().kind == ErrorKind::network);
    CHECK(folder.error().why.find(k_other_commit) != std::string::npos);
  }
  SECTION("snapshot of a 40-hex revision") {
    auto folder = resolve_hf_cache(cache.dir.path(), "org/name", k_other_commit, commit);
    REQUIRE_FALSE(folder);
    CHECK(folder.error().kind == ErrorKind::network);
  }
}

TEST_CASE("errors from a folder given by a relative path name each file once") {
  test::TempDir dir;
  const fs::path relative = fs::relative(dir.path(), fs::current_path());
  REQUIRE(relative.is_relative());
  SECTION("a folder with nothing to read") {
    LocalFolderSource source(relative);
    auto snap = source.snapshot();
    REQUIRE_FALSE(snap);
    CHECK(snap.error().kind == ErrorKind::not_found);
    CHECK(snap.error().what == relative.string());
  }
  SECTION("a config.json that is a folder") {
    fs::create_directories(dir.path() / "config.json");
    LocalFolderSource source(relative);
    auto snap = source.snapshot();
    REQUIRE_FALSE(snap);
    CHECK(snap.error().what == (relative / "config.json").string());
  }
  SECTION("a shard the index names, relative to the folder") {
    dir.write("model.safetensors.index.json", R"({"weight_map":{"a":"absent.safetensors"}})");
    LocalFolderSource source(relative);
    auto snap = source.snapshot();
    REQUIRE_FALSE(snap);
    CHECK(snap.error().what == (relative / "model.safetensors.index.json").string());
  }
}
