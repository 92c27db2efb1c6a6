#!/usr/bin/env node
// Kubernetes deploy benchmark: sdx (the backend's plan + apply + rollout wait,
// in process) against `kubectl apply -f <the same rendered manifests>` plus
// `kubectl rollout status` for each Deployment, in the same run, alternating,
// each in a fresh namespace. Prints medians and the ratio (target <= 1.2x).
// Usage: npx tsc -b packages/backend-k8s && node bench/k8s-deploy.mjs [--runs N]
// Needs the local control plane: bash scripts/testenv/k8s.sh up
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { dumpYaml } from "@kubernetes/client-node";
import { loadApp, revealDeep, targetKinds } from "@sdx/sdk";
import { EXAMPLE_SECRET_ENV, contextForApp, exampleFile, renderFor } from "@sdx/sdk/testing";
import { createBackend } from "@sdx/backend-k8s";

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf("--runs") + 1]) || 3;
const envFile = join(process.env.SDX_TESTENV_DIR ?? "/tmp/sdx-testenv", "k8s.env");
const te = Object.fromEntries(readFileSync(envFile, "utf8").split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
const kubeconfig = process.env.SDX_K8S_KUBECONFIG ?? te.SDX_K8S_KUBECONFIG;
const context = process.env.SDX_K8S_CONTEXT ?? te.SDX_K8S_CONTEXT;
const kubectlBin = process.env.SDX_K8S_KUBECTL ?? te.SDX_K8S_KUBECTL ?? "kubectl";
const kubectl = (...a) => execFileSync(kubectlBin, ["--kubeconfig", kubeconfig, "--context", context, ...a], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

// The same shop as the integration tests: small CPU requests so rollouts fit the fake nodes.
async function shopContext(namespace) {
  const loaded = await loadApp(exampleFile("shop"), { env: EXAMPLE_SECRET_ENV, targetKinds: await targetKinds() });
  const app = {
    ...loaded.app,
    services: loaded.app.services.map((s) => ({ ...s, resources: { ...s.resources, cpuMillis: 100, memoryMiB: 64 } })),
    targets: loaded.app.targets.map((t) => (t.kind === "kubernetes" ? { ...t, kubeconfig, context, namespace } : t)),
  };
  return contextForApp(app, { kind: "kubernetes" }, dirname(exampleFile("shop")), EXAMPLE_SECRET_ENV);
}

const backend = createBackend();

async function runSdx() {
  const ns = `bench-sdx-${randomBytes(3).toString("hex")}`;
  const ctx = await shopContext(ns);
  const t0 = performance.now();
  const plan = await backend.plan(ctx, renderFor(backend, ctx), {});
  const result = await backend.apply(ctx, plan, {});
  const ms = performance.now() - t0;
  if (result.status !== "succeeded") throw new Error(`sdx deploy ${result.status}: ${JSON.stringify(result.error)}`);
  return { ns, ms };
}

async function runKubectl(dir) {
  const ns = `bench-kubectl-${randomBytes(3).toString("hex")}`;
  const ctx = await shopContext(ns);
  const resources = renderFor(backend, ctx);
  // The manifests sdx applies, revealed for the file (deleted after the run). An
  // autoscaled Deployment gets the replicas sdx seeds, as a kubectl user would write.
  const docs = [{ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }, ...resources.map((r) => {
    const body = revealDeep(r.body);
    const seed = body.metadata.annotations?.["sdx.dev/initial-replicas"];
    return seed ? { ...body, spec: { ...body.spec, replicas: Number(seed) } } : body;
  })];
  const file = join(dir, `${ns}.yaml`);
  writeFileSync(file, docs.map((d) => dumpYaml(d)).join("---\n"), { mode: 0o600 });
  const deployments = resources.filter((r) => r.kind === "Deployment").map((r) => r.name);
  const t0 = performance.now();
  kubectl("apply", "-f", file);
  for (const d of deployments) kubectl("-n", ns, "rollout", "status", `deployment/${d}`, "--timeout=300s");
  const ms = performance.now() - t0;
  return { ns, ms };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const dir = mkdtempSync(join(tmpdir(), "sdx-bench-k8s-"));
const sdx = [];
const kc = [];
try {
  for (let i = 0; i < runs; i++) {
    // Alternate who goes first so warm caches favour neither.
    const order = i % 2 === 0 ? [runSdx, () => runKubectl(dir)] : [() => runKubectl(dir), runSdx];
    for (const f of order) {
      const r = await f();
      (f === runSdx ? sdx : kc).push(r.ms);
      kubectl("delete", "namespace", r.ns, "--wait=true", "--timeout=120s"); // outside the timing: a terminating namespace loads the controllers
    }
    process.stdout.write(`run ${i + 1}: sdx ${sdx.at(-1).toFixed(0)} ms, kubectl ${kc.at(-1).toFixed(0)} ms\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const ms = median(sdx);
const mk = median(kc);
process.stdout.write(`\nexamples/shop on the local control plane, ${runs} runs (median):\n`);
process.stdout.write(`  sdx plan+apply+wait          ${ms.toFixed(0)} ms\n`);
process.stdout.write(`  kubectl apply + rollout status ${mk.toFixed(0)} ms\n`);
process.stdout.write(`  ratio sdx/kubectl            ${(ms / mk).toFixed(2)}x (target <= 1.20x)\n`);
