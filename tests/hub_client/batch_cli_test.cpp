// Many sources in one call: --from, streamed jsonl with a summary, the worst exit code, and a
// descriptor limit that is too small named as such (never as a network failure).
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "e2e/fixtures.hpp"
#include "e2e/process.hpp"
#include "hub/mock_hub.hpp"

using namespace mbuild::e2e;
using mbuild::test::MockHub;
namespace fs = std::filesystem;

namespace {

std::vector<nlohmann::json> lines_of(const std::string& out) {
  std::vector<nlohmann::json> docs;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    docs.push_back(nlohmann::json::parse(line));
  }
  return docs;
}

// A word for /bin/sh, single-quoted.
std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

// mbuild run through /bin/sh with `env` as its whole environment and `input` on its standard
// input, its standard output read line by line as it comes. A mock gate the test opens later
// is opened anyway after a minute without a first line (first_line_read() then says so), so a
// result held back fails the test instead of hanging it.
class StreamedRun {
 public:
  StreamedRun(const std::vector<std::string>& args, const ProcessEnvironment& env,
              const fs::path& input, MockHub& mock)
      : m_mock(mock) {
    std::string command = "exec /usr/bin/env -i";
    for (const std::string& e : env.entries()) {
      command += " " + shell_quoted(e);
    }
    command += " " + shell_quoted(binary().string());
    for (const std::string& a : args) {
      command += " " + shell_quoted(a);
    }
    command += " < " + shell_quoted(input.string());
    m_out = ::popen(command.c_str(), "r");
    if (m_out == nullptr) {
      throw std::runtime_error("popen failed");
    }
    m_watchdog = std::thread([this] {
      std::unique_lock lock(m_mutex);
      if (!m_cv.wait_for(lock, std::chrono::seconds(60), [this] { return m_first_read; })) {
        m_gate_forced = true;
        m_mock.update_faults([](mbuild::test::Faults& f) { f.hold = false; });
      }
    });
  }
  ~StreamedRun() {
    stop_watchdog();
    if (m_out != nullptr) {
      // A check that threw left the gate closed: open it, or pclose would wait for ever.
      m_mock.update_faults([](mbuild::test::Faults& f) { f.hold = false; });
      ::pclose(m_out);
    }
  }
  StreamedRun(const StreamedRun&) = delete;
  StreamedRun& operator=(const StreamedRun&) = delete;

  // The next line of standard output, without its newline; nullopt at the end.
  std::optional<std::string> line() {
    std::string text;
    char buf[4096];
    while (std::fgets(buf, sizeof buf, m_out) != nullptr) {
      text += buf;
      if (text.back() == '\n') {
        text.pop_back();
        break;
      }
    }
    return text.empty() ? std::nullopt : std::optional<std::string>(text);
  }
  // The first line came: the watchdog stands down. True when the gate was still closed then.
  bool first_line_read() {
    stop_watchdog();
    return !m_gate_forced;
  }
  // Reads to the end; the exit status (waitpid's).
  int finish() {
    stop_watchdog();
    while (line()) {
    }
    const int status = ::pclose(m_out);
    m_out = nullptr;
    return status;
  }

 private:
  void stop_watchdog() {
    {
      std::lock_guard lock(m_mutex);
      m_first_read = true;
    }
    m_cv.notify_all();
    if (m_watchdog.joinable()) {
      m_watchdog.join();
    }
  }
  MockHub& m_mock;
  FILE* m_out = nullptr;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_first_read = false;
  std::atomic<bool> m_gate_forced{false};
  std::thread m_watchdog;
};

// Serves `n` copies of GPT-2 as held/<prefix>0 ..., whose listings wait until the gate opens.
void serve_held_copies(MockHub& mock, const std::string& prefix, int n) {
  auto spec = mbuild::test::corpus_repo(corpus_model("openai-community__gpt2"));
  spec.id = "held/" + prefix + "0";
  mock.add_repo(spec);
  for (int i = 1; i < n; ++i) {
    mock.add_copy(spec.id, fmt::format("held/{}{}", prefix, i));
  }
  mock.update_faults([](mbuild::test::Faults& f) {
    f.target = mbuild::test::FaultTarget::hub;
    f.path_contains = "/api/models/held/";
    f.hold = true;
  });
}

