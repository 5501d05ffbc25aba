// The token's whereabouts, through the real binary and the mock Hub (issue #6, secrets): it
// reaches the endpoint's host:port only, never a CDN on another host or port, and never stdout,
// stderr, an error message, a cache file or anything emitted. Every command and output format
// runs with a distinctive token given each way a user can give it, on success and on every kind
// of failure; then stdout, stderr and every file under the run's folders are searched for the
// token and for fragments and encodings of it, and the mock's request log is checked for where
// an Authorization header went.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "e2e/fixtures.hpp"
#include "e2e/process.hpp"
#include "hub/mock_hub.hpp"

using namespace mbuild::e2e;
using mbuild::test::MockHub;
using mbuild::test::MockHubOptions;
using mbuild::test::RepoSpec;
namespace fs = std::filesystem;

namespace {

// Secrets no output could hold by chance. "hf_valid_" makes the mock accept a token as a user's.
const std::string k_secret = "Qx7vT3mKp9ZrW2bNc8Ly";
const std::string k_token = "hf_valid_" + k_secret;
const std::string k_gated = "Qwen/Qwen2.5-7B-Instruct";  // four shards: four CDN redirects
const std::string k_gated_folder = "Qwen__Qwen2.5-7B-Instruct";

std::string base64(std::string_view in) {
  static constexpr char k_alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto n = (static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16) |
                   (static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8) |
                   static_cast<unsigned char>(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) {
      out += k_alphabet[(n >> shift) & 63];
    }
  }
  return out;  // the trailing partial group is left out: a prefix is what a search needs
}

// Every form in which a secret could leak: the secret, each 8-byte window of it (a truncated or
// partly masked token), and base64 of it as a token and as an Authorization value.
std::vector<std::string> leak_forms(const std::string& token, const std::string& secret) {
  std::vector<std::string> forms = {token, secret, base64(token), base64("Bearer " + token),
                                    mbuild::test::token_fingerprint("Bearer " + token)};
  for (size_t i = 0; i + 8 <= secret.size(); ++i) {
    forms.push_back(secret.substr(i, 8));
  }
  return forms;
}

// "<where>: holds '<form>'" for each form of the secret found in `text`.
void find_leaks(std::string_view where, std::string_view text,
                const std::vector<std::string>& forms, std::vector<std::string>& leaks) {
  for (const std::string& form : forms) {
    if (text.find(form) != std::string_view::npos) {
      leaks.push_back(std::string(where) + ": holds '" + form + "'");
      return;
    }
  }
}

// How a user hands mbuild the token.
enum class TokenVia { flag, hf_token, legacy_variable, token_path, hf_home_token };
const TokenVia k_all_ways[] = {TokenVia::flag, TokenVia::hf_token, TokenVia::legacy_variable,
                               TokenVia::token_path, TokenVia::hf_home_token};

std::string describe(TokenVia via) {
  switch (via) {
    case TokenVia::flag:
      return "--token";
    case TokenVia::hf_token:
      return "HF_TOKEN";
    case TokenVia::legacy_variable:
      return "HUGGING_FACE_HUB_TOKEN";
    case TokenVia::token_path:
      return "an HF_TOKEN_PATH file";
    case TokenVia::hf_home_token:
      return "$HF_HOME/token";
  }
  return "?";
}

// One run's folders under one root: the working folder (outputs, CSV), mbuild's cache, HF_HOME
// and XDG_CACHE_HOME. Everything under the root is searched after the run, except the files
// the test itself put the token in.
struct Sandbox {
  TempDir root;
  fs::path work = root / "work";
  fs::path cache = root / "cache";
  fs::path hf_home = root / "hf_home";
  std::set<fs::path> token_files;

  Sandbox() {
    fs::create_directories(work);
    fs::create_directories(hf_home);
  }

