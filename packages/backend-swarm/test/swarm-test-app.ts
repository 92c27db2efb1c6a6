/** The example shop, made runnable on the local test engine. Shared by the integration tests and the benchmark's idea of "shop". */
import type { App, BackendContext, ImageRef, Service } from "@sdx/sdk";
import { EXAMPLE_SECRET_ENV, builtinTargetKinds, contextForApp, exampleFile, withTarget } from "@sdx/sdk/testing";
import { loadApp } from "@sdx/sdk";
import { dirname } from "node:path";
import type { SwarmTarget } from "../src/swarm-target.js";

/** Loads examples/shop as `name`, with every image replaced by the local one (the examples' digests exist nowhere here) and small CPU reservations (2 cores in all). */
export async function localShop(name: string, image: string): Promise<App> {
  const loaded = await loadApp(exampleFile("shop"), { env: EXAMPLE_SECRET_ENV, targetKinds: await builtinTargetKinds() });
  if (!loaded.app) throw new Error(JSON.stringify(loaded.diagnostics));
  const img: ImageRef = { ref: image, repository: image.split(":")[0]!, tag: image.split(":")[1] ?? "latest" };
  return {
    ...loaded.app,
    name,
    // A service built from source (quotes) runs its own program, not busybox: the self-deploy suites build and run one for real.
    services: loaded.app.services.filter((s) => !s.build).map((s) => ({ ...s, image: img, resources: { cpuMillis: 50, memoryMiB: 64 } })),
  };
}

/** Backend context for the app on the test engine, host-mode publishing (no IPVS here). */
export async function swarmContext(app: App, host: string, env: Readonly<Record<string, string>> = EXAMPLE_SECRET_ENV): Promise<BackendContext<SwarmTarget>> {
  const ctx = await contextForApp<SwarmTarget>(app, { kind: "swarm" }, dirname(exampleFile("shop")), env);
  return withTarget(ctx, { host, publishMode: "host" });
}

/** A copy of the app with one service changed (or removed, when `patch` is undefined). */
export function changeService(app: App, name: string, patch: Partial<Service> | undefined): App {
  return {
    ...app,
    services: patch === undefined ? app.services.filter((s) => s.name !== name) : app.services.map((s) => (s.name === name ? { ...s, ...patch } : s)),
  };
}
