// The real mbuild binary against the mock Hub: exit codes, messages, the token's whereabouts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "e2e/fixtures.hpp"
#include "e2e/process.hpp"
#include "hub/mock_hub.hpp"

using namespace mbuild::e2e;
using mbuild::test::MockHub;
using mbuild::test::RepoSpec;
namespace fs = std::filesystem;

namespace {

constexpr const char* k_token = "hf_valid_secret_token_1234567890";

struct HubCli {
  MockHub mock;
  fs::path cache =
      fs::temp_directory_path() / ("mbuild-hub-cli-" + std::to_string(::getpid()) + "-" +
                                   std::to_string(reinterpret_cast<uintptr_t>(this)));
  HubCli() { fs::create_directories(cache); }
  ~HubCli() {
    std::error_code ec;
    fs::remove_all(cache, ec);
  }
  void serve(const std::string& folder, RepoSpec::Access access = RepoSpec::Access::public_) {
    RepoSpec spec = mbuild::test::corpus_repo(corpus_model(folder));
    spec.access = access;
    spec.approved_tokens = {k_token};
    mock.add_repo(spec);
  }
  ProcessEnvironment env() const {
    return base_environment()
        .unset("HF_HUB_OFFLINE")
        .set("HF_ENDPOINT", mock.endpoint())
        .set("MBUILD_CACHE", cache.string());
  }
  ProcessResult run(const std::vector<std::string>& args) const { return run_mbuild(args, env()); }
  ProcessResult run(const std::vector<std::string>& args, const ProcessEnvironment& e) const {
    return run_mbuild(args, e);
  }
};

nlohmann::json model_part(const std::string& json_text) {
  auto j = nlohmann::json::parse(json_text);
  j.erase("model");
  j.erase("warnings");
  for (auto& f : j["files"]) {
    f.erase("size");
  }
  return j;
}

std::vector<std::string> lines_of(const std::string& text) {
  return split_lines(text);
}

}  // namespace

TEST_CASE("inspect org/name from the Hub prints what inspect of the folder prints") {
  HubCli hub;
  for (std::string folder : {"meta-llama__Llama-3.3-70B-Instruct", "openai-community__gpt2",
                             "deepseek-ai__DeepSeek-V2-Lite"}) {
    hub.serve(folder);
    std::string id = folder;
    id.replace(id.find("__"), 2, "/");
    DYNAMIC_SECTION(folder) {
      auto remote = hub.run({"inspect", id, "--format", "json"});
      REQUIRE(remote.exit_code == 0);
      auto local = run_mbuild({"inspect", corpus_model(folder).string(), "--format", "json"});
      REQUIRE(local.exit_code == 0);
      CHECK(model_part(remote.out) == model_part(local.out));
      auto j = nlohmann::json::parse(remote.out);
      CHECK(j["model"]["source"] == "hub");
      CHECK(j["model"]["commit"] == hub.mock.commit_of(id, "main"));
    }
  }
}

TEST_CASE("the endpoint flag wins over HF_ENDPOINT and a trailing slash is accepted") {
  HubCli hub;
  hub.serve("openai-community__gpt2");
  auto env = hub.env().set("HF_ENDPOINT", "http://127.0.0.1:9");
  auto r =
      hub.run({"inspect", "openai-community/gpt2", "--endpoint", hub.mock.endpoint() + "/"}, env);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("137,022,720") != std::string::npos);
  auto slash = hub.run({"inspect", "openai-community/gpt2"},
                       hub.env().set("HF_ENDPOINT", hub.mock.endpoint() + "/"));
  CHECK(slash.exit_code == 0);
}

TEST_CASE("the token goes to the Hub only: never the CDN, stdout, stderr or the cache") {
  HubCli hub;
  hub.serve("Qwen__Qwen2.5-7B-Instruct", RepoSpec::Access::gated);
  for (int how = 0; how < 3; ++how) {
    DYNAMIC_SECTION("token via " << (how == 0 ? "HF_TOKEN" : how == 1 ? "--token" : "token file")) {
      hub.mock.clear_requests();
      fs::remove_all(hub.cache);
      ProcessEnvironment env = hub.env();
      std::vector<std::string> args = {"inspect", "Qwen/Qwen2.5-7B-Instruct", "--format", "json"};
      if (how == 0) {
        env.set("HF_TOKEN", k_token);
      } else if (how == 1) {
        args.push_back("--token");
        args.push_back(k_token);
      } else {
        fs::path file = hub.cache.parent_path() / ("mbuild-token-" + std::to_string(::getpid()));
        write_file(file, std::string(k_token) + "\r\n");
        env.set("HF_TOKEN_PATH", file.string());
      }
      auto r = hub.run(args, env);
      REQUIRE(r.exit_code == 0);
      CHECK(r.out.find(k_token) == std::string::npos);
      CHECK(r.err.find(k_token) == std::string::npos);
      size_t hub_auth = 0;
      for (const auto& rec : hub.mock.requests()) {
        if (rec.cdn) {
          CHECK_FALSE(rec.authorization);
        } else {
          hub_auth += rec.authorization ? 1 : 0;
        }
      }
      CHECK(hub_auth > 0);
      for (const auto& entry : fs::recursive_directory_iterator(hub.cache)) {
        if (entry.is_regular_file()) {
          CHECK(read_file(entry.path()).find(k_token) == std::string::npos);
        }
      }
    }
  }
}

