import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { App, BackendContext, Service } from "@sdx/sdk";
import { exampleContext } from "@sdx/sdk/testing";
import { checkK8s } from "../check-k8s.js";
import type { K8sTarget } from "../k8s-target.js";
import { renderK8s } from "./render-k8s.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const img = `registry.test/x@sha256:${"7".repeat(64)}`;
const DATA = "volumes: [{ name: data, path: /data, kind: persistent, size: 1Gi }]";

async function context(services: string): Promise<BackendContext<K8sTarget>> {
  const dir = mkdtempSync(join(tmpdir(), "sdx-k8s-strategy-"));
  dirs.push(dir);
  writeFileSync(join(dir, "sdx.yaml"), `name: store\nservices:\n${services}\ntargets:\n  k8s:\n    kind: kubernetes\n    namespace: store\n`);
  return exampleContext<K8sTarget>(join(dir, "sdx.yaml"), { kind: "kubernetes" }, {});
}

/** The app wrote `strategy: rolling` itself (validation's `strategyGiven`). */
const givenStrategy = (ctx: BackendContext<K8sTarget>, name: string): BackendContext<K8sTarget> => ({
  ...ctx,
  app: { ...ctx.app, services: ctx.app.services.map((s) => (s.name === name ? { ...s, rollout: { ...s.rollout, strategyGiven: true } as Service["rollout"] } : s)) } as App,
});

const strategy = (ctx: BackendContext<K8sTarget>, name: string): unknown => {
  const d = renderK8s(ctx).find((r) => r.kind === "Deployment" && r.name === name);
  if (!d) throw new Error(`no Deployment ${name}`);
  return (d.body as { spec: { strategy: unknown } }).spec.strategy;
};

describe("Deployment strategy", () => {
  it("recreates one replica with a persistent volume, fixed or autoscaled to at most one", async () => {
    const ctx = await context([
      `  db:\n    image: "${img}"\n    replicas: 1\n    ${DATA}`,
      `  search:\n    image: "${img}"\n    autoscale: { min: 1, max: 1 }\n    ${DATA}`,
    ].join("\n"));
    expect(strategy(ctx, "db")).toEqual({ type: "Recreate" });
    expect(strategy(ctx, "search")).toEqual({ type: "Recreate" });
  });

  it("rolls several replicas, one replica without a persistent volume, and a surge the app asked for", async () => {
    const ctx = await context([
      `  shared:\n    image: "${img}"\n    replicas: 2\n    ${DATA}`,
      `  web:\n    image: "${img}"\n    replicas: 1`,
      `  db:\n    image: "${img}"\n    ${DATA}\n    rollout: { strategy: rolling, maxSurge: 1 }`,
    ].join("\n"));
    expect(strategy(ctx, "shared")).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } });
    expect(strategy(ctx, "web")).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } });
    expect(strategy(givenStrategy(ctx, "db"), "db")).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  });

  it("reports Recreate with its reason, and warns when the app asks for a second pod on the volume", async () => {
    const ctx = await context([
      `  db:\n    image: "${img}"\n    ${DATA}`,
      `  legacy:\n    image: "${img}"\n    ${DATA}\n    rollout: { strategy: rolling, maxSurge: 1 }`,
    ].join("\n"));
    const { diagnostics, fidelity } = checkK8s(givenStrategy(ctx, "legacy"));
    expect(fidelity.filter((f) => f.field === "rollout" || f.field === "rollout.strategy")).toEqual([
      { service: "db", field: "rollout.strategy", level: "exact", note: "Recreate" },
      {
        service: "db", field: "rollout", level: "exact",
        note: "one replica with a persistent volume: stop-first (recreate) so two processes never share the volume (Deployment strategy Recreate); set strategy: rolling with maxSurge: 1 to start the new one first",
      },
      { service: "legacy", field: "rollout.strategy", level: "exact", note: "RollingUpdate" },
    ]);
    expect(diagnostics).toEqual([expect.objectContaining({ code: "SDX_ROLLOUT_SHARED_VOLUME", severity: "warning", target: "k8s", path: "services.legacy.rollout" })]);
  });
});
