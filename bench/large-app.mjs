#!/usr/bin/env node
// Large-input benchmark: validate, plan --offline (priced, Kubernetes) and
// import of a generated 1,000-service app, each as a whole CLI process, against
// the peer in the same run: validating the 3-service shop 333 times in one
// process (the same number of services, in small apps). Plus the hostile
// shapes of issue #16 (25,000 labels, an alias bomb, a million nested
// brackets), which must end in a clear error within the same budget.
// Usage: node bench/large-app.mjs [--runs N] [--enforce]   (build first: npm run build)
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf("--runs") + 1]) || 5;
const enforce = args.includes("--enforce");
const cli = resolve(root, "packages/sdk/dist/cli/run-cli.js");
const IMAGE = `ghcr.io/acme/web:1.0@sha256:${"a".repeat(64)}`;
const dir = mkdtempSync(join(tmpdir(), "sdx-bench-large-"));

const yaml = (v, indent = "") =>
  Object.entries(v).map(([k, x]) => (x !== null && typeof x === "object" && !Array.isArray(x)
    ? `${indent}${k}:\n${yaml(x, `${indent}  `)}`
    : `${indent}${k}: ${JSON.stringify(x)}\n`)).join("");
const services = {};
const compose = {};
for (let i = 0; i < 1000; i++) {
  services[`svc-${i}`] = { image: IMAGE, replicas: 1 + (i % 5), env: { MODE: "prod", INDEX: String(i) }, labels: { team: `t${i % 7}` }, resources: { cpu: "250m", memory: "256Mi" } };
  compose[`svc-${i}`] = { image: IMAGE, environment: { MODE: "prod" }, deploy: { replicas: 1 + (i % 5) } };
}
const app = join(dir, "sdx.yaml");
writeFileSync(app, yaml({ name: "big", services, targets: { k8s: { kind: "kubernetes", pricing: { provider: "aws", region: "us-east-1", nodeTypes: ["m6i.large", "m6i.xlarge"] } } } }));
const composeFile = join(dir, "compose.yaml");
writeFileSync(composeFile, yaml({ services: compose }));
const labels = join(dir, "labels.yaml");
writeFileSync(labels, `name: lab\nservices:\n  web:\n    image: ${JSON.stringify(IMAGE)}\n    labels:\n${Array.from({ length: 25_000 }, (_, i) => `      l${i}: v\n`).join("")}`);
const bomb = join(dir, "bomb.yaml");
writeFileSync(bomb, ["name: bomb", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]', ..."bcdefgh".split("").map((c, i) => `${c}: &${c} [${Array(9).fill(`*${"abcdefgh"[i]}`).join(",")}]`), "services: { web: { image: x } }", ""].join("\n"));
const deep = join(dir, "deep.yaml");
writeFileSync(deep, `name: deep\nd: ${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}\n`);

// One process per measurement; the child times the CLI call itself and reports peak RSS.
const inProcess = (body) => [
  "--input-type=module", "-e",
  `const m = await import(${JSON.stringify(cli)}); const t0 = performance.now(); let code = 0; ${body}; process.stderr.write("MS " + (performance.now() - t0) + " MAXRSS " + process.resourceUsage().maxRSS + " CODE " + code + "\\n");`,
];
const cliCall = (argv) => inProcess(`code = await m.runCli(${JSON.stringify(argv)}, { stdout: () => {}, stderr: () => {}, env: { SDX_RESOLVE_IMAGES: "0" } })`);

function measure(name, nodeArgs, expectCode) {
  const times = [];
  let rss = 0;
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, nodeArgs, { cwd: root, encoding: "utf8" });
    const m = /MS ([\d.]+) MAXRSS (\d+) CODE (\d+)/.exec(r.stderr);
    if (!m) throw new Error(`${name}: ${r.stderr}`);
    if (Number(m[3]) !== expectCode) throw new Error(`${name} exited ${m[3]}, expected ${expectCode}`);
    times.push(Number(m[1]));
    rss = Math.max(rss, Number(m[2]) / 1024);
  }
  times.sort((a, b) => a - b);
  return { name, median: times[Math.floor(times.length / 2)], rssMiB: rss };
}

const shop = resolve(root, "examples/shop/sdx.yaml");
const peer = measure("peer: validate shop × 333", inProcess(`for (let i = 0; i < 333; i++) code = Math.max(code, await m.runCli(["validate", ${JSON.stringify(shop)}], { stdout: () => {}, stderr: () => {}, env: { SHOP_DB_PASSWORD: "x", SHOP_API_TOKEN: "x" } }))`), 0);
const rows = [
  peer,
  measure("validate 1,000 services", cliCall(["validate", app]), 0),
  measure("plan --offline 1,000 services (priced)", cliCall(["plan", "--offline", app]), 0),
  measure("import 1,000-service compose", cliCall(["import", composeFile, "--json"]), 0),
  measure("validate 25,000 labels (refused)", cliCall(["validate", labels]), 2),
  measure("validate alias bomb (refused)", cliCall(["validate", bomb]), 2),
  measure("validate 1e6 nested brackets (refused)", cliCall(["validate", deep]), 2),
];
console.log(`node ${process.version}, ${runs} runs each (median ms inside the process, peak RSS MiB, ratio to the peer)`);
for (const r of rows) console.log(`${r.name.padEnd(42)} ${r.median.toFixed(0).padStart(6)} ms  ${r.rssMiB.toFixed(0).padStart(4)} MiB  ×${(r.median / peer.median).toFixed(2)}`);
const budget = rows.slice(1).map((r) => [`${r.name} ≤ 2000 ms`, r.median <= 2000]);
for (const [what, ok] of budget) console.log(`${ok ? "ok  " : "OVER"} ${what}`);
if (enforce && budget.some(([, ok]) => !ok)) process.exitCode = 1;