TEST_CASE("Hub failures exit with the documented codes and one error line") {
  HubCli hub;
  hub.serve("meta-llama__Llama-3.2-1B-Instruct", RepoSpec::Access::gated);
  hub.serve("openai-community__gpt2");
  struct Case {
    std::string name;
    std::vector<std::string> args;
    std::string token;
    int code;
    std::string says;
  };
  std::vector<Case> cases = {
      {"gated, anonymous",
       {"inspect", "meta-llama/Llama-3.2-1B-Instruct"},
       "",
       5,
       "set HF_TOKEN or pass --token"},
      {"gated, token not approved",
       {"inspect", "meta-llama/Llama-3.2-1B-Instruct"},
       "hf_valid_other_user",
       5,
       "not in the authorized list"},
      {"bad token", {"inspect", "openai-community/gpt2"}, "garbage", 5, "invalid credentials"},
      {"missing repo",
       {"inspect", "nobody/nothing"},
       "hf_valid_other_user",
       4,
       "repository not found"},
      {"missing revision",
       {"inspect", "openai-community/gpt2@no-such-branch"},
       "",
       4,
       "revision 'no-such-branch' not found"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      ProcessEnvironment env = hub.env();
      if (!c.token.empty()) {
        env.set("HF_TOKEN", c.token);
      }
      auto r = hub.run(c.args, env);
      CHECK(r.exit_code == c.code);
      CHECK(r.out.empty());
      auto lines = lines_of(r.err);
      REQUIRE(lines.size() == 1);
      CHECK(lines[0].starts_with("mbuild: error: "));
      CHECK(lines[0].find(c.says) != std::string::npos);
      if (!c.token.empty()) {
        CHECK(r.err.find(c.token) == std::string::npos);
      }
    }
  }
}

TEST_CASE("a Hub that keeps failing exits 6 after retries") {
  HubCli hub;
  hub.serve("openai-community__gpt2");
  hub.mock.update_faults([](auto& f) {
    f.fail_next_n = 1000;
    f.fail_status = 502;
  });
  auto r = hub.run({"inspect", "openai-community/gpt2"});
  CHECK(r.exit_code == 6);
  CHECK(r.err.find("502") != std::string::npos);
}

TEST_CASE("a stalled server is abandoned after HF_HUB_DOWNLOAD_TIMEOUT") {
  HubCli hub;
  hub.serve("openai-community__gpt2");
  hub.mock.update_faults([](auto& f) { f.stall = std::chrono::seconds(20); });
  auto r =
      hub.run({"inspect", "openai-community/gpt2"}, hub.env().set("HF_HUB_DOWNLOAD_TIMEOUT", "1"));
  CHECK(r.exit_code == 6);
  CHECK_FALSE(r.timed_out);
}

TEST_CASE("a second run of a pinned commit makes zero requests, offline answers from the cache") {
  HubCli hub;
  hub.serve("Qwen__Qwen2.5-7B-Instruct");
  const std::string sha = hub.mock.commit_of("Qwen/Qwen2.5-7B-Instruct", "main");
  auto first = hub.run({"inspect", "Qwen/Qwen2.5-7B-Instruct@" + sha, "--format", "json"});
  REQUIRE(first.exit_code == 0);
  hub.mock.clear_requests();
  auto second = hub.run({"inspect", "Qwen/Qwen2.5-7B-Instruct@" + sha, "--format", "json"});
  REQUIRE(second.exit_code == 0);
  CHECK(hub.mock.request_count() == 0);
  CHECK(model_part(first.out) == model_part(second.out));

  auto branch = hub.run({"inspect", "Qwen/Qwen2.5-7B-Instruct"});
  REQUIRE(branch.exit_code == 0);
  hub.mock.clear_requests();
  auto offline = hub.run({"inspect", "Qwen/Qwen2.5-7B-Instruct", "--offline"});
  CHECK(offline.exit_code == 0);
  CHECK(hub.mock.request_count() == 0);
  auto missing = hub.run({"inspect", "Qwen/Other-Model", "--offline"});
  CHECK(missing.exit_code == 6);
}

TEST_CASE("a repo with only pytorch_model.bin exits 4 with a hint and nothing on stdout") {
  HubCli hub;
  RepoSpec bin;
  bin.id = "org/bin-only";
  bin.files["config.json"] = read_file(corpus_model("openai-community__gpt2") / "config.json");
  bin.files["pytorch_model.bin"] = std::string(1000, 'x');
  hub.mock.add_repo(bin);
  auto r = hub.run({"inspect", "org/bin-only"});
  CHECK(r.exit_code == 4);
  CHECK(r.err.find("pytorch_model.bin") != std::string::npos);
  CHECK(r.err.find("safetensors") != std::string::npos);
  CHECK(r.out.empty());
}

TEST_CASE("emit-config from the Hub names the repo at its commit in validation_sources") {
  HubCli hub;
  hub.serve("openai-community__gpt2");
  TempDir out;
  auto r = hub.run({"emit-config", "openai-community/gpt2", "--out-dir",
                    (out / "model_configs").string(), "--gaps-dir", (out / "gaps").string(),
                    "--source", "model card"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string at_commit = hub.mock.endpoint() + "/openai-community/gpt2/tree/" +
                                hub.mock.commit_of("openai-community/gpt2", "main");
  auto doc = nlohmann::json::parse(read_file(out / "model_configs/openai-community_gpt2.json"));
  CHECK(doc["revision"] == hub.mock.commit_of("openai-community/gpt2", "main"));
  CHECK(doc["validation_sources"] == nlohmann::json::array({at_commit, "model card"}));
  const std::string md = read_file(out / "model_configs/openai-community_gpt2.validation.md");
  CHECK(md.starts_with("# Validation report: openai-community/gpt2\n"));
  CHECK(md.find(at_commit) != std::string::npos);
}