  ProcessEnvironment env(const std::string& endpoint) const {
    return base_environment()
        .unset("HF_HUB_OFFLINE")
        .set("HF_ENDPOINT", endpoint)
        .set("MBUILD_CACHE", cache.string())
        .set("HF_HOME", hf_home.string())
        .set("XDG_CACHE_HOME", (root / "xdg").string());
  }

  // Hands `token` to mbuild the way `via` says, changing `env` or `args`.
  void give_token(TokenVia via, const std::string& token, ProcessEnvironment& env,
                  std::vector<std::string>& args) {
    switch (via) {
      case TokenVia::flag:
        args.insert(args.end(), {"--token", token});
        break;
      case TokenVia::hf_token:
        env.set("HF_TOKEN", token);
        break;
      case TokenVia::legacy_variable:
        env.set("HUGGING_FACE_HUB_TOKEN", token);
        break;
      case TokenVia::token_path: {
        const fs::path file = root / "secrets" / "token.txt";
        write_file(file, token + "\r\n");
        token_files.insert(file);
        env.set("HF_TOKEN_PATH", file.string());
        break;
      }
      case TokenVia::hf_home_token:
        write_file(hf_home / "token", token + "\n");
        token_files.insert(hf_home / "token");
        break;
    }
  }

  // Every leak of `forms` in the run's output and in any file under the root.
  std::vector<std::string> leaks(const ProcessResult& r,
                                 const std::vector<std::string>& forms) const {
    std::vector<std::string> found;
    find_leaks("stdout", r.out, forms, found);
    find_leaks("stderr", r.err, forms, found);
    for (const auto& entry : fs::recursive_directory_iterator(root.path())) {
      if (entry.is_regular_file() && !token_files.count(entry.path())) {
        find_leaks(entry.path().lexically_relative(root.path()).string(), read_file(entry.path()),
                   forms, found);
      }
    }
    return found;
  }

  size_t files_written() const {
    size_t n = 0;
    for (const auto& entry : fs::recursive_directory_iterator(root.path())) {
      if (entry.is_regular_file() && !token_files.count(entry.path())) {
        ++n;
      }
    }
    return n;
  }
};

// "host:port" of an "http://host:port" endpoint.
std::string host_port(const std::string& endpoint) {
  return endpoint.substr(endpoint.find("://") + 3);
}

// Each request that carried an Authorization header anywhere but the endpoint's host:port, or
// carried another value than "Bearer <token>", or had a secret in its URL.
std::vector<std::string> misrouted(const MockHub& mock, const std::string& token,
                                   const std::vector<std::string>& forms) {
  std::vector<std::string> out;
  const std::string hub = host_port(mock.endpoint());
  const std::string expected = mbuild::test::token_fingerprint("Bearer " + token);
  for (const auto& rec : mock.requests()) {
    const std::string what = rec.method + " " + rec.host + rec.path;
    if (rec.authorization && rec.cdn) {
      out.push_back(what + ": Authorization sent to the CDN");
    }
    if (rec.authorization && rec.host != hub) {
      out.push_back(what + ": Authorization sent to another host:port than the endpoint");
    }
    if (rec.authorization && rec.authorization_fingerprint != expected) {
      out.push_back(what + ": an Authorization that is not 'Bearer <the token>'");
    }
    find_leaks(what + " (URL)", rec.path + "?" + rec.query, forms, out);
  }
  return out;
}

struct Counts {
  size_t hub_with_token = 0;
  size_t cdn = 0;
};
Counts count_requests(const MockHub& mock) {
  Counts c;
  for (const auto& rec : mock.requests()) {
    c.hub_with_token += !rec.cdn && rec.authorization ? size_t{1} : size_t{0};
    c.cdn += rec.cdn ? size_t{1} : size_t{0};
  }
  return c;
}

