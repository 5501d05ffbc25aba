// mock_hub_server: the mock Hub as a standalone process, for benchmarks.
//
//   mock_hub_server [--corpus DIR] [--repo org/name=DIR]... [--gated org/name[=TOKEN]]...
//                   [--private org/name[=TOKEN]]... [--latency-ms N] [--connection-latency-ms N]
//                   [--port N] [--cdn-port N] [--threads N] [--port-file FILE] [--log-file FILE]
//                   [--refuse-above N] [--cdn-origin URL] [--stats-file FILE]
//                   [--copies org/name=N]...
//
// --refuse-above N: a connection beyond N open at once (per server) is closed at its first
// request. --cdn-origin URL: the CDN origin put in redirects (a TLS front before the CDN).
// --stats-file FILE: at exit, {"hub": {opened, peak, refused}, "cdn": {...}} as JSON.
// --copies org/name=N: also serves that repo (given by --repo or --corpus) as org/name-0 ...
// org/name-(N-1), without reading its files again (batches of hundreds of sources).
//
// Prints the endpoint on stdout (and writes it to --port-file), serves until SIGINT/SIGTERM,
// then prints "mock_hub_server: N requests" on stderr and writes every request as JSON lines to
// --log-file.
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <pthread.h>

#include "mock_hub.hpp"

namespace {

using mbuild::test::RepoSpec;

struct ServerOptions {
  std::vector<RepoSpec> repos;
  std::vector<std::pair<std::string, long>> copies;                        // id -> how many copies
  std::map<std::string, std::pair<RepoSpec::Access, std::string>> access;  // id -> (access, token)
  mbuild::test::MockHubOptions hub;
  long latency_ms = 0;
  long connection_latency_ms = 0;
  std::string port_file;
  std::string log_file;
  std::string stats_file;
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "mock_hub_server: " << problem << "\n"
            << "usage: mock_hub_server [--corpus DIR] [--repo org/name=DIR]... "
               "[--gated org/name[=TOKEN]]... [--private org/name[=TOKEN]]... [--latency-ms N] "
               "[--connection-latency-ms N] [--port N] [--cdn-port N] [--threads N] "
               "[--port-file FILE] [--log-file FILE] [--refuse-above N] [--cdn-origin URL] "
               "[--stats-file FILE] [--copies org/name=N]\n";
  std::exit(2);
}

long to_number(const std::string& flag, const std::string& value) {
  char* end = nullptr;
  long n = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || n < 0) {
    usage(flag + " wants a non-negative integer, got '" + value + "'");
  }
  return n;
}

ServerOptions parse(int argc, char** argv) {
  ServerOptions o;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--help" || flag == "-h") {
      usage("help");
    }
    if (i + 1 >= args.size()) {
      usage("missing value after " + flag);
    }
    const std::string& value = args[++i];
    if (flag == "--repo") {
      std::size_t eq = value.find('=');
      if (eq == std::string::npos) {
        usage("--repo wants org/name=DIR");
      }
      RepoSpec spec;
      spec.id = value.substr(0, eq);
      spec.folder = value.substr(eq + 1);
      o.repos.push_back(std::move(spec));
    } else if (flag == "--copies") {
      std::size_t eq = value.find('=');
      if (eq == std::string::npos) {
        usage("--copies wants org/name=N");
      }
      o.copies.emplace_back(value.substr(0, eq), to_number(flag, value.substr(eq + 1)));
    } else if (flag == "--corpus") {
      for (const auto& entry : std::filesystem::directory_iterator(value)) {
        if (entry.is_directory() &&
            entry.path().filename().string().find("__") != std::string::npos) {
          o.repos.push_back(mbuild::test::corpus_repo(entry.path()));
        }
      }
    } else if (flag == "--gated" || flag == "--private") {
      std::size_t eq = value.find('=');
      auto access = flag == "--gated" ? RepoSpec::Access::gated : RepoSpec::Access::private_;
      o.access[value.substr(0, eq)] = {access, eq == std::string::npos ? "" : value.substr(eq + 1)};
    } else if (flag == "--latency-ms") {
      o.latency_ms = to_number(flag, value);
    } else if (flag == "--connection-latency-ms") {
      o.connection_latency_ms = to_number(flag, value);
    } else if (flag == "--port") {
      o.hub.hub_port = static_cast<int>(to_number(flag, value));
    } else if (flag == "--cdn-port") {
      o.hub.cdn_port = static_cast<int>(to_number(flag, value));
    } else if (flag == "--threads") {
      o.hub.worker_threads = static_cast<std::size_t>(to_number(flag, value));
    } else if (flag == "--port-file") {
      o.port_file = value;
    } else if (flag == "--log-file") {
      o.log_file = value;
    } else if (flag == "--stats-file") {
      o.stats_file = value;
    } else if (flag == "--refuse-above") {
      o.hub.refuse_connections_above = static_cast<std::size_t>(to_number(flag, value));
    } else if (flag == "--cdn-origin") {
      o.hub.cdn_advertised_origin = value;
    } else {
      usage("unknown option " + flag);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  ServerOptions options = parse(argc, argv);

  // Block the stop signals before any thread starts, then wait for them on this thread.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  try {
    mbuild::test::MockHub hub(options.hub);
    for (RepoSpec& spec : options.repos) {
      if (auto it = options.access.find(spec.id); it != options.access.end()) {
        spec.access = it->second.first;
        if (!it->second.second.empty()) {
          spec.approved_tokens.insert(it->second.second);
        }
      }
      hub.add_repo(std::move(spec));
    }
    for (const auto& [id, n] : options.copies) {
      for (long i = 0; i < n; ++i) {
        hub.add_copy(id, id + "-" + std::to_string(i));
      }
    }
    hub.update_faults([&](mbuild::test::Faults& f) {
      f.latency = std::chrono::milliseconds(options.latency_ms);
      f.new_connection_latency = std::chrono::milliseconds(options.connection_latency_ms);
    });

    std::cout << hub.endpoint() << std::endl;
    if (!options.port_file.empty()) {
      // Written whole under a temporary name, so a reader never sees a partial endpoint.
      std::string tmp = options.port_file + ".tmp";
      {
        std::ofstream out(tmp);
        out << hub.endpoint() << "\n";
      }
      std::filesystem::rename(tmp, options.port_file);
    }

    int received = 0;
    sigwait(&stop_signals, &received);

    std::vector<mbuild::test::RequestRecord> log = hub.requests();
    std::cerr << "mock_hub_server: " << log.size() << " requests\n";
    if (!options.stats_file.empty()) {
      std::ofstream out(options.stats_file);
      auto one = [](const mbuild::test::ConnectionStats& c) {
        return "{\"opened\": " + std::to_string(c.opened) +
               ", \"peak\": " + std::to_string(c.peak) +
               ", \"refused\": " + std::to_string(c.refused) + "}";
      };
      out << "{\"hub\": " << one(hub.connection_stats(false))
          << ", \"cdn\": " << one(hub.connection_stats(true)) << "}\n";
    }
    if (!options.log_file.empty()) {
      std::ofstream out(options.log_file);
      for (const auto& record : log) {
        out << mbuild::test::to_json_line(record) << "\n";
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "mock_hub_server: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
