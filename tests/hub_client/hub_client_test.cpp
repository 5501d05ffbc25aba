// The real libcurl client against the mock Hub on 127.0.0.1 (CDN on 127.0.0.2).
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "hub/mock_hub.hpp"
#include "mbuild/analysis/analysis.hpp"
#include "mbuild/render/render.hpp"
#include "mbuild/source/hub/hub_source.hpp"
#include "mbuild/source/local_source.hpp"
#include "source/hub/http.hpp"
#include "test_support.hpp"

using namespace mbuild;
using mbuild::test::MockHub;
using mbuild::test::RepoSpec;

namespace {

hub::HubOptions options_for(const MockHub& mock, const std::filesystem::path& cache = {}) {
  hub::HubOptions o;
  o.endpoint = mock.endpoint();
  o.cache_dir = cache;
  o.timeout = std::chrono::seconds(5);
  o.backoff_base = std::chrono::milliseconds(5);
  return o;
}

// Reads `repo` at `rev` through the real client; options default to the mock's, uncached.
Result<Model> fetch(const MockHub& mock, const std::string& repo, const std::string& rev = "",
                    std::optional<hub::HubOptions> o = std::nullopt) {
  hub::HubSource source(repo, rev, o ? std::move(*o) : options_for(mock));
  auto snap = source.snapshot();
  if (!snap) {
    return tl::unexpected(snap.error());
  }
  return build_model(std::move(*snap));
}

Model local(const std::string& folder) {
  LocalFolderSource source(test::corpus_dir() / folder);
  auto snap = source.snapshot();
  REQUIRE(snap);
  auto model = build_model(std::move(*snap));
  REQUIRE(model);
  return std::move(*model);
}

// The parts of `inspect --format json` that describe the model rather than where it came from.
nlohmann::json comparable(const Model& model) {
  auto j = nlohmann::json::parse(render_inspect_json(model, analyze(model, {})));
  j.erase("model");
  j.erase("warnings");
  for (auto& f : j["files"]) {
    f.erase("size");  // a header-only replica on disk is shorter than the file the Hub serves
  }
  return j;
}

size_t count_requests(const MockHub& mock, bool cdn) {
  auto log = mock.requests();
  return static_cast<size_t>(
      std::count_if(log.begin(), log.end(), [&](const auto& r) { return r.cdn == cdn; }));
}

std::string id_of(const std::string& folder) {
  std::string id = folder;
  id.replace(id.find("__"), 2, "/");
  return id;
}

}  // namespace

TEST_CASE("every corpus model reads the same from the Hub as from its folder") {
  MockHub mock;
  for (const auto& entry : test::truth()) {
    mock.add_repo(test::corpus_repo(test::corpus_dir() / entry["folder"].get<std::string>()));
  }
  for (const auto& entry : test::truth()) {
    const std::string folder = entry["folder"];
    DYNAMIC_SECTION(folder) {
      auto remote = fetch(mock, id_of(folder));
      REQUIRE(remote);
      Model from_disk = local(folder);
      CHECK(comparable(*remote) == comparable(from_disk));
      CHECK(remote->ref.commit == mock.commit_of(id_of(folder), "main"));
      CHECK(remote->ref.source == "hub");
      for (const WeightFileInfo& f : remote->files) {
        CHECK(f.size == *mock.served_size(id_of(folder), f.name));
      }
    }
  }
}

TEST_CASE("headers are read with one ranged GET per file, all shards in flight together") {
  MockHub mock;
  mock.add_repo(test::corpus_repo(test::corpus_dir() / "Qwen__Qwen3-8B"));
  auto model = fetch(mock, "Qwen/Qwen3-8B");
  REQUIRE(model);
  size_t cdn_gets = 0;
  for (const auto& r : mock.requests()) {
    if (r.cdn) {
      ++cdn_gets;
      CHECK(r.method == "GET");
      CHECK(r.range.starts_with("bytes=0-"));
      CHECK(r.accept_encoding.empty());  // no Accept-Encoding on ranged GETs
      CHECK(r.user_agent.starts_with("mbuild/"));
    }
  }
  CHECK(cdn_gets == 4);  // four shards, one read each
}

