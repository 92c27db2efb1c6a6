#!/usr/bin/env node
// Pricing benchmark: choosing the cheapest way to run examples/shop over the whole
// embedded catalog (every instance type × region × on-demand/spot, plus Fargate),
// against a naive baseline in the same run (a full estimateNodes per candidate).
// Also: catalog load time, and the estimator on the shop's own targets.
// Usage: node bench/choose-cheapest.mjs [--runs N] [--enforce]   (build first: npm run build)
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadApp } from "@sdx/sdk";
import { billedFargateSize, EcsBackend } from "@sdx/backend-ecs";
import { K8sBackend } from "@sdx/backend-k8s";
import { SwarmBackend } from "@sdx/backend-swarm";
import { chooseFromCatalog, createCostEstimator, embeddedCatalogPath, estimateNodes, parseCatalog } from "@sdx/pricing";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf("--runs") + 1]) || 11;
const enforce = args.includes("--enforce");

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function time(fn, n = runs) {
  fn(); // warm-up: JIT and file cache
  const t = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}
async function timeAsync(fn, n = runs) {
  await fn();
  const t = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

const backends = [new K8sBackend(), new SwarmBackend(), new EcsBackend()];
const { app: shop } = await loadApp(join(root, "examples/shop/sdx.yaml"), { targetKinds: new Map(backends.map((b) => [b.kind, b.target])) });
if (!shop) throw new Error("examples/shop/sdx.yaml did not load");
// What the sdk hands the estimator: each target's cost model, as its backend declares it.
const costModels = new Map(shop.targets.map((t) => [t.name, backends.find((b) => b.kind === t.kind).costModel(t)]));
const reserve = backends[0].costModel().reserve; // Kubernetes nodes, for the whole-catalog search

// 1. Catalog load: read + parse the index and every provider table, from disk each time.
const indexPath = embeddedCatalogPath();
const dir = dirname(indexPath);
const read = (name) => readFileSync(join(dir, name), "utf8");
const load = (providers) => {
  const c = parseCatalog(readFileSync(indexPath, "utf8"), read);
  for (const p of providers ?? c.providers()) c.table(p);
  return c;
};
const loadAll = time(() => load());
const loadAws = time(() => load(["aws"]));
const catalog = load();
let rows = 0;
for (const p of catalog.providers()) catalog.forEachVmPrice(p, () => rows++);

// 2. Choosing over the whole catalog.
let fast;
const chooseMs = time(() => {
  fast = chooseFromCatalog(shop, { catalog, reserve, fargateSize: billedFargateSize });
});

// 3. Naive baseline: price every candidate with the general estimator, then take the minimum.
let naiveBest;
const naiveMs = time(() => {
  naiveBest = undefined;
  for (const provider of catalog.providers()) {
    for (const region of catalog.regions(provider)) {
      for (const o of catalog.vmOffers(provider, region)) {
        for (const spot of [false, true]) {
          if (spot && o.spotUsd === undefined) continue;
          try {
            const { estimate } = estimateNodes({ app: shop, target: "x", backend: "kubernetes", provider, region, nodeTypes: [o], spotAvailable: spot, reserve });
            if (!naiveBest || estimate.hourlyUsd < naiveBest.hourlyUsd) naiveBest = estimate;
          } catch {
            // does not fit
          }
        }
      }
    }
  }
}, 3);

// 4. The estimator on the shop's own three targets, offline (what `sdx plan --offline` calls).
const estimator = createCostEstimator({ cacheDir: false, catalog });
const estimateMs = await timeAsync(() => estimator.estimate(shop, { offline: true, costModels }));

const f = (ms) => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
console.log(`node ${process.version}; catalog ${catalog.asOf}: ${rows} (type, region) prices, ${catalog.fargateRegions().length} Fargate regions; medians of ${runs} runs`);
console.log(`load catalog (index + aws, gcp, azure)      ${f(loadAll)}`);
console.log(`load catalog (index + aws only)             ${f(loadAws)}`);
console.log(`chooseFromCatalog(shop): ${fast.considered} candidates   ${f(chooseMs)}   cheapest: ${describe(fast.cheapest)}`);
console.log(`naive baseline (estimateNodes each)         ${f(naiveMs)}   cheapest nodes: ${naiveBest.capacity} ${naiveBest.provider} ${naiveBest.region} $${naiveBest.hourlyUsd.toFixed(4)}/h`);
console.log(`speed-up                                    ×${(naiveMs / chooseMs).toFixed(1)}`);
console.log(`estimate(shop targets, offline)             ${f(estimateMs)}`);
const bestNodes = chooseFromCatalog(shop, { catalog, reserve }).cheapest;
const agree = Math.abs(bestNodes.hourlyUsd - naiveBest.hourlyUsd) < 1e-9;
const budget = [
  ["choose over the whole catalog ≤ 50 ms", chooseMs <= 50],
  ["catalog load ≤ 50 ms", loadAll <= 50],
  ["fast and naive agree on the cheapest node offer", agree],
];
for (const [what, ok] of budget) console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
if (enforce && budget.some(([, ok]) => !ok)) process.exitCode = 1;

function describe(o) {
  if (!o) return "none";
  const what = o.kind === "fargate" ? "Fargate" : `${o.nodes}× ${o.instanceType}`;
  return `${what} (${o.capacity}) ${o.provider} ${o.region} $${o.hourlyUsd.toFixed(4)}/h`;
}
