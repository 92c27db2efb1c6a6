import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasChanges, loadApp, type App, type BackendApplyResult, type BackendContext } from "@sdx/sdk";
import { builtinTargetKinds, contextForApp, renderFor, requireTestenv, withTarget } from "@sdx/sdk/testing";
import { SwarmBackend } from "../src/index.js";
import type { SwarmTarget } from "../src/swarm-target.js";

const te = requireTestenv("swarm");
const APP = "itstopfirst";

// One replica with a persistent volume (a database): an update must stop the
// old task before the new one starts, so two processes never share the data.
describe.skipIf(!te.env)("swarm: one replica with a persistent volume updates stop-first", () => {
  const host = te.env?.SDX_SWARM_DOCKER_HOST ?? "";
  const image = te.env?.SDX_SWARM_IMAGE ?? "sdx-busybox:latest";
  const docker = new Docker({ socketPath: host.replace(/^unix:\/\//, "") });
  const backend = new SwarmBackend();
  const dir = mkdtempSync(join(tmpdir(), "sdx-swarm-stop-first-"));

  const appWith = async (version: string): Promise<App> => {
    writeFileSync(join(dir, "sdx.yaml"), `name: ${APP}
services:
  db:
    image: ${image}
    command: ["sh", "-c", "echo $VERSION >> /data/versions; while true; do sleep 1; done"]
    env: { VERSION: "${version}" }
    resources: { cpu: 50m, memory: 64Mi }
    replicas: 1
    volumes: [{ name: data, path: /data, kind: persistent }]
targets:
  swarm: { kind: swarm }
`);
    const loaded = await loadApp(join(dir, "sdx.yaml"), { env: {}, targetKinds: await builtinTargetKinds() });
    if (!loaded.app) throw new Error(JSON.stringify(loaded.diagnostics));
    return loaded.app;
  };
  const ctxFor = async (app: App): Promise<BackendContext<SwarmTarget>> => withTarget(await contextForApp<SwarmTarget>(app, { kind: "swarm" }, dir, {}), { host });
  const deploy = async (app: App): Promise<BackendApplyResult | undefined> => {
    const ctx = await ctxFor(app);
    const plan = await backend.plan(ctx, renderFor(backend, ctx), {});
    expect(plan.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    return hasChanges(plan) ? backend.apply(ctx, plan, { timeoutSeconds: 120 }) : undefined;
  };
  const running = async (): Promise<string[]> =>
    ((await docker.listTasks({ filters: JSON.stringify({ service: [`${APP}_db`] }) })) as any[]).filter((t) => t.Status.State === "running").map((t) => t.ID);
  const destroy = async (): Promise<void> => {
    await backend.destroy({ appName: APP, target: (await ctxFor(await appWith("1"))).target }, {});
    // destroy keeps data; this test's volume goes once the engine has removed the old tasks' containers (up to 30 s).
    const { Volumes } = (await docker.listVolumes({ filters: JSON.stringify({ label: [`com.docker.stack.namespace=${APP}`] }) })) as { Volumes: { Name: string }[] };
    for (const v of Volumes ?? []) {
      for (let i = 0; i < 120; i++) {
        if (await docker.getVolume(v.Name).remove().then(() => true, () => false)) break;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };

  beforeAll(destroy);
  afterAll(async () => {
    await destroy().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it("never runs two tasks while replacing the one task", async () => {
    expect((await deploy(await appWith("1")))?.status).toBe("succeeded");
    const [first] = await running();
    expect(first).toBeDefined();
    const svc = (await docker.getService(`${APP}_db`).inspect()) as any;
    expect(svc.Spec.UpdateConfig).toMatchObject({ Order: "stop-first", FailureAction: "rollback" });
    expect(svc.Spec.RollbackConfig).toMatchObject({ Order: "stop-first" });

    // Watch the tasks while the update runs: with start-first both would run for the monitor period.
    let most = 0;
    let watching = true;
    const watch = (async () => {
      while (watching) {
        most = Math.max(most, (await running()).length);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const result = await deploy(await appWith("2")).finally(() => { watching = false; });
    await watch;
    expect(result?.status).toBe("succeeded");
    expect(most).toBe(1);
    const now = await running();
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(first);
  });
});