void open_gate(MockHub& mock) {
  mock.update_faults([](mbuild::test::Faults& f) { f.hold = false; });
}

// sources.txt in `dir`: the local folder `local` first, then held/<prefix>0 ... held/<prefix>n-1.
fs::path write_sources(const fs::path& dir, const std::string& local, const std::string& prefix,
                       int n) {
  const fs::path path = dir / "sources.txt";
  std::ofstream list(path);
  list << local << "\n";
  for (int i = 0; i < n; ++i) {
    list << fmt::format("held/{}{}\n", prefix, i);
  }
  return path;
}

// mbuild's environment against the mock Hub, with a fresh cache in `dir`.
ProcessEnvironment hub_environment(const MockHub& mock, const fs::path& dir) {
  return base_environment()
      .unset("HF_HUB_OFFLINE")
      .set("HF_ENDPOINT", mock.endpoint())
      .set("MBUILD_CACHE", (dir / "cache").string());
}

}  // namespace

TEST_CASE(
    "a list of sources (--from) is read (comments, blanks, duplicates once) and jsonl streams "
    "each") {
  TempDir dir;
  const std::string gpt2 = corpus_model("openai-community__gpt2").string();
  const std::string llama = corpus_model("meta-llama__Llama-3.2-1B-Instruct").string();
  {
    std::ofstream list(dir / "sources.txt");
    list << "# models to check\n"
         << gpt2 << "\n\n  " << llama << "  \n"
         << gpt2 << "\n"
         << dir.path().string() << "/missing\n";
  }
  const ProcessResult r = run_mbuild(
      {"inspect", "--from", (dir / "sources.txt").string(), "--format", "jsonl", "--ordered"},
      base_environment());
  INFO(r.err);
  CHECK(r.exit_code == 4);  // the worst per-source code: the missing folder
  const auto docs = lines_of(r.out);
  REQUIRE(docs.size() == 4);  // three sources (gpt2 once), then the summary
  CHECK(docs[0]["source"] == gpt2);
  CHECK(docs[0]["exit_code"] == 0);
  CHECK(docs[0]["params"]["total"] == truth_total("openai-community__gpt2"));
  CHECK(docs[1]["source"] == llama);
  CHECK(docs[1]["params"]["total"] == truth_total("meta-llama__Llama-3.2-1B-Instruct"));
  CHECK(docs[2]["exit_code"] == 4);
  CHECK(docs[2].contains("error"));
  const auto& summary = docs[3]["summary"];
  CHECK(summary["sources"] == 3);
  CHECK(summary["exit_codes"]["0"] == 2);
  CHECK(summary["exit_codes"]["4"] == 1);
  CHECK(summary["exit_code"] == 4);
  CHECK(summary["slowest"].size() == 3);
}

