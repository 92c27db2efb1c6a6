import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderFor, requireTestenv, EXAMPLE_SECRET_ENV } from "@sdx/sdk/testing";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { K8sBackend } from "../src/index.js";
import { configReferences } from "../src/plan/config-references.js";
import { ctxFor, deleteNamespace, editService, k8sEnv, kubectl, kubectlJson, planAndApply, randomNs, SHOP_DIR, shopApp, type K8sEnv } from "./k8s-helpers.js";
import type { K8sTarget } from "../src/k8s-target.js";

const te = requireTestenv("k8s");
const HERE = dirname(fileURLToPath(import.meta.url));

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly stdout: string;
}

/**
 * The sdx CLI (from the sources, see test/child/run-sdx.ts) as a child
 * process. `until(line)` is called with each stderr line; when it returns a
 * signal, that signal is sent to the child (once).
 */
function sdx(args: readonly string[], env: Record<string, string>, until?: (line: string) => NodeJS.Signals | undefined, onLine?: (line: string) => void): Promise<Run> {
  const child = spawn(process.execPath, [
    "--experimental-transform-types", "--no-warnings", "--conditions=sdx-source", "--import", "./ts-resolve.mjs", "run-sdx.ts", ...args,
  ], { cwd: join(HERE, "child"), env: { ...process.env, SDX_RESOLVE_IMAGES: "0", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let pending = "";
  let sent = false;
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
    pending += d.toString();
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      onLine?.(line);
      const sig = sent ? undefined : until?.(line);
      if (sig) {
        sent = true;
        child.kill(sig);
      }
    }
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 150_000);
  return new Promise((res) => child.on("close", (code, signal) => {
    clearTimeout(timer);
    res({ code, signal, stderr, stdout });
  }));
}

/** Every ConfigMap/Secret a Deployment, ReplicaSet or Pod of the namespace names, and whether it exists. */
function missingReferences(e: K8sEnv, ns: string): string[] {
  const objs = ["deployments", "replicasets", "pods"].flatMap((k) => kubectlJson(e, ["-n", ns, "get", k]).items.map((o: any) => ({ ...o, kind: o.kind ?? k })));
  const secrets = new Set(kubectlJson(e, ["-n", ns, "get", "secrets"]).items.map((s: any) => `Secret/${s.metadata.name}`));
  const maps = new Set(kubectlJson(e, ["-n", ns, "get", "configmaps"]).items.map((s: any) => `ConfigMap/${s.metadata.name}`));
  return [...configReferences(objs)].filter(([ref]) => !secrets.has(ref) && !maps.has(ref)).map(([ref, by]) => `${by} → ${ref}`);
}

describe.skipIf(!te.env)("kubernetes: a deploy interrupted by SIGINT/SIGKILL, then re-run", () => {
  const e: K8sEnv = te.env ? k8sEnv(te.env) : (undefined as never);
  const ns = randomNs("sdx-it-int");
  const dir = mkdtempSync(join(tmpdir(), "sdx-it-int-"));
  const file = join(dir, "sdx.yaml");
  const gates: string[] = [];

  /** Writes the app file: shop on the test cluster, small requests, api's pods gated on a node label (when given). */
  const writeApp = (gate?: string): void => {
    const doc = parse(readFileSync(join(SHOP_DIR, "sdx.yaml"), "utf8"));
    delete doc.$schema;
    // KWOK pulls nothing: the built service runs a fixed image here (the self-deploy suites build for real).
    delete doc.build;
    for (const [name, s] of Object.entries<any>(doc.services)) {
      if (s.build) {
        delete s.build;
        s.image = `ghcr.io/sdx-dev/shop-${name}@sha256:${"e".repeat(64)}`;
      }
    }
    for (const s of Object.values<any>(doc.services)) s.resources = { cpu: "100m", memory: "64Mi" };
    if (gate) doc.services.api.placement = { constraints: { [gate]: "open" } };
    doc.targets = { k8s: { kind: "kubernetes", namespace: ns, kubeconfig: e.kubeconfig, context: e.context } };
    writeFileSync(file, stringify(doc));
  };

  beforeAll(() => {
    cpSync(join(SHOP_DIR, "config"), join(dir, "config"), { recursive: true });
    cpSync(join(SHOP_DIR, "secrets"), join(dir, "secrets"), { recursive: true });
  });
  afterAll(() => {
    for (const g of gates) {
      try {
        kubectl(e, ["label", "nodes", "--all", `${g}-`]);
      } catch {
        // best effort
      }
    }
    deleteNamespace(e, ns);
    rmSync(dir, { recursive: true, force: true });
  });

  it("deploys shop through the CLI", async () => {
    writeApp();
    const r = await sdx(["deploy", file, "-t", "k8s", "--yes"], { ...EXAMPLE_SECRET_ENV });
    expect(r.code, r.stderr).toBe(0);
  });

  // Each case rotates the api's secret in a revision whose new pods cannot be
  // scheduled yet (a node label nobody has), so the rollout waits; the
  // interrupted run leaves it half-way, the re-run opens the gate while it waits.
  const cases = [
    { signal: "SIGINT", phase: "apply", at: (l: string) => /✓ (create|update) Secret api-secrets-/.test(l) },
    { signal: "SIGINT", phase: "wait", at: (l: string) => /… api: /.test(l) },
    { signal: "SIGKILL", phase: "apply", at: (l: string) => /✓ (create|update) Secret api-secrets-/.test(l) },
    { signal: "SIGKILL", phase: "wait", at: (l: string) => /… api: /.test(l) },
  ] as const;

  it.each(cases)("$signal during the $phase: the re-run waits and ends healthy, no object references a deleted Secret", async ({ signal, phase, at }) => {
    const gate = `sdx-it/gate-${signal.toLowerCase()}-${phase}`;
    gates.push(gate);
    writeApp(gate);
    const env = { ...EXAMPLE_SECRET_ENV, SHOP_DB_PASSWORD: `rotated-${signal}-${phase}` };
    const first = await sdx(["deploy", file, "-t", "k8s", "--yes"], env, (l) => (at(l) ? signal : undefined));
    if (signal === "SIGINT") expect(first.code, first.stderr).toBe(130);
    else expect(first.signal).toBe("SIGKILL");
    expect(missingReferences(e, ns)).toEqual([]);

    // The re-run: the plan must report the unfinished rollout (or the change), and the apply must wait for it.
    let opened = false;
    const open = (l: string): void => {
      if (!opened && /… api: /.test(l)) {
        opened = true;
        kubectl(e, ["label", "nodes", "--all", `${gate}=open`, "--overwrite"]);
      }
    };
    const again = await sdx(["deploy", file, "-t", "k8s", "--yes"], env, undefined, open);
    expect(again.code, again.stderr).toBe(0);
    expect(opened, again.stderr).toBe(true); // it waited on the api rollout
    expect(again.stderr).toMatch(/✓ api rolled out/);
    const api = kubectlJson(e, ["-n", ns, "get", "deployment", "api"]);
    expect(api.status.observedGeneration).toBe(api.metadata.generation);
    expect(api.status.updatedReplicas).toBe(api.spec.replicas);
    expect(api.status.availableReplicas).toBe(api.spec.replicas);
    expect(api.status.replicas).toBe(api.spec.replicas);
    const live = kubectlJson(e, ["-n", ns, "get", "secrets", "-l", "sdx.dev/service=api"]).items;
    const mounted = api.spec.template.spec.volumes.find((v: any) => v.secret)?.secret.secretName;
    const current = live.find((s: any) => s.metadata.name === mounted);
    expect(Buffer.from(current.data["db-password"], "base64").toString()).toBe(env.SHOP_DB_PASSWORD);
    expect(missingReferences(e, ns)).toEqual([]);
    // And then it is done: a third run has no rollout to start or wait for. (It may
    // still collect a Secret whose ReplicaSet the controller just trimmed from the history.)
    const third = await sdx(["deploy", file, "-t", "k8s", "--yes"], env);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).not.toMatch(/✓ (create|update|replace) Deployment|… |rolled out/);
    expect(missingReferences(e, ns)).toEqual([]);
  });
});

