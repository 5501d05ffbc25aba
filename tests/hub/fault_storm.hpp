// What the fault-storm tests share (issue #6, "fault storm"): the sources (corpus replicas served
// under distinct ids, so that 60 sources run side by side), the faults of one round, and a
// watchdog that ends a hung round loudly instead of letting the suite hang.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "mock_hub.hpp"

namespace mbuild::test::storm {

// Ten rounds, one seed each. A failing round names its seed; re-running that seed replays the
// same fault for each request (see Faults::random_fault_rate).
inline std::vector<std::uint64_t> seeds() {
  return {101, 102, 103, 104, 105, 106, 107, 108, 109, 110};
}

// The numbers a source must give: truth.json's published counts for a corpus replica, hand
// arithmetic for the synthetic repo.
struct Expected {
  std::uint64_t total_params = 0;
  std::uint64_t raw_elements = 0;
  std::uint64_t buffers = 0;
  std::uint64_t tensors = 0;
  std::uint64_t files = 0;
};

// One source of the storm: a repo served under its own id.
struct Source {
  std::string id;  // "org-sK/name"
  Expected expected;
};

// Corpus folders and how many copies of each the storm reads: single files, shards with an
// index, and headers longer than half the first read (so body faults bite). The heavy replicas
// (thousands of tensors) are few: under ASan, parsing them is most of a round's work.
struct Copies {
  const char* folder;
  int copies;
};
inline constexpr Copies k_mix[] = {
    {"openai-community__gpt2", 7},
    {"meta-llama__Llama-3.2-1B-Instruct", 7},
    {"Qwen__Qwen2.5-7B-Instruct", 6},
    {"google__gemma-2-9b", 5},
    {"microsoft__Phi-3.5-mini-instruct", 5},
    {"mistralai__Mixtral-8x7B-v0.1", 4},
    {"Qwen__Qwen3-30B-A3B", 1},
    {"unsloth__Meta-Llama-3.1-8B-Instruct-bnb-4bit", 4},
    {"mlx-community__gemma-3-4b-pt-4bit", 4},
    {"deepseek-ai__DeepSeek-V2-Lite", 2},
    {"TheBloke__Mistral-7B-Instruct-v0.1-AWQ", 5},
};
// Copies of the synthetic repo: cheap to parse, yet every header needs a second read (as
// Qwen3-Next's do, whose 76k tensors would cost more than the rest of a round under ASan).
inline constexpr int k_long_header_copies = 10;

inline std::string le64(std::uint64_t n) {
  std::string out(8, '\0');
  for (std::size_t i = 0; i < 8; ++i) {
    out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  }
  return out;
}

// "storm-sK/long-headers": three shards and an index, each shard header ~300 KB (longer than the
// client's first read, which the index sizes) because of a long __metadata__. Shard i holds
// x{i} F32 [2, 2] (4 elements, bytes 0-16) and b{i} F32 [4] (4 elements, bytes 16-32):
// 3 x (4 + 4) = 24 parameters, 6 tensors, 3 files, total_size 3 x 32 = 96 bytes.
inline RepoSpec long_header_repo(const std::string& id) {
  RepoSpec spec;
  spec.id = id;
  nlohmann::json weight_map = nlohmann::json::object();
  for (int i = 1; i <= 3; ++i) {
    const std::string file = "model-0000" + std::to_string(i) + "-of-00003.safetensors";
    // The length is in __metadata__, which the index cannot tell: the first read, sized from
    // the index's names, falls short and a second one reads the rest.
    const std::string padded = "x" + std::to_string(i);
    const std::string small = "b" + std::to_string(i);
    nlohmann::json header = {
        {"__metadata__", {{"format", "pt"}, {"note", std::string(300'000, 'w')}}},
        {padded,
         {{"dtype", "F32"},
          {"shape", nlohmann::json::array({2, 2})},
          {"data_offsets", nlohmann::json::array({0, 16})}}},
        {small,
         {{"dtype", "F32"},
          {"shape", nlohmann::json::array({4})},
          {"data_offsets", nlohmann::json::array({16, 32})}}}};
    const std::string text = header.dump();
    spec.files[file] = le64(text.size()) + text;
    weight_map[padded] = file;
    weight_map[small] = file;
  }
  nlohmann::json index = {{"metadata", {{"total_size", 96}}}, {"weight_map", weight_map}};
  spec.files["model.safetensors.index.json"] = index.dump();
  return spec;
}

// Serves every copy on `hub` (each repo is read once, then copied) and returns the sources,
// interleaved so that neighbours differ.
inline std::vector<Source> add_sources(MockHub& hub, const std::filesystem::path& corpus) {
  std::map<std::string, Expected> truth;
  std::ifstream in(corpus / "truth.json");
  for (const auto& entry : nlohmann::json::parse(in)) {
    truth[entry.at("folder").get<std::string>()] = {
        entry.at("total_params").get<std::uint64_t>(),
        entry.at("raw_elements").get<std::uint64_t>(), entry.at("buffers").get<std::uint64_t>(),
        entry.at("tensors").get<std::uint64_t>(), entry.at("files").get<std::uint64_t>()};
  }
  auto copy_id = [](const std::string& org, int k, const std::string& name) {
    return org + "-s" + std::to_string(k) + "/" + name;
  };
  std::vector<Source> sources;
  for (int k = 0;; ++k) {
    bool any = false;
    for (const Copies& c : k_mix) {
      if (k >= c.copies) {
        continue;
      }
      any = true;
      const std::string folder = c.folder;
      const std::size_t sep = folder.find("__");
      const std::string id = copy_id(folder.substr(0, sep), k, folder.substr(sep + 2));
      if (k == 0) {
        RepoSpec spec = corpus_repo(corpus / folder);
        spec.id = id;
        hub.add_repo(std::move(spec));
      } else {
        hub.add_copy(copy_id(folder.substr(0, sep), 0, folder.substr(sep + 2)), id);
      }
      sources.push_back({id, truth.at(folder)});
    }
    if (k < k_long_header_copies) {
      any = true;
      const std::string id = copy_id("storm", k, "long-headers");
      if (k == 0) {
        hub.add_repo(long_header_repo(id));
      } else {
        hub.add_copy(copy_id("storm", 0, "long-headers"), id);
      }
      sources.push_back({id, Expected{24, 24, 0, 6, 3}});
    }
    if (!any) {
      return sources;
    }
  }
}

// The faults of one round: every kind, at a rate that fails some sources and not most. Stalls
// outlast the clients' stall timeout (HF_HUB_DOWNLOAD_TIMEOUT=1: libcurl gives up after 1-2 s of
// less than 1 byte/s), so they end in a timeout and a retry, not in a late answer.
inline Faults faults(std::uint64_t seed) {
  Faults f;
  f.random_fault_rate = 0.1;
  f.random_seed = seed;
  f.random_faults = all_random_faults();
  f.random_stall = std::chrono::milliseconds(2500);
  return f;
}

// The `fault` names the mock records, one per RandomFault kind.
inline std::vector<std::string> fault_names() {
  return {"status_500", "status_502",    "status_503",       "status_504",
          "status_429", "truncate_body", "close_mid_stream", "ignore_range",
          "reset",      "stall",         "stall_mid_stream", "redirect_loop"};
}

// MBUILD_STORM_VERBOSE set: each round prints its outcome, its time and its errors on stderr.
inline bool verbose() {
  return std::getenv("MBUILD_STORM_VERBOSE") != nullptr;
}

inline void report_line(const std::string& line) {
  if (verbose()) {
    std::fprintf(stderr, "  %s\n", line.c_str());
  }
}

// How many requests of `log` a fault hit; adds each fault's kind to `kinds_seen`.
inline std::size_t count_faults(const std::vector<RequestRecord>& log,
                                std::set<std::string>& kinds_seen) {
  std::size_t faulted = 0;
  for (const RequestRecord& r : log) {
    if (!r.fault.empty()) {
      ++faulted;
      kinds_seen.insert(r.fault);
    }
  }
  return faulted;
}

inline void report_round(const char* where, std::uint64_t seed, std::size_t ok, std::size_t failed,
                         std::size_t requests, std::size_t faults, double seconds) {
  if (verbose()) {
    std::fprintf(stderr,
                 "fault storm (%s) seed %llu: %zu ok, %zu failed, %zu requests, %zu faults, "
                 "%.1f s\n",
                 where, static_cast<unsigned long long>(seed), ok, failed, requests, faults,
                 seconds);
  }
}

// Aborts the process, after printing `what` and `pending()`, unless destroyed within `limit`.
// Catch2 assertions are not thread-safe and a hung thread cannot be joined, so a loud abort is
// the one honest way out of a hang.
class Watchdog {
 public:
  Watchdog(std::chrono::seconds limit, std::string what, std::function<std::string()> pending)
      : m_what(std::move(what)), m_pending(std::move(pending)), m_thread([this, limit] {
          std::unique_lock lock(m_mutex);
          if (!m_cv.wait_for(lock, limit, [this] { return m_done; })) {
            std::fprintf(stderr, "fault storm: %s still running after %lld s: %s\n", m_what.c_str(),
                         static_cast<long long>(limit.count()), m_pending().c_str());
            std::fflush(stderr);
            std::abort();
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(m_mutex);
      m_done = true;
    }
    m_cv.notify_all();
    m_thread.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::string m_what;
  std::function<std::string()> m_pending;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_done = false;
  std::thread m_thread;  // last: starts once the members above exist
};

}  // namespace mbuild::test::storm