TEST_CASE("a header longer than the speculative range is completed by a second read") {
  MockHub mock;
  // One tensor name padded to 700 KB makes a header longer than the 512 KiB first read.
  std::string long_name(700'000, 'w');
  std::string header = test::header_json({{long_name, "F32", {2, 2}}, {"b", "F32", {4}}});
  RepoSpec spec;
  spec.id = "org/long-header";
  spec.files["model.safetensors"] = test::safetensors_bytes(header);
  mock.add_repo(spec);
  auto model = fetch(mock, "org/long-header");
  REQUIRE(model);
  CHECK(model->tensors.size() == 2);
  size_t cdn_reads = count_requests(mock, true);
  CHECK(cdn_reads == 2);
}

TEST_CASE("revisions: branch, tag, full sha, refs/pr/N and an unknown revision") {
  MockHub mock;
  RepoSpec spec = test::corpus_repo(test::corpus_dir() / "meta-llama__Llama-3.2-1B-Instruct");
  spec.branches = {{"main", ""}, {"dev", ""}};
  spec.tags = {{"v1.0", ""}};
  spec.prs = {{1, ""}};
  mock.add_repo(spec);
  const std::string repo = "meta-llama/Llama-3.2-1B-Instruct";
  for (std::string rev : {"main", "dev", "v1.0", "refs/pr/1"}) {
    DYNAMIC_SECTION(rev) {
      auto model = fetch(mock, repo, rev);
      REQUIRE(model);
      CHECK(model->ref.commit == mock.commit_of(repo, rev));
      CHECK(model->ref.revision == rev);
    }
  }
  const std::string sha = mock.commit_of(repo, "dev");
  auto pinned = fetch(mock, repo, sha);
  REQUIRE(pinned);
  CHECK(pinned->ref.commit == sha);

  auto missing = fetch(mock, repo, "no-such-branch");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::not_found);
  CHECK(missing.error().message().find("revision 'no-such-branch' not found") != std::string::npos);
}

TEST_CASE("gated, private and missing repos map to exit codes 5 and 4 with hints") {
  MockHub mock;
  RepoSpec gated = test::corpus_repo(test::corpus_dir() / "meta-llama__Llama-3.2-1B-Instruct");
  gated.access = RepoSpec::Access::gated;
  gated.approved_tokens = {"hf_valid_approved"};
  mock.add_repo(gated);
  RepoSpec priv = test::corpus_repo(test::corpus_dir() / "openai-community__gpt2");
  priv.access = RepoSpec::Access::private_;
  mock.add_repo(priv);
  const std::string repo = "meta-llama/Llama-3.2-1B-Instruct";

  auto with_token = [&](const std::string& token) {
    hub::HubOptions o = options_for(mock);
    o.token = token;
    return o;
  };

  auto anonymous = fetch(mock, repo);
  REQUIRE_FALSE(anonymous);
  CHECK(anonymous.error().kind == ErrorKind::access_denied);
  CHECK(anonymous.error().message().find("set HF_TOKEN or pass --token") != std::string::npos);

  auto unapproved = fetch(mock, repo, "", with_token("hf_valid_someone"));
  REQUIRE_FALSE(unapproved);
  CHECK(unapproved.error().kind == ErrorKind::access_denied);
  CHECK(unapproved.error().message().find("not in the authorized list") != std::string::npos);

  auto approved = fetch(mock, repo, "", with_token("hf_valid_approved"));
  REQUIRE(approved);
  CHECK(approved->tensors.size() == 146);

  auto bad_token = fetch(mock, repo, "", with_token("not-a-token"));
  REQUIRE_FALSE(bad_token);
  CHECK(bad_token.error().kind == ErrorKind::access_denied);
  CHECK(bad_token.error().message().find("invalid credentials") != std::string::npos);

  auto private_anon = fetch(mock, "openai-community/gpt2");
  REQUIRE_FALSE(private_anon);
  CHECK(private_anon.error().kind == ErrorKind::not_found);
  CHECK(private_anon.error().message().find("set HF_TOKEN") != std::string::npos);

  auto missing = fetch(mock, "nobody/nothing", "", with_token("hf_valid_someone"));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::not_found);
}