// Every command and output format, each writing what it can write into the working folder.
struct Command {
  std::string name;
  std::vector<std::string> args;
  std::vector<std::string> writes;  // files the command must have written (relative to work)
};
std::vector<Command> every_command(const std::string& id) {
  const std::string stem = "Qwen_Qwen2.5-7B-Instruct";
  return {
      {"inspect text", {"inspect", id}, {}},
      {"inspect json, --tensors-csv",
       {"inspect", id, "--format", "json", "--tensors-csv", "tensors.csv"},
       {"tensors.csv"}},
      {"inspect text, --tensors-csv, --context",
       {"inspect", id, "--tensors-csv", "t.csv", "--context", "4096"},
       {"t.csv"}},
      {"validate text", {"validate", id, "--expected-params", "7.6B"}, {}},
      {"validate json", {"validate", id, "--format", "json"}, {}},
      {"validate md", {"validate", id, "--format", "md"}, {}},
      {"emit-config (default folders)",
       {"emit-config", id},
       {"model_configs/" + stem + ".json", "model_configs/" + stem + ".validation.md"}},
      {"emit-config json, own folders",
       {"emit-config", id, "--format", "json", "--out-dir", "out", "--gaps-dir", "reports"},
       {"out/" + stem + ".json"}},
  };
}

void serve_gated(MockHub& mock) {
  RepoSpec spec = mbuild::test::corpus_repo(corpus_model(k_gated_folder));
  spec.access = RepoSpec::Access::gated;
  spec.approved_tokens = {k_token};
  mock.add_repo(spec);
}

// Runs every command with the token given by --token, and inspect and emit-config with it given
// each other way, against `mock`; checks where the token went. (The way a token arrives is
// settled before any command runs, so the full product would only repeat these runs.)
void every_command_every_way(MockHub& mock) {
  const auto forms = leak_forms(k_token, k_secret);
  for (TokenVia via : k_all_ways) {
    for (const Command& command : every_command(k_gated)) {
      if (via != TokenVia::flag && command.name != "inspect text" &&
          command.name != "emit-config (default folders)") {
        continue;
      }
      INFO("token via " << describe(via) << "; " << command.name);
      Sandbox box;
      ProcessEnvironment env = box.env(mock.endpoint());
      std::vector<std::string> args = command.args;
      box.give_token(via, k_token, env, args);
      mock.clear_requests();
      const ProcessResult r = run_mbuild(args, env, box.work);
      INFO("stderr: " << r.err);
      REQUIRE((r.exit_code == 0 || (command.args[0] == "validate" && r.exit_code == 1)));
      for (const std::string& file : command.writes) {
        CHECK(fs::is_regular_file(box.work / file));
      }
      CHECK(box.files_written() > command.writes.size());  // the cache was written too
      const Counts counts = count_requests(mock);
      CHECK(counts.hub_with_token > 0);  // the token was used
      CHECK(counts.cdn >= 4);            // and the CDN was reached, without it
      CHECK(box.leaks(r, forms) == std::vector<std::string>{});
      CHECK(misrouted(mock, k_token, forms) == std::vector<std::string>{});
    }
  }
}

}  // namespace

TEST_CASE("the token reaches only the endpoint: every command, every way to give it") {
  MockHub mock;
  serve_gated(mock);
  every_command_every_way(mock);
}

TEST_CASE("a CDN on the endpoint's host but another port never gets the token") {
  MockHubOptions options;
  options.cdn_host = "127.0.0.1";  // same host as the Hub: only the port tells them apart
  MockHub mock(options);
  REQUIRE(host_port(mock.cdn_origin()).starts_with("127.0.0.1:"));
  REQUIRE(mock.cdn_origin() != mock.endpoint());
  serve_gated(mock);
  every_command_every_way(mock);
}

