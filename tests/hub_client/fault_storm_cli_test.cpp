// Fault storm through the real binary (issue #6): one `mbuild inspect` call with 60 Hub sources
// against a mock Hub that injects every kind of fault at random. Each source either appears in
// the JSON with exactly the published numbers (truth.json; hand arithmetic for the synthetic
// repo) or has exactly one error line on stderr naming it; the call exits 0, or 6 when any
// source failed; it ends well within its time limit.
#include <catch2/catch.hpp>

#include <algorithm>
#include <future>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "e2e/fixtures.hpp"
#include "e2e/process.hpp"
#include "hub/fault_storm.hpp"
#include "hub/mock_hub.hpp"

using namespace mbuild::e2e;
using mbuild::test::MockHub;
namespace storm = mbuild::test::storm;

namespace {

// A call's limit: far beyond a round's few seconds, even under ASan, yet well short of ctest's.
constexpr std::chrono::seconds k_call_limit{120};

// True if `line` names `id` as a whole repo id (followed by ':' or '/', never by more name).
bool names(const std::string& line, const std::string& id) {
  for (size_t at = line.find(id); at != std::string::npos; at = line.find(id, at + 1)) {
    size_t end = at + id.size();
    if (end < line.size() && (line[end] == ':' || line[end] == '/')) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("fault storm: one inspect call with 60 sources, every fault kind, ten seeds") {
  const auto setup_started = std::chrono::steady_clock::now();
  MockHub mock;
  const std::vector<storm::Source> sources = storm::add_sources(mock, corpus_dir());
  REQUIRE(sources.size() >= 50);
  storm::report_line(fmt::format(
      "setup: {} sources, {:.1f} s", sources.size(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - setup_started).count()));
  std::vector<std::string> args = {binary().string(), "inspect"};
  for (const storm::Source& s : sources) {
    args.push_back(s.id);
  }
  args.insert(args.end(), {"--format", "json", "--no-progress"});

  std::set<std::string> kinds_seen;
  size_t ok_in_all = 0, failed_in_all = 0;
  std::future<void> removing;  // a round's cache (tens of MB) is removed while the next one runs
  for (uint64_t seed : storm::seeds()) {
    INFO("seed " << seed);
    mock.set_faults(storm::faults(seed));
    mock.clear_requests();
    const auto started = std::chrono::steady_clock::now();
    // A fresh cache: every round reads everything from the storming Hub.
    auto cache = std::make_unique<TempDir>();
    ProcessEnvironment env = base_environment()
                                 .unset("HF_HUB_OFFLINE")
                                 .set("HF_ENDPOINT", mock.endpoint())
                                 .set("MBUILD_CACHE", cache->path().string())
                                 .set("HF_HUB_DOWNLOAD_TIMEOUT", "1");
    const ProcessResult r = run_process(args, env, k_call_limit);
    INFO("stderr: " << r.err);
    REQUIRE_FALSE(r.timed_out);
    REQUIRE(r.signal == 0);

    // stdout: the sources that succeeded, with the published numbers.
    std::set<std::string> succeeded;
    if (!r.out.empty()) {
      auto doc = nlohmann::json::parse(r.out);
      REQUIRE(doc.is_array());
      for (const auto& item : doc) {
        const std::string id = item.at("model").at("id").get<std::string>();
        auto source = std::find_if(sources.begin(), sources.end(),
                                   [&](const storm::Source& s) { return s.id == id; });
        REQUIRE(source != sources.end());
        CHECK(succeeded.insert(id).second);
        INFO(id);
        const storm::Expected& e = source->expected;
        const auto& params = item.at("params");
        CHECK(params.at("total").get<uint64_t>() == e.total_params);
        CHECK(params.at("raw_elements").get<uint64_t>() == e.raw_elements);
        CHECK(params.at("buffers").at("elements").get<uint64_t>() == e.buffers);
        CHECK(item.at("files").size() == e.files);
        uint64_t tensors = 0;
        for (const auto& file : item.at("files")) {
          tensors += file.at("tensors").get<uint64_t>();
        }
        CHECK(tensors == e.tensors);
      }
    }

    // stderr: one "mbuild: error:" line per failed source, naming it and no other.
    std::set<std::string> failed;
    for (const std::string& line : split_lines(r.err)) {
      INFO(line);
      storm::report_line(line);
      CHECK(line.starts_with("mbuild: error: "));
      std::vector<std::string> named;
      for (const storm::Source& s : sources) {
        if (names(line, s.id)) {
          named.push_back(s.id);
        }
      }
      REQUIRE(named.size() == 1);
      CHECK(failed.insert(named[0]).second);
      CHECK(succeeded.count(named[0]) == 0);
    }
    CHECK(succeeded.size() + failed.size() == sources.size());
    // Transient faults end as network errors only: exit 6 (README "Exit codes").
    CHECK(r.exit_code == (failed.empty() ? 0 : 6));
    const size_t ok = succeeded.size();
    CHECK(ok > sources.size() / 2);
    ok_in_all += ok;
    failed_in_all += failed.size();

    const auto log = mock.requests();
    const size_t faulted = storm::count_faults(log, kinds_seen);
    CHECK(faulted >= 20);
    storm::report_round(
        "cli", seed, ok, failed.size(), log.size(), faulted,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    removing =
        std::async(std::launch::async, [done = std::move(cache)]() mutable { done.reset(); });
  }
  for (const std::string& kind : storm::fault_names()) {
    INFO(kind);
    CHECK(kinds_seen.count(kind) == 1);
  }
  CHECK(ok_in_all > 0);
  CHECK(failed_in_all > 0);
}
