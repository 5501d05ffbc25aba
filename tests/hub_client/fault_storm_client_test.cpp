// Fault storm, in-process (issue #6): 60 Hub sources read at once by the real libcurl client from
// a mock Hub that injects every kind of fault at random. Each source either gives exactly the
// published numbers (truth.json; hand arithmetic for the synthetic repo) or fails with a
// one-line network error naming it; nothing hangs (a watchdog bounds each round), nothing
// crashes, nothing leaks (ASan runs this too).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "hub/fault_storm.hpp"
#include "hub/mock_hub.hpp"
#include "mbuild/analysis/analysis.hpp"
#include "mbuild/source/hub/hub_source.hpp"
#include "test_support.hpp"

using namespace mbuild;
using mbuild::test::MockHub;
using mbuild::test::RepoSpec;
namespace storm = mbuild::test::storm;

namespace {

// What one source came to.
struct Outcome {
  std::optional<Error> error;
  uint64_t total = 0;
  uint64_t raw = 0;
  uint64_t buffers = 0;
  size_t tensors = 0;
  size_t files = 0;
};

Outcome read_source(const MockHub& mock, const storm::Source& source) {
  hub::HubOptions o;
  o.endpoint = mock.endpoint();
  o.timeout = std::chrono::seconds(1);  // what HF_HUB_DOWNLOAD_TIMEOUT=1 gives the CLI
  o.backoff_base = std::chrono::milliseconds(20);
  hub::HubSource hub_source(source.id, "", std::move(o));
  Outcome out;
  auto snap = hub_source.snapshot();
  if (!snap) {
    out.error = snap.error();
    return out;
  }
  auto model = build_model(std::move(*snap));
  if (!model) {
    out.error = model.error();
    return out;
  }
  const Analysis report = analyze(*model, {});
  out.total = report.params.total;
  out.raw = report.params.raw_elements;
  out.buffers = report.params.buffers;
  out.tensors = model->tensors.size();
  out.files = model->files.size();
  return out;
}

}  // namespace

TEST_CASE("fault storm: 60 sources at once, every fault kind, ten seeds, in-process") {
  const auto setup_started = std::chrono::steady_clock::now();
  MockHub mock;
  const std::vector<storm::Source> sources = storm::add_sources(mock, test::corpus_dir());
  REQUIRE(sources.size() >= 50);
  storm::report_line(fmt::format(
      "setup: {} sources, {:.1f} s", sources.size(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - setup_started).count()));

  std::set<std::string> kinds_seen;
  size_t ok_in_all = 0, failed_in_all = 0;
  for (uint64_t seed : storm::seeds()) {
    INFO("seed " << seed);
    mock.set_faults(storm::faults(seed));
    mock.clear_requests();
    const auto started = std::chrono::steady_clock::now();

    std::vector<Outcome> outcomes(sources.size());
    auto finished = std::make_unique<std::atomic<bool>[]>(sources.size());
    {
      storm::Watchdog watchdog(std::chrono::seconds(120), fmt::format("seed {}", seed), [&] {
        std::string pending;
        for (size_t i = 0; i < sources.size(); ++i) {
          if (!finished[i]) {
            pending += sources[i].id + " ";
          }
        }
        return pending;
      });
      std::vector<std::thread> threads;
      for (size_t i = 0; i < sources.size(); ++i) {
        threads.emplace_back([&, i] {
          outcomes[i] = read_source(mock, sources[i]);
          finished[i] = true;
        });
      }
      for (auto& t : threads) {
        t.join();
      }
    }

    size_t ok = 0;
    for (size_t i = 0; i < sources.size(); ++i) {
      const storm::Source& s = sources[i];
      const Outcome& out = outcomes[i];
      INFO(s.id);
      if (!out.error) {
        ++ok;
        CHECK(out.total == s.expected.total_params);
        CHECK(out.raw == s.expected.raw_elements);
        CHECK(out.buffers == s.expected.buffers);
        CHECK(out.tensors == s.expected.tensors);
        CHECK(out.files == s.expected.files);
        continue;
      }
      const std::string message = out.error->message();
      storm::report_line(fmt::format("[kind {}] {}", static_cast<int>(out.error->kind), message));
      INFO(message);
      // Transient faults exhaust retries or loop: exit 6, never a bad-input or not-found verdict.
      CHECK(out.error->kind == ErrorKind::network);
      CHECK(message.find('\n') == std::string::npos);
      // Names which of the 60 sources failed, and which of its files.
      CHECK((message.starts_with(s.id + ": ") || message.starts_with(s.id + "/")));
    }
    ok_in_all += ok;
    failed_in_all += sources.size() - ok;
    CHECK(ok > sources.size() / 2);

    const auto log = mock.requests();
    const size_t faulted = storm::count_faults(log, kinds_seen);
    CHECK(faulted >= 20);
    storm::report_round(
        "in-process", seed, ok, sources.size() - ok, log.size(), faulted,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  // Across the ten rounds every kind of fault was injected, and both outcomes happened.
  for (const std::string& kind : storm::fault_names()) {
    INFO(kind);
    CHECK(kinds_seen.count(kind) == 1);
  }
  CHECK(ok_in_all > 0);
  CHECK(failed_in_all > 0);
}

// What the storm found, pinned down one fault at a time.

TEST_CASE("a second header read answered 200, Range ignored, keeps just the range") {
  MockHub mock;
  const RepoSpec spec = storm::long_header_repo("org/long-headers");
  mock.add_repo(spec);
  // The second read of each shard ends where its header ends (all three are the same length).
  const std::string& shard = spec.files.at("model-00001-of-00003.safetensors");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) {
    n = (n << 8) | static_cast<unsigned char>(shard[static_cast<size_t>(i)]);
  }
  mock.update_faults([&](test::Faults& f) {
    f.target = test::FaultTarget::cdn;
    f.range_contains = fmt::format("-{}", 8 + n - 1);
    f.ignore_range = true;
  });
  const Outcome out = read_source(mock, {"org/long-headers", storm::Expected{24, 24, 0, 6, 3}});
  INFO((out.error ? out.error->message() : std::string()));
  REQUIRE_FALSE(out.error);
  CHECK(out.total == 24);
  CHECK(out.tensors == 6);
  CHECK(out.files == 3);
  auto log = mock.requests();
  CHECK(std::count_if(log.begin(), log.end(), [](const auto& r) {
          return r.fault == "ignore_range";
        }) == 3);  // each header is longer than the client's first read
}

TEST_CASE("a transport failure names the repo and file it was reading, then the URL") {
  MockHub mock;
  mock.add_repo(test::corpus_repo(test::corpus_dir() / "openai-community__gpt2"));
  mock.update_faults([](test::Faults& f) {
    f.target = test::FaultTarget::cdn;
    f.fail_next_n = 1000;
    f.fail_status = 503;
  });
  const Outcome out = read_source(mock, {"openai-community/gpt2", storm::Expected{}});
  REQUIRE(out.error);
  CHECK(out.error->kind == ErrorKind::network);
  const std::string message = out.error->message();
  INFO(message);
  CHECK(message.starts_with("openai-community/gpt2/model.safetensors: HTTP 503 after"));
  CHECK(message.find(mock.cdn_origin() + "/xet-bridge/") != std::string::npos);
}
