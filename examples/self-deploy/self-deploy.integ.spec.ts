import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { requireTestenv } from "@sdx/sdk/testing";

const te = requireTestenv("k8s");
const server = fileURLToPath(new URL("./server.js", import.meta.url));
const namespace = `sd-it-${process.pid}`;
const env = te.env
  ? { ...process.env, SELF_DEPLOY_KUBECONFIG: te.env.SDX_K8S_KUBECONFIG, SELF_DEPLOY_K8S_CONTEXT: te.env.SDX_K8S_CONTEXT, SELF_DEPLOY_NAMESPACE: namespace }
  : process.env;
const run = (...args: string[]) => spawnSync(process.execPath, [server, ...args], { encoding: "utf8", env, timeout: 120_000 });
const kubectl = (...args: string[]) =>
  spawnSync(te.env!.SDX_K8S_KUBECTL ?? "kubectl", ["--kubeconfig", te.env!.SDX_K8S_KUBECONFIG!, "--context", te.env!.SDX_K8S_CONTEXT!, "-n", namespace, ...args], { encoding: "utf8" });

describe.skipIf(!te.env)("self-deploy on a real Kubernetes control plane", () => {
  afterAll(() => {
    run("--destroy", "--targets", "k8s");
    kubectl("delete", "namespace", namespace, "--wait=false");
  });

  it("plans, prints the cost table and the chosen target, deploys itself and exits; the service keeps running", () => {
    const r = run("--deploy", "--target", "cheapest", "--targets", "k8s", "--replicas", "5");
    expect(r.stderr).toContain("✓ web rolled out");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/→\s+k8s\s+kubernetes/);
    expect(r.stdout).toContain("deploy to k8s: succeeded");
    const dep = JSON.parse(kubectl("get", "deployment", "web", "-o", "json").stdout) as { status: { readyReplicas: number }; metadata: { labels: Record<string, string> } };
    expect(dep.status.readyReplicas).toBe(5);
    const revision = spawnSync(process.execPath, [server, "--revision", "--replicas", "5"], { encoding: "utf8" }).stdout.trim();
    expect(r.stdout).toContain(`revision ${revision}`);
  });

  it("re-deploying the same definition changes nothing; --plan previews a change without applying it", () => {
    expect(run("--deploy", "--targets", "k8s", "--replicas", "5").stdout).toContain("already runs revision");
    const p = run("--plan", "--targets", "k8s", "--replicas", "3", "--json");
    expect(p.status).toBe(0);
    const j = JSON.parse(p.stdout) as { plan: { actions: { kind: string; resource: { kind: string }; changes: { path: string; before: unknown; after: unknown }[] }[] } };
    const dep = j.plan.actions.find((a) => a.resource.kind === "Deployment")!;
    expect(dep.kind).toBe("update");
    expect(dep.changes).toContainEqual({ path: "spec.replicas", before: 5, after: 3 });
    expect(JSON.parse(kubectl("get", "deployment", "web", "-o", "json").stdout).spec.replicas).toBe(5);
  });

  it("--destroy removes it", () => {
    const r = run("--destroy", "--targets", "k8s");
    expect(r.status).toBe(0);
    expect(kubectl("get", "deployment", "web").status).not.toBe(0);
  });
});
