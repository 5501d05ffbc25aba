// mbuild emit-config <source>...: writes model_configs/<model_id>.json, its validation report
// <model_id>.validation.md beside it, and gaps/<layer>.md.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/check_options.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "mbuild/analysis/layer_map.hpp"
#include "mbuild/analysis/param_count.hpp"
#include "mbuild/arch/catalog.hpp"
#include "mbuild/render/emit_config.hpp"
#include "mbuild/render/gap_report.hpp"
#include "mbuild/render/render_validation.hpp"

namespace mbuild::cli {
namespace {

namespace fs = std::filesystem;

struct EmitConfigCommandOptions {
  CommonOptions common;
  std::vector<std::string> sources;
  std::string out_dir = "model_configs";
  std::string gaps_dir = "gaps";
  std::string catalog;
  std::string layout = "estimator";
  CheckFlags checks;
};

// How configs name their gap reports: the gaps folder relative to the configs folder's parent,
// so the default layout (model_configs/ beside gaps/) gives "gaps/mla.md" wherever it lives.
std::string gaps_prefix(const fs::path& out_dir, const fs::path& gaps_dir) {
  std::error_code ec;
  const fs::path base = fs::absolute(out_dir, ec).lexically_normal().parent_path();
  const fs::path gaps = fs::absolute(gaps_dir, ec).lexically_normal();
  fs::path rel = gaps.lexically_relative(base);
  std::string s = (rel.empty() ? gaps : rel).generic_string();
  while (s.size() > 1 && s.back() == '/') {
    s.pop_back();
  }
  return s;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Result<void> make_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir, ec)) {
    return fail(ErrorKind::io, dir.string(), "cannot create the folder");
  }
  return {};
}

// The gap reports of a run: each gathers the sections of every model with its layer class,
// those of earlier runs included. A report is rewritten whole (atomically) as models add to it,
// at most once per `k_gap_interval` so that a batch of a thousand models does not rewrite a
// growing file a thousand times, and once more at the end. A run shorter than the interval
// writes each report once; one that stops early has lost at most the last interval's sections,
// and every report on disk is a complete one (tests/e2e/durability_test.cpp).
class GapReports {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds k_gap_interval{1000};

  explicit GapReports(fs::path dir) : m_dir(std::move(dir)), m_started(Clock::now()) {}

  void add(const std::string& id, std::map<std::string, std::string> sections) {
    for (auto& [layer_class, section] : sections) {
      Report& r = m_reports[layer_class];
      r.sections[id] = std::move(section);
      r.dirty = true;
    }
  }

  // Writes the reports that changed, each at most once an interval (and not in the first).
  void write_due(Clock::time_point now, const std::function<void(const Error&)>& on_error) {
    for (auto& [layer_class, r] : m_reports) {
      if (r.dirty && now - r.last_write.value_or(m_started) >= k_gap_interval) {
        write(layer_class, r, now, on_error);
      }
    }
  }

  void write_all(const std::function<void(const Error&)>& on_error) {
    for (auto& [layer_class, r] : m_reports) {
      if (r.dirty) {
        write(layer_class, r, Clock::now(), on_error);
      }
    }
  }

  // Every report this run wrote, once each, in the order first written.
  const std::vector<std::string>& written() const { return m_written; }

 private:
  struct Report {
    std::map<std::string, std::string> sections;  // model id -> section, this run's
    bool dirty = false;
    std::optional<Clock::time_point> last_write;
    bool listed = false;
  };

