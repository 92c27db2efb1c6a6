#!/usr/bin/env node
// Start-up benchmark: `sdx plan --offline examples/shop/sdx.yaml` and
// `sdx --version` as whole processes, against bare `node -e 0` in the same run
// (the floor any Node CLI pays). Prints medians, peak RSS and ratios.
// Usage: node bench/cli-startup.mjs [--runs N] [--enforce]   (build first: npm run build)
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf("--runs") + 1]) || 11;
const enforce = args.includes("--enforce");
const cli = resolve(root, "packages/sdk/dist/cli/run-cli.js");

// The child reports its own peak RSS after the CLI returns, so the figure is
// the CLI's real high-water mark, not a sampling guess.
const wrap = (argv) => [
  "--input-type=module", "-e",
  `const m = await import(${JSON.stringify(cli)}); const code = await m.runCli(${JSON.stringify(argv)}, { stdout: () => {}, stderr: () => {} }); process.stderr.write("MAXRSS " + process.resourceUsage().maxRSS + "\\n"); process.exitCode = code;`,
];

function measure(name, nodeArgs, cwd = root) {
  const times = [];
  let rss = 0;
  for (let i = 0; i < runs + 1; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, nodeArgs, { cwd, encoding: "utf8" });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr}`);
    const m = /MAXRSS (\d+)/.exec(r.stderr);
    if (m) rss = Math.max(rss, Number(m[1]) / 1024);
    if (i > 0) times.push(ms); // first run warms the file cache
  }
  times.sort((a, b) => a - b);
  return { name, median: times[Math.floor(times.length / 2)], min: times[0], rssMiB: rss };
}

const bare = measure("node -e 0 (floor)", ["-e", "0"]);
const version = measure("sdx --version", wrap(["--version"]));
const plan = measure("sdx plan --offline examples/shop", wrap(["plan", "--offline", "examples/shop/sdx.yaml"]));
const rows = [bare, version, plan];
console.log(`node ${process.version}, ${runs} runs each (median / min wall ms, peak RSS MiB, ratio to bare node)`);
for (const r of rows) console.log(`${r.name.padEnd(36)} ${r.median.toFixed(0).padStart(5)} ms  ${r.min.toFixed(0).padStart(5)} ms  ${r.rssMiB ? r.rssMiB.toFixed(0).padStart(4) + " MiB" : "    -   "}  ×${(r.median / bare.median).toFixed(2)}`);
const budget = [
  ["plan --offline median ≤ 300 ms", plan.median <= 300],
  ["plan --offline peak RSS ≤ 150 MB", plan.rssMiB <= 150],
  ["--version median ≤ 150 ms", version.median <= 150],
];
for (const [what, ok] of budget) console.log(`${ok ? "ok  " : "OVER"} ${what}`);
if (enforce && budget.some(([, ok]) => !ok)) process.exitCode = 1;