TEST_CASE("failed runs never show the token: 401, 403, 404, 5xx, redirect loop, offline") {
  MockHub mock;
  serve_gated(mock);
  RepoSpec missing_shard = mbuild::test::corpus_repo(corpus_model(k_gated_folder));
  missing_shard.id = "org/missing-shard";
  missing_shard.hidden.insert("model-00004-of-00004.safetensors");
  missing_shard.approved_tokens = {k_token};
  mock.add_repo(missing_shard);

  struct Case {
    std::string name;
    std::string token;   // what the user gives
    std::string secret;  // its distinctive part
    std::string source;
    std::vector<int> codes;  // exit codes the case may end with
    std::function<void(MockHub&)> faults = [](MockHub&) {};
    bool slow = false;  // retries with backoff: run with one way and one command only
  };
  const std::string bad_secret = "Jq4wZx8RcT2vLm6Nb0Pd";
  const std::string other_secret = "Ys5kHn1XeB7uGa3Wf9Rc";
  const std::vector<Case> cases = {
      {"401: the Hub rejects the token", "hf_" + bad_secret, bad_secret, k_gated, {5}},
      {"403: gated, the token is not approved",
       "hf_valid_" + other_secret,
       other_secret,
       k_gated,
       {5}},
      {"404: no such repo", k_token, k_secret, "nobody/nothing", {4}},
      {"404: no such revision", k_token, k_secret, k_gated + "@no-such-branch", {4}},
      {"404: a shard the index names is missing", k_token, k_secret, "org/missing-shard", {4}},
      {"redirect loop on resolve",
       k_token,
       k_secret,
       k_gated,
       {6},
       [](MockHub& m) { m.update_faults([](auto& f) { f.redirect_loop = true; }); }},
      {"expired CDN signatures",
       k_token,
       k_secret,
       k_gated,
       {5, 6},
       [](MockHub& m) { m.update_faults([](auto& f) { f.cdn_expired_signatures = true; }); }},
      {"5xx from the Hub until the retries run out",
       k_token,
       k_secret,
       k_gated,
       {6},
       [](MockHub& m) {
         m.update_faults([](auto& f) {
           f.target = mbuild::test::FaultTarget::hub;
           f.fail_next_n = 1'000'000;
           f.fail_status = 503;
         });
       },
       true},
      {"5xx from the CDN until the retries run out",
       k_token,
       k_secret,
       k_gated,
       {6},
       [](MockHub& m) {
         m.update_faults([](auto& f) {
           f.target = mbuild::test::FaultTarget::cdn;
           f.fail_next_n = 1'000'000;
           f.fail_status = 502;
         });
       },
       true},
  };
  for (const Case& c : cases) {
    const auto forms = leak_forms(c.token, c.secret);
    for (TokenVia via : {TokenVia::flag, TokenVia::token_path}) {
      for (bool emit : {false, true}) {
        if (c.slow && (via != TokenVia::flag || emit)) {
          continue;
        }
        INFO(c.name << "; token via " << describe(via) << "; "
                    << (emit ? "emit-config" : "inspect --format json --tensors-csv"));
        mock.set_faults({});
        c.faults(mock);
        mock.clear_requests();
        Sandbox box;
        ProcessEnvironment env = box.env(mock.endpoint());
        std::vector<std::string> args =
            emit ? std::vector<std::string>{"emit-config", c.source}
                 : std::vector<std::string>{"inspect", c.source,        "--format",
                                            "json",    "--tensors-csv", "t.csv"};
        box.give_token(via, c.token, env, args);
        const ProcessResult r = run_mbuild(args, env, box.work);
        INFO("exit " << r.exit_code << ", stderr: " << r.err);
        CHECK(std::find(c.codes.begin(), c.codes.end(), r.exit_code) != c.codes.end());
        CHECK(r.err.starts_with("mbuild: error: "));
        CHECK(box.leaks(r, forms) == std::vector<std::string>{});
        CHECK(misrouted(mock, c.token, forms) == std::vector<std::string>{});
        CHECK(count_requests(mock).hub_with_token > 0);
      }
    }
  }
  mock.set_faults({});

  SECTION("offline with nothing cached") {
    Sandbox box;
    ProcessEnvironment env = box.env(mock.endpoint());
    std::vector<std::string> args = {"inspect", k_gated, "--offline"};
    box.give_token(TokenVia::flag, k_token, env, args);
    mock.clear_requests();
    const ProcessResult r = run_mbuild(args, env, box.work);
    CHECK(r.exit_code == 6);
    CHECK(mock.request_count() == 0);
    CHECK(box.leaks(r, leak_forms(k_token, k_secret)) == std::vector<std::string>{});
  }
}