TEST_CASE("the token reaches the Hub but never the CDN on another host") {
  MockHub mock;
  RepoSpec gated = test::corpus_repo(test::corpus_dir() / "Qwen__Qwen2.5-7B-Instruct");
  gated.access = RepoSpec::Access::gated;
  gated.approved_tokens = {"hf_valid_approved"};
  mock.add_repo(gated);
  hub::HubOptions o = options_for(mock);
  o.token = "hf_valid_approved";
  auto model = fetch(mock, "Qwen/Qwen2.5-7B-Instruct", "", o);
  REQUIRE(model);
  size_t hub_with_auth = 0, cdn = 0;
  for (const auto& r : mock.requests()) {
    if (r.cdn) {
      ++cdn;
      CHECK_FALSE(r.authorization);
    } else if (r.authorization) {
      ++hub_with_auth;
    }
  }
  CHECK(cdn == 4);
  CHECK(hub_with_auth > 0);
}

TEST_CASE("429 waits as RateLimit says, then succeeds") {
  MockHub mock;
  mock.add_repo(test::corpus_repo(test::corpus_dir() / "openai-community__gpt2"));
  mock.update_faults([](auto& f) {
    f.fail_next_n = 1;
    f.fail_status = 429;
    f.retry_after_seconds = 1;
  });
  const auto start = std::chrono::steady_clock::now();
  auto model = fetch(mock, "openai-community/gpt2");
  REQUIRE(model);
  // RateLimit r=0;t=1 means wait t + 1 seconds before trying again (huggingface_hub does too).
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::seconds(2));
  auto log = mock.requests();
  CHECK(log.front().status == 429);
}

TEST_CASE("5xx answers are retried with backoff, then give a network error") {
  MockHub mock;
  mock.add_repo(test::corpus_repo(test::corpus_dir() / "openai-community__gpt2"));
  for (int status : {500, 502, 503, 504}) {
    DYNAMIC_SECTION("transient " << status) {
      mock.update_faults([&](auto& f) {
        f.fail_next_n = 2;
        f.fail_status = status;
      });
      auto model = fetch(mock, "openai-community/gpt2");
      REQUIRE(model);
      CHECK(model->tensors.size() == 160);
    }
  }
  mock.update_faults([](auto& f) {
    f.fail_next_n = 100;
    f.fail_status = 503;
  });
  auto failed = fetch(mock, "openai-community/gpt2");
  REQUIRE_FALSE(failed);
  CHECK(failed.error().kind == ErrorKind::network);
  CHECK(failed.error().message().find("503") != std::string::npos);
}

TEST_CASE("a server that ignores Range is read up to the header and no further") {
  MockHub mock;
  mock.add_repo(test::corpus_repo(test::corpus_dir() / "Qwen__Qwen2.5-7B-Instruct"));
  mock.update_faults([](auto& f) { f.ignore_range = true; });
  auto model = fetch(mock, "Qwen/Qwen2.5-7B-Instruct");
  REQUIRE(model);
  CHECK(model->tensors.size() == 339);
  // The file sizes come from Content-Length of the 200: the full logical size.
  for (const WeightFileInfo& f : model->files) {
    CHECK(f.size == *mock.served_size("Qwen/Qwen2.5-7B-Instruct", f.name));
  }
}

