// GGUF repos on the Hub through the real libcurl client against the mock Hub: the quantization
// picked as the local source picks it, ":TAG" selection, split sets read together, and what each
// header costs in ranged requests. The repos are served from files the tests write, header-only
// GGUF files (tests/gguf_writer.hpp) served at their full size with the data region zero-filled.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <set>

#include <fmt/format.h>

#include "gguf_writer.hpp"
#include "hub/mock_hub.hpp"
#include "mbuild/analysis/analysis.hpp"
#include "mbuild/model/model.hpp"
#include "mbuild/source/hub/hub_source.hpp"
#include "test_support.hpp"

using namespace mbuild;
using mbuild::test::GgufWriter;
using mbuild::test::MockHub;
using mbuild::test::RepoSpec;

namespace {

constexpr uint64_t k_mib = 1024 * 1024;

hub::HubOptions options_for(const MockHub& mock, const std::string& select = "",
                            const std::filesystem::path& cache = {}) {
  hub::HubOptions o;
  o.endpoint = mock.endpoint();
  o.cache_dir = cache;
  o.gguf_select = select;
  o.timeout = std::chrono::seconds(5);
  o.backoff_base = std::chrono::milliseconds(5);
  return o;
}

// A repo of GGUF files written into `dir` (path -> writer), each served at its full size.
RepoSpec gguf_repo(const std::string& id, const test::TempDir& dir,
                   const std::map<std::string, GgufWriter>& files) {
  RepoSpec spec;
  spec.id = id;
  spec.folder = dir.path();
  for (const auto& [path, writer] : files) {
    const std::string header = writer.header();
    dir.write(path, header);
    spec.sizes[path] = header.size() + writer.data_bytes();
  }
  return spec;
}

Result<Snapshot> read_hub(const MockHub& mock, const std::string& repo,
                          const std::string& select = "", const std::filesystem::path& cache = {}) {
  hub::HubSource source(repo, "", options_for(mock, select, cache));
  return source.snapshot();
}

Model model_of(Snapshot snap) {
  auto model = build_model(std::move(snap));
  REQUIRE(model);
  return std::move(*model);
}

// The Hub's resolve hops for a file path.
size_t hub_hops(const MockHub& mock, const std::string& path) {
  size_t n = 0;
  for (const auto& r : mock.requests()) {
    n += !r.cdn && r.path.ends_with("/" + path) ? size_t{1} : size_t{0};
  }
  return n;
}

// The CDN's ranged reads, per CDN path (one per file: /xet-bridge/<repo>/<content hash>), their
// Range headers in arrival order.
std::map<std::string, std::vector<std::string>> cdn_reads(const MockHub& mock) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& r : mock.requests()) {
    if (r.cdn) {
      out[r.path].push_back(r.range);
    }
  }
  return out;
}

// The ranges of the only file the CDN served.
std::vector<std::string> only_file_reads(const MockHub& mock) {
  const auto reads = cdn_reads(mock);
  REQUIRE(reads.size() == 1);
  return reads.begin()->second;
}

// Llama-3-8B-Instruct Q4_K_M with a vocabulary of its real size: 128,256 tokens and 280,147
// merges, padded so the header is as long as the published file's (7,836,512 bytes of metadata
// and tensor infos, node-llama-cpp's parser snapshot of a Llama-3 8B GGUF).
GgufWriter llama3_with_merges(size_t merge_width) {
  GgufWriter w = test::llama3_8b_q4_k_m();
  w.string_array("tokenizer.ggml.merges", 280'147, merge_width);
  return w;
}

}  // namespace

