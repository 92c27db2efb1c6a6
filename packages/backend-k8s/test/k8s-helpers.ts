import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import type { App, BackendApplyResult, BackendContext, BackendPlan, Service } from "@sdx/sdk";
import type { K8sTarget } from "../src/k8s-target.js";
import { contextForApp, EXAMPLE_SECRET_ENV, exampleContext, renderFor, REPO_ROOT, withoutBuilds } from "@sdx/sdk/testing";
import { K8sBackend } from "../src/index.js";
import { HttpK8sClient, loadKubeConfig } from "../src/client/k8s-client.js";

/** The local control plane from scripts/testenv/k8s.sh (or your own cluster through the same variables). */
export interface K8sEnv {
  readonly kubeconfig: string;
  readonly context: string;
  readonly kubectl: string;
}

export function k8sEnv(env: Record<string, string>): K8sEnv {
  return { kubeconfig: env.SDX_K8S_KUBECONFIG!, context: env.SDX_K8S_CONTEXT!, kubectl: env.SDX_K8S_KUBECTL ?? "kubectl" };
}

export const randomNs = (prefix: string): string => `${prefix}-${randomBytes(3).toString("hex")}`;

/** Runs kubectl against the test cluster; returns stdout. */
export function kubectl(e: K8sEnv, args: readonly string[], input?: string): string {
  return execFileSync(e.kubectl, ["--kubeconfig", e.kubeconfig, "--context", e.context, ...args], {
    encoding: "utf8", ...(input === undefined ? {} : { input }), stdio: ["pipe", "pipe", "pipe"],
  });
}

export function kubectlJson<T = any>(e: K8sEnv, args: readonly string[]): T {
  return JSON.parse(kubectl(e, [...args, "-o", "json"])) as T;
}

export const SHOP_DIR = resolve(REPO_ROOT, "examples/shop");

/**
 * examples/shop pointed at the test cluster and namespace. CPU and memory are
 * shrunk so every rollout (with surge) fits the three small fake nodes; the
 * behaviour under test does not depend on the sizes.
 */
export async function shopApp(e: K8sEnv, namespace: string): Promise<App> {
  // KWOK pulls nothing: the built service (quotes) runs a fixed image here; building is proven by the self-deploy suites.
  const app = withoutBuilds((await exampleContext<K8sTarget>("shop", { kind: "kubernetes" })).app);
  const t = app.targets.find((x) => x.kind === "kubernetes") as K8sTarget;
  const target: K8sTarget = { ...t, kubeconfig: e.kubeconfig, context: e.context, namespace };
  return {
    ...app,
    services: app.services.map((s) => ({ ...s, resources: { ...s.resources, cpuMillis: 100, memoryMiB: 64 } })),
    targets: [target],
  };
}

export function editService(app: App, name: string, f: (s: Service) => Service): App {
  return { ...app, services: app.services.map((s) => (s.name === name ? f(s) : s)) };
}

export function ctxFor(app: App, env: Record<string, string> = EXAMPLE_SECRET_ENV): Promise<BackendContext<K8sTarget>> {
  return contextForApp<K8sTarget>(app, { kind: "kubernetes" }, SHOP_DIR, env);
}

/** Plan then apply, the way the sdk's deploy does (minus target selection), refusing on error diagnostics. */
export async function planAndApply(backend: K8sBackend, ctx: BackendContext<K8sTarget>, opts: { signal?: AbortSignal; onEvent?: (e: any) => void } = {}): Promise<{ plan: BackendPlan; result: BackendApplyResult }> {
  const plan = await backend.plan(ctx, renderFor(backend, ctx), {});
  const errors = [...backend.check(ctx).diagnostics, ...plan.diagnostics].filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(`blocking diagnostics: ${JSON.stringify(errors)}`);
  const result = await backend.apply(ctx, plan, { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onEvent ? { onEvent: opts.onEvent } : {}) });
  return { plan, result };
}

export function clientFor(e: K8sEnv): HttpK8sClient {
  return new HttpK8sClient(loadKubeConfig({ kubeconfig: e.kubeconfig, context: e.context }));
}

export function deleteNamespace(e: K8sEnv, ns: string): void {
  try {
    kubectl(e, ["delete", "namespace", ns, "--wait=false", "--ignore-not-found"]);
  } catch {
    // best effort: the cluster is throwaway
  }
}
