// mbuild inspect <source>...: a summary of each model (config, files, params, memory, layers).
#include <chrono>
#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "mbuild/analysis/analysis.hpp"
#include "mbuild/analysis/fit.hpp"
#include "mbuild/analysis/variant.hpp"
#include "mbuild/render/render.hpp"

namespace mbuild::cli {
namespace {

struct InspectCommandOptions {
  CommonOptions common;
  std::vector<std::string> sources;
  std::string tensors_csv;
  uint64_t context = 0;
  uint64_t batch = 1;
  std::vector<std::string> gpus;  // --gpu NAME[xN], repeatable or a comma list
  double gpu_mem_gb = 0;          // --gpu-mem / --gpu-bw: a device not in the table ("custom")
  double gpu_bw_gb_s = 0;
  std::string weights_format;
  std::string kv_dtype;  // empty: the model's dtype for the KV cache, bf16 for the fit
  bool kv_mtp = false;   // --kv-mtp: the MTP layers' KV too
};

// The devices asked for: each --gpu, and "custom" from --gpu-mem / --gpu-bw (alone, or named
// as --gpu customxN).
Result<std::vector<DeviceCount>> asked_devices(const InspectCommandOptions& o) {
  std::vector<DeviceCount> out;
  const bool custom = o.gpu_mem_gb > 0 || o.gpu_bw_gb_s > 0;
  if (custom && (o.gpu_mem_gb <= 0 || o.gpu_bw_gb_s <= 0)) {
    return fail(ErrorKind::usage, "--gpu-mem/--gpu-bw", "give both, in GB and GB/s");
  }
  const Device custom_device{"custom", "", static_cast<uint64_t>(o.gpu_mem_gb * 1e9),
                             static_cast<uint64_t>(o.gpu_bw_gb_s * 1e9), "--gpu-mem/--gpu-bw"};
  bool custom_named = false;
  for (const std::string& spec : o.gpus) {
    if (custom && (spec == "custom" || spec.starts_with("customx"))) {
      uint64_t count = 1;
      if (spec.size() > 7) {
        try {
          count = std::stoull(spec.substr(7));
        } catch (const std::exception&) {
          return fail(ErrorKind::usage, spec, "not a GPU count");
        }
      }
      out.push_back({custom_device, count ? count : 1});
      custom_named = true;
      continue;
    }
    auto d = parse_device_count(spec);
    if (!d) {
      return tl::unexpected(d.error());
    }
    out.push_back(*d);
  }
  if (custom && !custom_named) {
    out.push_back({custom_device, 1});
  }
  return out;
}

int run_inspect(const InspectCommandOptions& o) {
  if (o.common.format == "md") {
    print_error({ErrorKind::usage, "--format md", "inspect writes text, json or jsonl"});
    return 2;
  }
  auto sources = gather_sources(o.sources, o.common);
  if (!sources) {
    print_error(sources.error());
    return exit_code(sources.error().kind);
  }
  if (!o.tensors_csv.empty() && sources->size() != 1) {
    print_error({ErrorKind::usage, "--tensors-csv", "takes exactly one source"});
    return 2;
  }
  auto devices = asked_devices(o);
  if (!devices) {
    print_error(devices.error());
    return 2;
  }
  const Environment& env = environment();
  const bool jsonl = o.common.format == "jsonl";
  const bool json = o.common.format == "json";
  const auto started = std::chrono::steady_clock::now();
  BatchSummary summary;
  // json: one array in input order, so the documents wait; text and jsonl go out as each
  // source completes (or in input order with --ordered) and are not kept.
  std::vector<std::string> json_items(json ? sources->size() : 0);
  size_t printed = 0;
  for_each_model(*sources, o.common, env, o.common.ordered, [&](SourceResult& r) {
    auto fail_with = [&](const Error& e) {
      const int code = exit_code(e.kind);
      summary.add(r, code);
      if (jsonl) {
        const std::string line =
            nlohmann::json{{"source", *r.spec}, {"exit_code", code}, {"error", e.message()}}
                .dump() +
            "\n";
        std::fputs(line.c_str(), stdout);
        std::fflush(stdout);
      } else {
        print_error(e);
      }
    };
    if (!r.model) {
      return fail_with(r.model.error());
    }
    const Model& model = *r.model;
    // No weights, no report: exit 4 and nothing on stdout, as for a bin-only repo
    // (README "Exit codes"); config.json alone is checked by validate.
    if (model.files.empty()) {
      return fail_with(
          Error{ErrorKind::not_found, model.ref.id, "no safetensors or GGUF weights",
                model.other_weights.empty()
                    ? "mbuild reads safetensors and GGUF headers"
                    : fmt::format("found {}; mbuild reads safetensors and GGUF headers only",
                                  fmt::join(model.other_weights, ", "))});
    }
    const Analysis report =
        analyze(model, {.context = o.context,
                        .batch = o.batch,
                        .kv_dtype_bytes = kv_dtype_bytes(o.kv_dtype).value_or(0),
                        .kv_mtp = o.kv_mtp});
    std::vector<Fit> fits;
    for (const DeviceCount& d : *devices) {
      auto fit = fit_model(model, report, d,
                           {.weights_format = o.weights_format,
                            .context = o.context,
                            .batch = o.batch,
                            .kv_dtype = o.kv_dtype.empty() ? "bf16" : o.kv_dtype,
                            .kv_mtp = o.kv_mtp});
      if (!fit) {
        return fail_with(fit.error());
      }
      fits.push_back(std::move(*fit));
    }
    int code = 0;
    if (!o.tensors_csv.empty()) {
      if (auto ok = write_file_atomic(o.tensors_csv, render_tensors_csv(model, report)); !ok) {
        print_error(ok.error());
        code = exit_code(ok.error().kind);
      }
    }
    summary.add(r, code);
    if (o.common.format == "variant") {
      const std::string text = render_variant(model, variant_report(model, report.params));
      std::fputs((printed++ > 0 ? "\n" + text : text).c_str(), stdout);
      std::fflush(stdout);
    } else if (json) {
      json_items[r.index] = render_inspect_json(model, report, fits);
    } else if (jsonl) {
      auto doc = nlohmann::json::parse(render_inspect_json(model, report, fits));
      doc["source"] = *r.spec;
      doc["exit_code"] = code;
      std::fputs((doc.dump() + "\n").c_str(), stdout);
      std::fflush(stdout);
    } else {
      std::string text = render_inspect_text(model, report, fits);
      std::fputs((printed++ > 0 ? "\n" + text : text).c_str(), stdout);
      std::fflush(stdout);
    }
  });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (json) {
    std::string items;
    size_t n = 0;
    for (const std::string& item : json_items) {
      if (!item.empty()) {
        items += (n++ ? "," : "") + item;
      }
    }
    if (n > 0) {
      std::fputs(sources->size() == 1 ? items.c_str() : ("[" + items + "]\n").c_str(), stdout);
    }
  } else if (jsonl) {
    std::fputs(summary.json_line(seconds).c_str(), stdout);
  } else if (sources->size() > 1 && !o.common.quiet) {
    std::fputs(summary.text(seconds).c_str(), stderr);
  }
  std::fflush(stdout);
  return summary.exit_code();
}

}  // namespace

void setup_inspect(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<InspectCommandOptions>();
  CLI::App* sub = app.add_subcommand(
      "inspect", "Summarise models: config, files, params by dtype and component, memory, layers");
  sub->add_option(
      "source", options->sources,
      "Hub id org/name[@revision][:TAG], model folder, .safetensors / .gguf file (or --from)");
  add_common_options(*sub, options->common);
  sub->add_option("--tensors-csv", options->tensors_csv,
                  "Write one row per tensor (kind,name,shape,dtype) to FILE");
  sub->add_option("--context", options->context, "Context length for the KV-cache figure")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  sub->add_option("--batch", options->batch, "Batch size for the KV-cache figure")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20));
  sub->add_option("--gpu", options->gpus,
                  "Deployment fit on NAME[xN] (H100x8, H200, B200x8, A100-80G, L40S, L4, "
                  "RTX-4090, RTX-5090, MI300X, M2-Ultra, M3-Max, M4-Max, ...); repeatable or a "
                  "comma list")
      ->delimiter(',');
  sub->add_option("--gpu-mem", options->gpu_mem_gb,
                  "Memory of a device not in the table, in GB (with --gpu-bw; --gpu customxN)")
      ->check(CLI::Range(0.001, 1e9));
  sub->add_option("--gpu-bw", options->gpu_bw_gb_s, "Memory bandwidth of that device, in GB/s")
      ->check(CLI::Range(0.001, 1e12));
  sub->add_option("--weights-format", options->weights_format,
                  "Weights for the fit: as stored (default), bf16, fp16, fp8, int8, int4, q8_0, "
                  "q4_k_m, mxfp4, nvfp4 or a GGUF type (q4_k, q6_k, ...)");
  sub->add_option("--kv-dtype", options->kv_dtype,
                  "KV-cache dtype (default: the model's dtype; bf16 for the fit)")
      ->check(CLI::IsMember({"bf16", "fp16", "fp8", "fp32"}));
  sub->add_flag("--kv-mtp", options->kv_mtp,
                "Count the KV cache of the multi-token-prediction layers too (speculative "
                "decoding); left out by default");
  sub->callback([options, &exit_code] { exit_code = run_inspect(*options); });
}

}  // namespace mbuild::cli
