// mbuild inspect <source>...: a summary of each model (config, files, params, memory, layers).
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "mbuild/analysis/analysis.hpp"
#include "mbuild/analysis/fit.hpp"
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
  std::string kv_dtype = "bf16";
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
  if (!o.tensors_csv.empty() && o.sources.size() != 1) {
    print_error({ErrorKind::usage, "--tensors-csv", "takes exactly one source"});
    return 2;
  }
  if (o.common.format == "md") {
    print_error({ErrorKind::usage, "--format md", "inspect writes text or json"});
    return 2;
  }
  auto devices = asked_devices(o);
  if (!devices) {
    print_error(devices.error());
    return 2;
  }
  const Environment& env = environment();
  auto models = load_models(o.sources, o.common, env);
  int exit = 0;
  std::string json_items;
  size_t json_count = 0;
  for (size_t i = 0; i < models.size(); ++i) {
    auto& model = models[i];
    if (!model) {
      print_error(model.error());
      exit = exit ? exit : exit_code(model.error().kind);
      continue;
    }
    // No weights, no report: exit 4 and nothing on stdout, as for a bin-only repo (README
    // "Exit codes"); config.json alone is checked by validate.
    if (model->files.empty()) {
      Error e{ErrorKind::not_found, model->ref.id, "no safetensors or GGUF weights",
              model->other_weights.empty()
                  ? "mbuild reads safetensors and GGUF headers"
                  : fmt::format("found {}; mbuild reads safetensors and GGUF headers only",
                                fmt::join(model->other_weights, ", "))};
      print_error(e);
      exit = exit ? exit : exit_code(e.kind);
      continue;
    }
    const Analysis report = analyze(*model, {.context = o.context, .batch = o.batch});
    std::vector<Fit> fits;
    for (const DeviceCount& d : *devices) {
      auto fit = fit_model(*model, report, d,
                           {.weights_format = o.weights_format,
                            .context = o.context,
                            .batch = o.batch,
                            .kv_dtype = o.kv_dtype});
      if (!fit) {
        print_error(fit.error());
        return exit_code(fit.error().kind);
      }
      fits.push_back(std::move(*fit));
    }
    if (o.common.format == "json") {
      json_items += (json_count++ ? "," : "") + render_inspect_json(*model, report, fits);
    } else {
      std::string text = render_inspect_text(*model, report, fits);
      std::fputs((i > 0 ? "\n" + text : text).c_str(), stdout);
    }
    if (!o.tensors_csv.empty()) {
      if (auto ok = write_file_atomic(o.tensors_csv, render_tensors_csv(*model, report)); !ok) {
        print_error(ok.error());
        exit = exit ? exit : exit_code(ok.error().kind);
      }
    }
  }
  if (o.common.format == "json" && json_count > 0) {
    std::fputs(o.sources.size() == 1 ? json_items.c_str() : ("[" + json_items + "]\n").c_str(),
               stdout);
  }
  std::fflush(stdout);
  return exit;
}

}  // namespace

void setup_inspect(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<InspectCommandOptions>();
  CLI::App* sub = app.add_subcommand(
      "inspect", "Summarise models: config, files, params by dtype and component, memory, layers");
  sub->add_option("source", options->sources,
                  "Hub id org/name[@revision], model folder, or .safetensors / .gguf file")
      ->required();
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
  sub->add_option("--kv-dtype", options->kv_dtype, "KV-cache dtype for the fit (default bf16)")
      ->check(CLI::IsMember({"bf16", "fp16", "fp8", "fp32"}));
  sub->callback([options, &exit_code] { exit_code = run_inspect(*options); });
}

}  // namespace mbuild::cli
