import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { requireTestenv } from "@sdx/sdk/testing";

const te = requireTestenv("k8s");
const registry = requireTestenv("registry");
const server = fileURLToPath(new URL("./server.js", import.meta.url));
const namespace = `sd-it-${process.pid}`;
const up = te.env !== undefined && registry.env !== undefined;
const env = up
  ? {
      ...process.env, SELF_DEPLOY_KUBECONFIG: te.env!.SDX_K8S_KUBECONFIG, SELF_DEPLOY_K8S_CONTEXT: te.env!.SDX_K8S_CONTEXT, SELF_DEPLOY_NAMESPACE: namespace,
      // The program builds itself and pushes to the test registry; KWOK pulls nothing, so sdx checks the digest exists before applying.
      SELF_DEPLOY_REGISTRY: `${registry.env!.SDX_REGISTRY_ADDR}/k8s-it-${process.pid}`, SELF_DEPLOY_BASE: registry.env!.SDX_REGISTRY_BASE_IMAGE,
      SDX_RESOLVE_IMAGES: "1",
    }
  : process.env;
const run = (...args: string[]) => spawnSync(process.execPath, [server, ...args], { encoding: "utf8", env, timeout: 120_000 });
const kubectl = (...args: string[]) =>
  spawnSync(te.env!.SDX_K8S_KUBECTL ?? "kubectl", ["--kubeconfig", te.env!.SDX_K8S_KUBECONFIG!, "--context", te.env!.SDX_K8S_CONTEXT!, "-n", namespace, ...args], { encoding: "utf8" });

describe.skipIf(!up)("self-deploy on a real Kubernetes control plane", () => {
  afterAll(() => {
    run("--destroy", "--targets", "k8s");
    kubectl("delete", "namespace", namespace, "--wait=false");
  });

  it("plans, prints the cost table and the chosen target, deploys itself and exits; the service keeps running", () => {
    const r = run("--deploy", "--target", "cheapest", "--targets", "k8s", "--replicas", "5");
    expect(r.stderr).toContain("✓ web rolled out");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/→\s+k8s\s+Kubernetes\s/);
    expect(r.stdout).toMatch(/deploy of revision [0-9a-f]{12} to k8s: succeeded/);
    const dep = JSON.parse(kubectl("get", "deployment", "web", "-o", "json").stdout) as { status: { readyReplicas: number }; metadata: { labels: Record<string, string> } };
    expect(dep.status.readyReplicas).toBe(5);
    // The Deployment runs the image sdx built and pushed, by digest, and tells the container which it is.
    const image = /^web → (\S+@sha256:[0-9a-f]{64})/m.exec(r.stdout)?.[1];
    expect(image).toMatch(new RegExp(`^${env.SELF_DEPLOY_REGISTRY!.replace(/\./g, "\\.")}/self-deploy-web@sha256:`));
    const spec = JSON.parse(kubectl("get", "deployment", "web", "-o", "json").stdout) as { spec: { template: { spec: { containers: { image: string; env?: { name: string; value?: string }[] }[] } } } };
    expect(spec.spec.template.spec.containers[0]!.image).toBe(image);
    expect(spec.spec.template.spec.containers[0]!.env).toContainEqual({ name: "SDX_IMAGE", value: image });
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

  it("refuses, before changing anything, an image whose digest is not in its registry", async () => {
    const sdk = await import("@sdx/sdk");
    const missing = `${registry.env!.SDX_REGISTRY_ADDR}/k8s-it-${process.pid}/nothing@sha256:${"0".repeat(64)}`;
    const app = {
      name: "sd-missing", services: { web: { image: missing, ports: [8080] } },
      targets: { k8s: { kind: "kubernetes", namespace: `${namespace}-missing`, kubeconfig: te.env!.SDX_K8S_KUBECONFIG, context: te.env!.SDX_K8S_CONTEXT } },
    };
    const { app: valid } = sdk.validateApp(app, { targetKinds: await sdk.targetKinds() });
    await expect(sdk.deploy(valid!, { target: "k8s", verifyImages: true })).rejects.toMatchObject({ code: "SDX_IMAGE_NOT_FOUND", fault: "user", path: "services.web.image" });
    expect(kubectl("get", "namespace", `${namespace}-missing`).status).not.toBe(0);
  });

  it("--destroy removes it", () => {
    const r = run("--destroy", "--targets", "k8s");
    expect(r.status).toBe(0);
    expect(kubectl("get", "deployment", "web").status).not.toBe(0);
  });
});