  void write(const std::string& layer_class, Report& r, Clock::time_point now,
             const std::function<void(const Error&)>& on_error) {
    r.dirty = false;
    r.last_write = now;
    if (!m_dir_made) {
      if (auto ok = make_dir(m_dir); !ok) {
        on_error(ok.error());
        return;
      }
      m_dir_made = true;
    }
    const fs::path path = m_dir / gap_file_name(layer_class);
    // Sections of models not in this run are kept: the report lists every model it has seen.
    // The file is read at each write: this run's earlier version holds only sections the run
    // has too, and another process may have added its own meanwhile.
    std::map<std::string, std::string> merged;
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) {
      merged = parse_gap_sections(read_text(path));
    }
    for (const auto& [id, section] : r.sections) {
      merged[id] = section;
    }
    if (auto ok = write_file_atomic(path, render_gap_report(layer_class, merged)); !ok) {
      on_error(ok.error());
      return;
    }
    if (!r.listed) {
      r.listed = true;
      m_written.push_back(path.string());
    }
  }

  fs::path m_dir;
  Clock::time_point m_started;
  bool m_dir_made = false;
  std::map<std::string, Report> m_reports;
  std::vector<std::string> m_written;
};

// Calls `tick` every quarter second on a thread of its own until destroyed.
class Ticker {
 public:
  explicit Ticker(std::function<void()> tick)
      : m_thread([this, tick = std::move(tick)] {
          std::unique_lock lock(m_mutex);
          while (!m_cv.wait_for(lock, std::chrono::milliseconds(250), [this] { return m_stop; })) {
            lock.unlock();
            tick();
            lock.lock();
          }
        }) {}
  ~Ticker() {
    {
      std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    m_cv.notify_all();
    m_thread.join();
  }
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

 private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stop = false;
  std::thread m_thread;
};

int run_emit_config(const EmitConfigCommandOptions& o) {
  if (o.common.format == "variant") {
    print_error({ErrorKind::usage, "--format variant", "only inspect writes the variant block"});
    return 2;
  }
  Catalog catalog = builtin_catalog();
  if (!o.catalog.empty()) {
    auto loaded = load_catalog(o.catalog);
    if (!loaded) {
      print_error(loaded.error());
      return exit_code(loaded.error().kind);
    }
    catalog = std::move(*loaded);
  }
  const auto checks = make_validate_options(o.checks);
  if (!checks) {
    print_error(checks.error());
    return exit_code(checks.error().kind);
  }
  const fs::path out_dir(o.out_dir), gaps_dir(o.gaps_dir);
  const std::string prefix = gaps_prefix(out_dir, gaps_dir);
  auto sources = gather_sources(o.sources, o.common);
  if (!sources) {
    print_error(sources.error());
    return exit_code(sources.error().kind);
  }
  const bool jsonl = o.common.format == "jsonl";
  const auto started = std::chrono::steady_clock::now();
  BatchSummary summary;
  int exit = 0;
  std::vector<std::string> written;
  GapReports gaps(gaps_dir);
  // Results come one at a time; the ticker writes the gap reports that are due between them,
  // so a model's sections reach disk within about a second even while the next ones wait.
  std::mutex run_mutex;
  auto note_run_error = [&](const Error& e) {
    print_error(e);
    exit = std::max(exit, exit_code(e.kind));
  };
  std::optional<Ticker> ticker;
  ticker.emplace([&] {
    std::lock_guard lock(run_mutex);
    gaps.write_due(GapReports::Clock::now(), note_run_error);
  });
  for_each_model(*sources, o.common, environment(), o.common.ordered, [&](SourceResult& r) {
    std::lock_guard lock(run_mutex);
    const size_t written_before = written.size();
    int code = 0;
    auto note_error = [&](const Error& e) {
      print_error(e);
      code = std::max(code, exit_code(e.kind));
      exit = std::max(exit, exit_code(e.kind));
    };
    auto report = [&] {
      summary.add(r, code);
      if (jsonl) {
        nlohmann::json files(std::vector<std::string>(
            written.begin() + static_cast<long>(written_before), written.end()));
        std::fputs(
            (nlohmann::json{{"source", *r.spec}, {"exit_code", code}, {"written", files}}.dump() +
             "\n")
                .c_str(),
            stdout);
        std::fflush(stdout);
      } else if (o.common.format != "json" && !o.common.quiet) {
        for (size_t i = written_before; i < written.size(); ++i) {
          std::fputs(fmt::format("wrote {}\n", written[i]).c_str(), stdout);
        }
        std::fflush(stdout);
      }
    };
    auto& model = r.model;
    if (!model) {
      note_error(model.error());
      return report();
    }
    if (model->tensors.empty()) {
      note_error({ErrorKind::not_found, model->ref.id, "no safetensors weights",
                  "emit-config maps the tensors of safetensors headers"});
      return report();
    }
    // Every figure once: the counts, the layer map, the checks' inputs.
    const Analysis analysis = analyze(*model, {.context = checks->context,
                                               .batch = checks->batch,
                                               .explain = true,
                                               .map_layers = true,
                                               .catalog = &catalog});
    const ParamCount& params = analysis.params;
    const LayerMap& map = *analysis.map;
    const std::string id = emitted_model_id(model->ref);
    const ValidationOutcome validation = validation_for_emit(*model, analysis, *checks);
    const auto doc = build_emitted_config(
        *model, analysis, catalog, validation, prefix,
        o.layout == "inline" ? ConfigLayout::inline_list : ConfigLayout::estimator);
    if (auto ok = make_dir(out_dir); !ok) {
      note_error(ok.error());
      return report();
    }
    const fs::path path = out_dir / (id + ".json");
    if (auto ok = write_file_atomic(path, render_emitted_config(doc)); !ok) {
      note_error(ok.error());
      return report();
    }
    written.push_back(path.string());
    const fs::path report_path = out_dir / validation_report_file_name(id);
    if (auto ok = write_file_atomic(report_path, render_validation_md(validation.report)); !ok) {
      note_error(ok.error());
      return report();
    }
    written.push_back(report_path.string());
    gaps.add(id, render_gap_sections(*model, params, map, catalog, id));
    report();
  });
  ticker.reset();
  gaps.write_all(note_run_error);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  written.insert(written.end(), gaps.written().begin(), gaps.written().end());
  if (o.common.format == "json") {
    std::fputs((nlohmann::json(written).dump(2) + "\n").c_str(), stdout);
  } else if (jsonl) {
    std::fputs(summary.json_line(seconds).c_str(), stdout);
  } else if (!o.common.quiet) {
    for (const std::string& path : gaps.written()) {
      std::fputs(fmt::format("wrote {}\n", path).c_str(), stdout);
    }
    if (sources->size() > 1) {
      std::fputs(summary.text(seconds).c_str(), stderr);
    }
  }
  std::fflush(stdout);
  return std::max(exit, summary.exit_code());
}

}  // namespace