TEST_CASE("32 copies of a 191-shard repo at ulimit -n 256: all exact, through one pool") {
  MockHub mock;
  auto spec = mbuild::test::corpus_repo(corpus_model("meta-llama__Llama-3.1-405B-Instruct"));
  spec.id = "copies/c0";
  mock.add_repo(spec);
  std::string ids;
  for (int i = 1; i < 32; ++i) {
    mock.add_copy("copies/c0", fmt::format("copies/c{}", i));
  }
  TempDir dir;
  {
    std::ofstream list(dir / "sources.txt");
    for (int i = 0; i < 32; ++i) {
      list << fmt::format("copies/c{}\n", i);
    }
  }
  const ProcessEnvironment env = base_environment()
                                     .unset("HF_HUB_OFFLINE")
                                     .set("HF_ENDPOINT", mock.endpoint())
                                     .set("MBUILD_CACHE", (dir / "cache").string())
                                     // What this test checks is the descriptor budget: a
                                     // loaded machine running the sanitizer binary must not
                                     // turn a slow answer into a network failure.
                                     .set("HF_HUB_DOWNLOAD_TIMEOUT", "60");
  const std::string command =
      fmt::format("ulimit -n 256 && exec '{}' inspect --from '{}' --format jsonl",
                  binary().string(), (dir / "sources.txt").string());
  const ProcessResult r =
      run_process({"/bin/sh", "-c", command}, env, std::chrono::milliseconds(300'000));
  INFO(r.err);
  std::string errors;  // the jsonl lines of failed sources, if any
  for (size_t at = r.out.find("\"error\""); at != std::string::npos;
       at = r.out.find("\"error\"", at + 1)) {
    const size_t begin = r.out.rfind('\n', at);
    errors += r.out.substr(begin == std::string::npos ? 0 : begin, 300);
  }
  INFO(errors);
  CHECK(r.exit_code == 0);
  const auto docs = lines_of(r.out);
  REQUIRE(docs.size() == 33);
  for (size_t i = 0; i < 32; ++i) {
    CHECK(docs[i]["params"]["total"] == truth_total("meta-llama__Llama-3.1-405B-Instruct"));
  }
  CHECK(mock.connection_stats(false).peak <= 16);
  CHECK(mock.connection_stats(true).peak <= 16);
}

TEST_CASE("too few file descriptors is its own error naming the limit, not a network failure") {
  if (const char* other = std::getenv("MBUILD_TEST_BINARY"); other && *other) {
    // The sanitizer runtimes need descriptors of their own (their symbolizer's pipes): at a
    // limit of 5 they fail before mbuild does. The Release binary runs this test.
    WARN("skipped for the sanitizer binary");
    return;
  }
  MockHub mock;
  mock.add_repo(mbuild::test::corpus_repo(corpus_model("meta-llama__Llama-3.3-70B-Instruct")));
  TempDir dir;
  const ProcessEnvironment env = base_environment()
                                     .unset("HF_HUB_OFFLINE")
                                     .set("HF_ENDPOINT", mock.endpoint())
                                     .set("MBUILD_CACHE", (dir / "cache").string());
  // Standard streams and libcurl's wakeup pair leave no room for a socket (util-linux's
  // prlimit sets the soft and the hard limit, so mbuild cannot raise it).
  const ProcessResult r = run_process({"/usr/bin/prlimit", "--nofile=5", binary().string(),
                                       "inspect", "meta-llama/Llama-3.3-70B-Instruct"},
                                      env, std::chrono::milliseconds(60'000));
  INFO(r.err);
  CHECK(r.exit_code == 7);
  CHECK_THAT(r.err, Catch::Contains("out of file descriptors (the limit is 5)"));
  CHECK_THAT(r.err, Catch::Contains("ulimit -n"));
  CHECK_THAT(r.err, !Catch::Contains("Couldn't connect"));
}

TEST_CASE(
    "1000 sources from stdin (--from -) stream as jsonl: the first result is out while the "
    "rest still wait on the Hub") {
  // 999 Hub repos whose listings the mock holds until the test has read the first line, and one
  // local folder that needs no request: a result printed only at the end (or after ten sources)
  // could not be read before the gate opens. Nothing is timed: the gate orders the events.
  MockHub mock;
  serve_held_copies(mock, "m", 999);
  TempDir dir;
  const std::string local = corpus_model("openai-community__gpt2").string();
  const fs::path sources = write_sources(dir.path(), local, "m", 999);
  const ProcessEnvironment env = hub_environment(mock, dir.path());
  StreamedRun run({"inspect", "--from", "-", "--format", "jsonl"}, env, sources, mock);
  const auto first = run.line();
  // What the mock had served when the first line came: no Hub source can have finished.
  size_t cdn_reads = 0;
  for (const auto& r : mock.requests()) {
    cdn_reads += r.cdn ? 1 : 0;
  }
  const bool gate_was_closed = run.first_line_read();
  open_gate(mock);
  std::vector<nlohmann::json> docs;
  while (auto line = run.line()) {
    docs.push_back(nlohmann::json::parse(*line));
  }
  const int status = run.finish();

  REQUIRE(first.has_value());
  CHECK(gate_was_closed);
  CHECK(cdn_reads == 0);
  const auto head = nlohmann::json::parse(*first);
  CHECK(head["source"] == local);
  CHECK(head["exit_code"] == 0);
  CHECK(head["params"]["total"] == truth_total("openai-community__gpt2"));
  REQUIRE(docs.size() == 1000);  // the 999 Hub sources, then the summary
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  std::set<std::string> seen;
  for (size_t i = 0; i + 1 < docs.size(); ++i) {
    CHECK(docs[i]["exit_code"] == 0);
    CHECK(docs[i]["params"]["total"] == truth_total("openai-community__gpt2"));
    seen.insert(docs[i]["source"].get<std::string>());
  }
  CHECK(seen.size() == 999);
  CHECK(docs.back()["summary"]["sources"] == 1000);
  CHECK(docs.back()["summary"]["exit_codes"]["0"] == 1000);
}

TEST_CASE(
    "emit-config in a batch writes a model's files as it completes, its gap sections within "
    "a second, and the gap reports as separate calls leave them") {
  // DeepSeek-V2-Lite (a local folder; MLA goes to gaps/mla.md) first, then Hub repos held by the
  // mock: its config and report must be on disk while the others have not even been listed,
  // and its gap sections a second later (a report is rewritten at most once a second), still
  // before any Hub source is read. Each write of a report is whole and atomic
  // (tests/e2e/durability_test.cpp).
  MockHub mock;
  serve_held_copies(mock, "e", 20);
  TempDir dir;
  const std::string local = corpus_model("deepseek-ai__DeepSeek-V2-Lite").string();
  const fs::path sources = write_sources(dir.path(), local, "e", 20);
  const ProcessEnvironment env = hub_environment(mock, dir.path());
  // What DeepSeek-V2-Lite alone writes to the gap reports.
  const ProcessResult alone =
      run_mbuild({"emit-config", local, "--out-dir", (dir / "alone-configs").string(), "--gaps-dir",
                  (dir / "alone-gaps").string(), "--quiet"});
  REQUIRE(alone.exit_code == 0);
  StreamedRun run({"emit-config", "--from", "-", "--format", "jsonl", "--out-dir",
                   (dir / "configs").string(), "--gaps-dir", (dir / "gaps").string()},
                  env, sources, mock);
  const auto first = run.line();
  const auto configs_then = list_dir(dir / "configs");
  const bool gate_was_closed = run.first_line_read();
  // The gate is still closed: DeepSeek's gap reports appear while no Hub source can finish.
  std::map<std::string, std::string> gaps_then;
  for (int i = 0; i < 600 && gaps_then != read_tree(dir / "alone-gaps"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gaps_then = fs::exists(dir / "gaps") ? read_tree(dir / "gaps") : gaps_then;
  }
  size_t cdn_reads = 0;
  for (const auto& r : mock.requests()) {
    cdn_reads += r.cdn ? 1 : 0;
  }
  open_gate(mock);
  std::vector<nlohmann::json> docs;
  while (auto line = run.line()) {
    docs.push_back(nlohmann::json::parse(*line));
  }
  const int status = run.finish();

  REQUIRE(first.has_value());
  CHECK(gate_was_closed);
  const auto head = nlohmann::json::parse(*first);
  CHECK(head["source"] == local);
  CHECK(head["exit_code"] == 0);
  // Its config and validation report first; its gap reports too when it took over a second.
  REQUIRE(head["written"].size() >= 2);
  CHECK_THAT(head["written"][0].get<std::string>(), Catch::EndsWith(".json"));
  CHECK_THAT(head["written"][1].get<std::string>(), Catch::EndsWith(".validation.md"));
  CHECK(configs_then.size() == 2);  // its config and validation report, no other model's
  CHECK(cdn_reads == 0);
  CHECK(gaps_then == read_tree(dir / "alone-gaps"));  // DeepSeek's sections, complete
  REQUIRE(docs.size() == 21);                         // the 20 Hub sources, then the summary
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(list_dir(dir / "configs").size() == 42);
  // The Hub sources in a second call add their sections to DeepSeek's reports: the same
  // reports as the batch wrote.
  std::vector<std::string> hub_args{"emit-config",
                                    "--out-dir",
                                    (dir / "alone-configs").string(),
                                    "--gaps-dir",
                                    (dir / "alone-gaps").string(),
                                    "--quiet"};
  for (int i = 0; i < 20; ++i) {
    hub_args.push_back(fmt::format("held/e{}", i));
  }
  const ProcessResult hub = run_mbuild(hub_args, env);
  REQUIRE(hub.exit_code == 0);
  CHECK(read_tree(dir / "gaps") == read_tree(dir / "alone-gaps"));
}