TEST_CASE("truncated and dropped connections are retried") {
  MockHub mock;
  mock.add_repo(test::corpus_repo(test::corpus_dir() / "openai-community__gpt2"));
  for (int which = 0; which < 2; ++which) {
    DYNAMIC_SECTION((which == 0 ? "truncated" : "closed mid-stream")) {
      mock.update_faults([&](auto& f) {
        f = {};
        f.target = test::FaultTarget::cdn;
        f.random_fault_rate = 0.5;
        f.random_seed = 7;
        f.random_faults = {which == 0 ? test::RandomFault::truncate_body
                                      : test::RandomFault::close_mid_stream};
      });
      auto model = fetch(mock, "openai-community/gpt2");
      REQUIRE(model);
      CHECK(model->tensors.size() == 160);
    }
  }
}

TEST_CASE("redirects: extra relative hops are followed, loops are caught") {
  MockHub mock;
  mock.add_repo(test::corpus_repo(test::corpus_dir() / "openai-community__gpt2"));
  mock.update_faults([](auto& f) { f.redirect_hops = 3; });
  REQUIRE(fetch(mock, "openai-community/gpt2"));

  mock.update_faults([](auto& f) {
    f.redirect_hops = 0;
    f.redirect_loop = true;
  });
  auto looped = fetch(mock, "openai-community/gpt2");
  REQUIRE_FALSE(looped);
  CHECK(looped.error().kind == ErrorKind::network);
  CHECK(looped.error().message().find("redirect") != std::string::npos);

  mock.update_faults([](auto& f) {
    f.redirect_loop = false;
    f.redirect_hops = 12;
  });
  auto too_many = fetch(mock, "openai-community/gpt2");
  REQUIRE_FALSE(too_many);
  CHECK(too_many.error().message().find("more than 10 redirects") != std::string::npos);
}

TEST_CASE("missing Hub headers are survived: sizes come from Content-Range") {
  MockHub mock;
  mock.add_repo(test::corpus_repo(test::corpus_dir() / "openai-community__gpt2"));
  mock.update_faults([](auto& f) {
    f.drop_repo_commit = true;
    f.drop_linked_size = true;
    f.drop_etag = true;
  });
  auto model = fetch(mock, "openai-community/gpt2");
  REQUIRE(model);
  CHECK(model->files[0].size == *mock.served_size("openai-community/gpt2", "model.safetensors"));
}

TEST_CASE("a wrong Content-Range is refused, not misread") {
  MockHub mock;
  mock.add_repo(test::corpus_repo(test::corpus_dir() / "openai-community__gpt2"));
  mock.update_faults([](auto& f) {
    f.target = test::FaultTarget::cdn;
    f.wrong_content_range = true;
  });
  auto model = fetch(mock, "openai-community/gpt2");
  REQUIRE_FALSE(model);
  CHECK(model.error().kind == ErrorKind::network);
  CHECK(model.error().message().find("Content-Range") != std::string::npos);
}

TEST_CASE("a stalled server times out with a network error") {
  MockHub mock;
  mock.add_repo(test::corpus_repo(test::corpus_dir() / "openai-community__gpt2"));
  mock.update_faults([](auto& f) {
    f.target = test::FaultTarget::cdn;
    f.stall = std::chrono::milliseconds(4000);
  });
  hub::HubOptions o = options_for(mock);
  o.timeout = std::chrono::seconds(1);
  o.backoff_base = std::chrono::milliseconds(1);
  auto model = fetch(mock, "openai-community/gpt2", "", o);
  REQUIRE_FALSE(model);
  CHECK(model.error().kind == ErrorKind::network);
}

TEST_CASE("a renamed repo is followed through its relative 307") {
  MockHub mock;
  RepoSpec current = test::corpus_repo(test::corpus_dir() / "openai-community__gpt2");
  mock.add_repo(current);
  RepoSpec old;
  old.id = "gpt2-org/gpt2";
  old.renamed_to = "openai-community/gpt2";
  mock.add_repo(old);
  auto model = fetch(mock, "gpt2-org/gpt2");
  REQUIRE(model);
  CHECK(model->tensors.size() == 160);
}