void setup_emit_config(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<EmitConfigCommandOptions>();
  CLI::App* sub = app.add_subcommand(
      "emit-config",
      "Write model_configs/<model_id>.json (estimator config), its validation report "
      "<model_id>.validation.md and gaps/<layer>.md reports");
  // Not required: --from may give every source (gather_sources refuses none at all).
  sub->add_option("source", options->sources,
                  "Hub id org/name[@revision][:TAG], model folder, .safetensors / .gguf file "
                  "(or --from)");
  add_common_options(*sub, options->common);
  sub->add_option("--out-dir", options->out_dir,
                  "Folder for <model_id>.json (default model_configs)");
  sub->add_option("--gaps-dir", options->gaps_dir,
                  "Folder for the gap reports of unsupported layer classes (default gaps)");
  sub->add_option("--catalog", options->catalog,
                  "JSON file of the estimator's supported layer classes (replaces the "
                  "built-in catalog)");
  sub->add_option("--layout", options->layout,
                  "estimator: layer_types holds only the catalog's classes, the rest goes to "
                  "unsupported_layer_types (default); inline: one layer_types list with "
                  "\"supported\": false entries (schema 1's form)")
      ->check(CLI::IsMember({"estimator", "inline"}));
  add_check_options(*sub, options->checks);
  sub->callback([options, &exit_code] { exit_code = run_emit_config(*options); });
}

}  // namespace mbuild::cli