TEST_CASE("a GGUF-only repo with one file is read from one ranged request, params exact") {
  MockHub mock;
  test::TempDir dir;
  const GgufWriter w = llama3_with_merges(13);
  const uint64_t header_bytes = w.header().size();
  // As long as the real file's header, and within the first read.
  CHECK(header_bytes > 7'500'000);
  CHECK(header_bytes < 8 * k_mib);
  mock.add_repo(
      gguf_repo("org/Llama-3-8B-GGUF", dir, {{"Meta-Llama-3-8B-Instruct-Q4_K_M.gguf", w}}));
  auto snap = read_hub(mock, "org/Llama-3-8B-GGUF");
  REQUIRE(snap);
  REQUIRE(snap->files.size() == 1);
  CHECK(snap->files[0].name == "Meta-Llama-3-8B-Instruct-Q4_K_M.gguf");
  CHECK(snap->files[0].size == header_bytes + w.data_bytes());
  CHECK(snap->files[0].head.size() <= header_bytes);  // tensor data is not kept
  REQUIRE(snap->transfer);
  CHECK(snap->transfer->header_files == 1);
  CHECK(snap->transfer->header_reads == 1);
  CHECK(snap->transfer->requests == 3);  // the listing, the redirect hop, the read
  CHECK(hub_hops(mock, "Meta-Llama-3-8B-Instruct-Q4_K_M.gguf") == 1);  // the redirect hop
  CHECK(only_file_reads(mock) == std::vector<std::string>{"bytes=0-8388607"});

  const Model model = model_of(std::move(*snap));
  const Analysis a = analyze(model, {});
  // meta-llama/Meta-Llama-3-8B model card: 8,030,261,248 parameters.
  CHECK(a.params.total == 8'030'261'248);
  CHECK(a.params.by_dtype.at("Q4_K") == 6'498'025'472);
  CHECK(a.params.by_dtype.at("Q6_K") == 1'531'969'536);
  REQUIRE(model.config);
  CHECK(model.config->num_layers == 32);
  CHECK(model.ref.source == "hub");
}

TEST_CASE("a header past the first read takes one more read, of exactly the estimated rest") {
  MockHub mock;
  test::TempDir dir;
  // A 200k-token vocabulary with its 446k merges (GPT-OSS, Llama-4): ~12 MB of metadata.
  GgufWriter w = test::llama3_8b_q4_k_m(false);
  w.string_array("tokenizer.ggml.tokens", 201'088, 7);
  w.string_array("tokenizer.ggml.merges", 446'189, 12);
  const uint64_t header_bytes = w.header().size();
  CHECK(header_bytes > 11 * k_mib);
  mock.add_repo(gguf_repo("org/big-vocab-GGUF", dir, {{"model-Q4_K_M.gguf", w}}));
  auto snap = read_hub(mock, "org/big-vocab-GGUF");
  REQUIRE(snap);
  REQUIRE(snap->transfer);
  CHECK(snap->transfer->header_reads == 2);
  CHECK(snap->transfer->requests == 4);
  CHECK(hub_hops(mock, "model-Q4_K_M.gguf") == 1);  // the second read goes straight to the CDN
  const std::vector<std::string> ranges = only_file_reads(mock);
  REQUIRE(ranges.size() == 2);
  CHECK(ranges[0] == "bytes=0-8388607");
  CHECK(ranges[1].starts_with("bytes=8388608-"));
  const Model model = model_of(std::move(*snap));
  CHECK(analyze(model, {}).params.total == 8'030'261'248);
}

TEST_CASE("a split GGUF set reads all its parts at once, each in one request") {
  // Qwen3-30B-A3B Q4_K_M in three parts as gguf-split writes them.
  const std::vector<GgufWriter> parts = test::qwen3_30b_a3b_q4_k_m().split(3);
  std::map<std::string, GgufWriter> files;
  for (size_t i = 0; i < parts.size(); ++i) {
    files.emplace(fmt::format("Qwen3-30B-A3B-Q4_K_M-{:05}-of-00003.gguf", i + 1), parts[i]);
  }
  // Each request waits 300 ms, so reads in flight together hold a connection each: the CDN
  // sees three connections open at once only if the three parts are read together.
  MockHub mock;
  test::TempDir dir;
  mock.add_repo(gguf_repo("Qwen/Qwen3-30B-A3B-GGUF", dir, files));
  mock.update_faults([](test::Faults& f) { f.latency = std::chrono::milliseconds(300); });
  auto snap = read_hub(mock, "Qwen/Qwen3-30B-A3B-GGUF");
  REQUIRE(snap);
  CHECK(mock.connection_stats(true).peak == 3);
  REQUIRE(snap->files.size() == 3);
  REQUIRE(snap->transfer);
  CHECK(snap->transfer->header_files == 3);
  CHECK(snap->transfer->header_reads == 3);
  CHECK(snap->transfer->requests == 7);  // the listing, then a hop and a read per part
  size_t i = 0;
  for (const auto& [path, writer] : files) {
    CHECK(snap->files[i++].name == path);
    CHECK(hub_hops(mock, path) == 1);
  }
  // One read per part: the first holds the metadata, the others only their tensor infos.
  std::multiset<std::string> ranges;
  for (const auto& [cdn_path, reads] : cdn_reads(mock)) {
    CHECK(reads.size() == 1);
    ranges.insert(reads.begin(), reads.end());
  }
  CHECK(ranges ==
        std::multiset<std::string>{"bytes=0-8388607", "bytes=0-262143", "bytes=0-262143"});
  const Model model = model_of(std::move(*snap));
  CHECK(model.tensors.size() == 3 + 48 * 12);
  const Analysis a = analyze(model, {});
  // Qwen/Qwen3-30B-A3B on the Hub: 30,532,122,624 parameters.
  CHECK(a.params.total == 30'532'122'624);
  REQUIRE(a.params.active);
  CHECK(*a.params.active == 3'353'032'704);
}

TEST_CASE("a split set missing a part is not found, naming the part") {
  const std::vector<GgufWriter> parts = test::qwen3_30b_a3b_q4_k_m().split(3);
  MockHub mock;
  test::TempDir dir;
  mock.add_repo(gguf_repo(
      "org/gap-GGUF", dir,
      {{"m-Q4_K_M-00001-of-00003.gguf", parts[0]}, {"m-Q4_K_M-00003-of-00003.gguf", parts[2]}}));
  auto snap = read_hub(mock, "org/gap-GGUF");
  REQUIRE_FALSE(snap);
  CHECK(snap.error().kind == ErrorKind::not_found);
  CHECK(snap.error().message() ==
        "org/gap-GGUF/m-Q4_K_M-00002-of-00003.gguf: part 2 of the 3-part GGUF set is not in the "
        "repo");
  CHECK(mock.request_count() == 1);  // the listing only
}

TEST_CASE("org/name:TAG picks one quantization, and none asked for or none matching is an error") {
  MockHub mock;
  test::TempDir dir;
  const GgufWriter q4 = test::llama3_8b_q4_k_m();
  const std::vector<GgufWriter> q6 = q4.split(2);  // a split set in a folder of its own
  mock.add_repo(gguf_repo("org/Llama-3-8B-GGUF", dir,
                          {{"Meta-Llama-3-8B-Instruct-Q4_K_M.gguf", q4},
                           {"Meta-Llama-3-8B-Instruct-Q8_0.gguf", q4},
                           {"Q6_K/Meta-Llama-3-8B-Instruct-Q6_K-00001-of-00002.gguf", q6[0]},
                           {"Q6_K/Meta-Llama-3-8B-Instruct-Q6_K-00002-of-00002.gguf", q6[1]},
                           {"mmproj-Meta-Llama-3-8B-F16.gguf", q4}}));

  SECTION("a tag, in any case, reads that quantization's files only") {
    auto snap = read_hub(mock, "org/Llama-3-8B-GGUF", "q8_0");
    REQUIRE(snap);
    REQUIRE(snap->files.size() == 1);
    CHECK(snap->files[0].name == "Meta-Llama-3-8B-Instruct-Q8_0.gguf");
    CHECK(hub_hops(mock, "Meta-Llama-3-8B-Instruct-Q4_K_M.gguf") == 0);
  }
  SECTION("a split set in a folder is read whole") {
    auto snap = read_hub(mock, "org/Llama-3-8B-GGUF", "Q6_K");
    REQUIRE(snap);
    REQUIRE(snap->files.size() == 2);
    CHECK(snap->files[0].name == "Q6_K/Meta-Llama-3-8B-Instruct-Q6_K-00001-of-00002.gguf");
    CHECK(analyze(model_of(std::move(*snap)), {}).params.total == 8'030'261'248);
  }
  SECTION("several quantizations and no tag: a usage error listing the tags") {
    auto snap = read_hub(mock, "org/Llama-3-8B-GGUF");
    REQUIRE_FALSE(snap);
    CHECK(snap.error().kind == ErrorKind::usage);
    CHECK(snap.error().message() ==
          "org/Llama-3-8B-GGUF: holds 3 GGUF quantizations: Q4_K_M, Q6_K, Q8_0 (pick one as "
          "org/Llama-3-8B-GGUF:Q4_K_M or with --file)");
    CHECK(mock.request_count() == 1);  // the listing only
  }
  SECTION("a tag that matches nothing: not found, listing the tags") {
    auto snap = read_hub(mock, "org/Llama-3-8B-GGUF", "Q5_K_M");
    REQUIRE_FALSE(snap);
    CHECK(snap.error().kind == ErrorKind::not_found);
    CHECK(snap.error().message() ==
          "org/Llama-3-8B-GGUF: no GGUF quantization matches 'Q5_K_M' (available: Q4_K_M, "
          "Q6_K, Q8_0)");
  }
}

TEST_CASE("a tag on a repo without GGUF files is not found, not ignored") {
  MockHub mock;
  mock.add_repo(test::corpus_repo(test::corpus_dir() / "meta-llama__Llama-3.2-1B-Instruct"));
  hub::HubSource source("meta-llama/Llama-3.2-1B-Instruct", "", options_for(mock, "Q4_K_M"));
  auto snap = source.snapshot();
  REQUIRE_FALSE(snap);
  CHECK(snap.error().kind == ErrorKind::not_found);
  CHECK(snap.error().message().find("the repo holds no GGUF files") != std::string::npos);
}

TEST_CASE("the cache keeps each quantization of a commit apart") {
  MockHub mock;
  test::TempDir dir, cache;
  GgufWriter q8 = test::llama3_8b_q4_k_m(false);
  q8.str("general.description", "the Q8_0 one");
  mock.add_repo(gguf_repo("org/m-GGUF", dir,
                          {{"m-Q4_K_M.gguf", test::llama3_8b_q4_k_m(false)}, {"m-Q8_0.gguf", q8}}));
  auto q4_read = read_hub(mock, "org/m-GGUF", "Q4_K_M", cache.path());
  REQUIRE(q4_read);
  auto q8_read = read_hub(mock, "org/m-GGUF", "Q8_0", cache.path());
  INFO((q8_read ? "" : q8_read.error().message()));
  REQUIRE(q8_read);
  REQUIRE(q8_read->files.size() == 1);
  CHECK(q8_read->files[0].name == "m-Q8_0.gguf");
  // Pinned to the commit, each is answered from the cache with no request.
  const std::string commit = mock.commit_of("org/m-GGUF", "main");
  mock.clear_requests();
  const std::vector<std::pair<std::string, std::string>> picks = {{"q4_k_m", "m-Q4_K_M.gguf"},
                                                                  {"Q8_0", "m-Q8_0.gguf"}};
  for (const auto& [tag, file] : picks) {
    hub::HubSource pinned("org/m-GGUF", commit, options_for(mock, tag, cache.path()));
    auto snap = pinned.snapshot();
    REQUIRE(snap);
    REQUIRE(snap->files.size() == 1);
    CHECK(snap->files[0].name == file);
  }
  CHECK(mock.request_count() == 0);
}