TEST_CASE("the --token flag wins and the environment's token is never sent") {
  MockHub mock;
  serve_gated(mock);
  const std::string env_secret = "Lr8nVc2QaZ6tKw4Ym1Hx";
  Sandbox box;
  ProcessEnvironment env = box.env(mock.endpoint()).set("HF_TOKEN", "hf_valid_" + env_secret);
  std::vector<std::string> args = {"inspect", k_gated, "--format", "json"};
  box.give_token(TokenVia::flag, k_token, env, args);
  const ProcessResult r = run_mbuild(args, env, box.work);
  REQUIRE(r.exit_code == 0);
  const auto env_forms = leak_forms("hf_valid_" + env_secret, env_secret);
  CHECK(misrouted(mock, k_token, leak_forms(k_token, k_secret)) == std::vector<std::string>{});
  CHECK(box.leaks(r, env_forms) == std::vector<std::string>{});
}

// A mirror behind basic auth is reached as HF_ENDPOINT=http://user:password@host. The
// password is as secret as the token: it must not be printed, emitted (validation_sources,
// inspect's "location") or stored in the cache (manifest.json's "endpoint").
TEST_CASE("a password in the endpoint URL never reaches an output, a message or the cache") {
  MockHub mock;
  serve_gated(mock);
  const std::string password_secret = "Wm3cXp8TzR5gNv1Kb7Qe";
  const std::string password = "pw_" + password_secret;
  const auto forms = leak_forms(password, password_secret);
  std::string endpoint = mock.endpoint();
  endpoint.insert(endpoint.find("://") + 3, "mirror-user:" + password + "@");
  SECTION("every command, its outputs and the cache") {
    for (const Command& command : every_command(k_gated)) {
      INFO(command.name);
      Sandbox box;
      ProcessEnvironment env = box.env(endpoint);
      std::vector<std::string> args = command.args;
      box.give_token(TokenVia::hf_token, k_token, env, args);
      const ProcessResult r = run_mbuild(args, env, box.work);
      INFO("exit " << r.exit_code << ", stderr: " << r.err);
      CHECK(box.leaks(r, forms) == std::vector<std::string>{});
    }
  }
  SECTION("an unreachable endpoint's error line") {
    Sandbox box;
    ProcessEnvironment env = box.env("http://mirror-user:" + password + "@127.0.0.1:9");
    const ProcessResult r = run_mbuild({"inspect", k_gated}, env, box.work);
    CHECK(r.exit_code == 6);
    CHECK(box.leaks(r, forms) == std::vector<std::string>{});
  }
}

// HF_TOKEN and token files are stripped of CR/LF; --token must be too (or be refused): a line
// break in it would otherwise add a header of the caller's choosing to every request. Here the
// smuggled header is a Range the mock records. Needs src/cli/options.cpp's open_source to strip
// or refuse control characters in options.token.
TEST_CASE("a --token with a line break cannot add a header to any request") {
  MockHub mock;
  serve_gated(mock);
  Sandbox box;
  ProcessEnvironment env = box.env(mock.endpoint());
  std::vector<std::string> args = {"inspect", k_gated, "--format", "json"};
  box.give_token(TokenVia::flag, k_token + "\r\nRange: bytes=7-7", env, args);
  const ProcessResult r = run_mbuild(args, env, box.work);
  INFO("exit " << r.exit_code << ", stderr: " << r.err);
  CHECK((r.exit_code == 0 || r.exit_code == 2));
  for (const auto& rec : mock.requests()) {
    INFO(rec.method << " " << rec.path);
    CHECK(rec.range != "bytes=7-7");
  }
}