describe.skipIf(!te.env)("kubernetes: a scale-only change beyond the nodes' capacity", () => {
  const e: K8sEnv = te.env ? k8sEnv(te.env) : (undefined as never);
  const ns = randomNs("sdx-it-scale");
  const backend = new K8sBackend();
  afterAll(() => deleteNamespace(e, ns));

  it("fails fast with the scheduler's reason and rolls back to the previous replicas and revision", async () => {
    const app = editService(await shopApp(e, ns), "api", (s) => ({ ...s, resources: { ...s.resources, cpuMillis: 1500 } }));
    const ctx = await ctxFor(app);
    expect((await planAndApply(backend, ctx)).result.status).toBe("succeeded");
    const before = kubectlJson(e, ["-n", ns, "get", "deployment", "api"]);
    const rsBefore = kubectlJson(e, ["-n", ns, "get", "rs", "-l", "app.kubernetes.io/name=api"]).items.length;
    // 8 × 1.5 CPU on nodes of 2, 2 and 4 CPUs: at most 4 fit.
    const scaled = await ctxFor(editService(app, "api", (s) => ({ ...s, scale: { kind: "fixed", replicas: 8 } })));
    const plan = await backend.plan(scaled, renderFor(backend, scaled), {});
    expect(plan.actions.filter((a) => a.kind !== "no-op").map((a) => `${a.kind} ${a.resource.kind}/${a.resource.name}`)).toEqual(["update Deployment/api"]);
    const started = Date.now();
    const result = await backend.apply(scaled, plan, {});
    const took = Date.now() - started;
    expect(result.status, JSON.stringify(result.error)).toBe("rolled-back");
    const r = result.rollouts.find((x) => x.service === "api")!;
    expect(r.reason).toMatch(/^unschedulable: 0\/\d+ nodes are available: .*Insufficient cpu.*waiting will not fix it/);
    expect(took).toBeLessThan(60_000); // the deadline is 600 s
    const after = kubectlJson(e, ["-n", ns, "get", "deployment", "api"]);
    expect(after.spec.replicas).toBe(before.spec.replicas);
    expect(after.metadata.labels["sdx.dev/revision"]).toBe(before.metadata.labels["sdx.dev/revision"]);
    expect(JSON.stringify(after.spec.template)).toBe(JSON.stringify(before.spec.template));
    expect(kubectlJson(e, ["-n", ns, "get", "rs", "-l", "app.kubernetes.io/name=api"]).items).toHaveLength(rsBefore);
    const st = await backend.status({ appName: ctx.app.name, target: ctx.target }, {});
    expect(st.services.find((x) => x.service === "api")).toMatchObject({ desired: 2, revision: ctx.revision.services.api });
  });
});

