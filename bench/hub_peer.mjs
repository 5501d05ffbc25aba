// hub_peer.mjs: the @huggingface/hub peer for hub_bench.py.
//
//   node hub_peer.mjs ORG/NAME HUB_URL
//
// Runs the official JS client's parseSafetensorsMetadata({ repo, computeParametersCount: true,
// hubUrl }) once and prints one JSON line on stdout:
//   {"ok":true,"repo":..,"version":..,"elapsed_ms":..,"parameter_count":{dtype:n},
//    "parameter_sum":n,"parameter_total":n|null,"sharded":bool,"files":n}
// elapsed_ms is measured inside node around the call only (no module loading, no process start).
// On failure: {"ok":false,"error":..,"status":..,"url":..} and exit code 1.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parseSafetensorsMetadata } from "@huggingface/hub";

function peerVersion() {
  try {
    const url = new URL("./node_modules/@huggingface/hub/package.json", import.meta.url);
    return JSON.parse(readFileSync(url, "utf8")).version;
  } catch {
    return "unknown";
  }
}

const [repo, hubUrl] = process.argv.slice(2);
if (!repo || !hubUrl) {
  console.error("usage: node hub_peer.mjs ORG/NAME HUB_URL");
  process.exit(2);
}

const version = peerVersion();
const started = performance.now();
try {
  const result = await parseSafetensorsMetadata({ repo, computeParametersCount: true, hubUrl });
  const elapsed = performance.now() - started;
  const counts = result.parameterCount ?? {};
  // Sum as BigInt so a 405B total cannot lose precision (it would fit a double, but be exact).
  let sum = 0n;
  for (const n of Object.values(counts)) {
    sum += BigInt(n);
  }
  console.log(
    JSON.stringify({
      ok: true,
      repo,
      version,
      elapsed_ms: Math.round(elapsed * 1000) / 1000,
      parameter_count: counts,
      parameter_sum: Number(sum),
      parameter_total: result.parameterTotal ?? null,
      sharded: result.sharded,
      files: result.filepaths?.length ?? null,
    }),
  );
} catch (error) {
  const elapsed = performance.now() - started;
  console.log(
    JSON.stringify({
      ok: false,
      repo,
      version,
      elapsed_ms: Math.round(elapsed * 1000) / 1000,
      error: String(error?.message ?? error),
      name: error?.name ?? null,
      status: error?.statusCode ?? null,
      url: error?.url ?? null,
    }),
  );
  process.exitCode = 1;
}