TEST_CASE("repos without safetensors give no weight files and name what they hold") {
  MockHub mock;
  RepoSpec bin;
  bin.id = "org/bin-only";
  bin.files["config.json"] = R"({"model_type": "gpt2", "n_embd": 8, "n_layer": 1, "n_head": 2})";
  bin.files["pytorch_model.bin"] = std::string(100, 'x');
  mock.add_repo(bin);
  auto model = fetch(mock, "org/bin-only");
  REQUIRE(model);
  CHECK(model->files.empty());
  CHECK(model->config.has_value());
  REQUIRE(model->other_weights.size() == 1);
  CHECK(model->other_weights[0] == "pytorch_model.bin");
}

TEST_CASE("a pinned commit re-runs from the cache with zero requests, a branch with one") {
  MockHub mock;
  mock.add_repo(test::corpus_repo(test::corpus_dir() / "Qwen__Qwen2.5-7B-Instruct"));
  test::TempDir cache;
  const std::string repo = "Qwen/Qwen2.5-7B-Instruct";
  const std::string sha = mock.commit_of(repo, "main");

  auto first = fetch(mock, repo, sha, options_for(mock, cache.path()));
  REQUIRE(first);
  CHECK(mock.request_count() > 0);

  mock.clear_requests();
  auto pinned = fetch(mock, repo, sha, options_for(mock, cache.path()));
  REQUIRE(pinned);
  CHECK(mock.request_count() == 0);
  CHECK(comparable(*pinned) == comparable(*first));

  mock.clear_requests();
  auto branch = fetch(mock, repo, "main", options_for(mock, cache.path()));
  REQUIRE(branch);
  CHECK(mock.request_count() == 1);

  // Offline: the ref written for "main" answers without the network.
  mock.clear_requests();
  hub::HubOptions offline = options_for(mock, cache.path());
  offline.offline = true;
  auto cached = fetch(mock, repo, "main", offline);
  REQUIRE(cached);
  CHECK(mock.request_count() == 0);
  auto missing = fetch(mock, repo, "other-branch", offline);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::network);
  CHECK(missing.error().message().find("offline") != std::string::npos);
}

TEST_CASE("several repos fetched concurrently all arrive whole") {
  MockHub mock;
  std::vector<std::string> folders = {"openai-community__gpt2", "Qwen__Qwen3-8B",
                                      "google__gemma-2-9b", "meta-llama__Llama-3.1-8B"};
  for (const auto& f : folders) {
    mock.add_repo(test::corpus_repo(test::corpus_dir() / f));
  }
  std::vector<std::thread> threads;
  std::vector<int> ok(folders.size(), 0);
  for (size_t i = 0; i < folders.size(); ++i) {
    threads.emplace_back([&, i] {
      auto model = fetch(mock, id_of(folders[i]));
      ok[i] = model && !model->tensors.empty() ? 1 : 0;
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(std::count(ok.begin(), ok.end(), 1) == 4);
}

TEST_CASE("URLs in messages and outputs lose their password and their signature") {
  using mbuild::hub::redact_url;
  CHECK(redact_url("http://user:pw@127.0.0.1:8080/org/name") == "http://127.0.0.1:8080/org/name");
  CHECK(redact_url("https://user:p@ss@mirror.example/api?sig=1") == "https://mirror.example/api?…");
  CHECK(redact_url("http://127.0.0.1:9") == "http://127.0.0.1:9");
  CHECK(redact_url("http://token@host") == "http://host");
  // An @ in the path or the query is not userinfo.
  CHECK(redact_url("http://host/org/name@main") == "http://host/org/name@main");
  CHECK(redact_url("http://host/a?x=@b") == "http://host/a?…");
  CHECK(redact_url("not a url@all") == "not a url@all");
}
