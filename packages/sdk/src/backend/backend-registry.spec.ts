import { describe, expect, it } from "vitest";
import { z } from "zod";
import { mkdtempSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { BackendRegistry } from "./backend-registry.js";
import { defineTargetKind } from "./define-target-kind.js";
import type { TargetKindSpec } from "./backend.js";
import type { Target } from "../model/app.js";
import { builtinBackendProviders } from "../di/builtin-providers.js";
import { loadApp } from "../load/load-app.js";

interface BoxTarget extends Target {
  readonly kind: "box";
  readonly keyFile: string;
  readonly socket?: string;
  readonly size: number;
}

const boxSettings = z.strictObject({
  keyFile: z.string().describe("SSH key of the box."),
  socket: z.string().optional(),
  size: z.number().int().default(1),
});
const boxSpec = defineTargetKind<BoxTarget, typeof boxSettings>({
  kind: "box",
  settings: boxSettings,
  normalize: (s, common) => ({ ok: true, target: { ...common, kind: "box", ...s } }),
  pathSettings: ["keyFile", "socket"],
});

const failingLoad = (): never => {
  throw new Error("the backend itself must not be loaded");
};

describe("BackendRegistry.targetKinds", () => {
  it("loads each kind's light spec, in registration order, without loading any backend", async () => {
    const registry = new BackendRegistry([
      ...builtinBackendProviders().map((p) => ({ ...p, load: failingLoad })),
      { kind: "box", load: failingLoad, loadTarget: () => boxSpec },
    ]);
    const kinds = await registry.targetKinds();
    expect([...kinds.keys()]).toEqual(["kubernetes", "swarm", "ecs", "hosts", "box"]);
    expect([...kinds.values()].map((s) => s.testenv)).toEqual(["k8s", "swarm", "ecs", "hosts", undefined]);
  });

  it("falls back to the backend's own spec when the provider has no loadTarget", async () => {
    const registry = new BackendRegistry([{ kind: "box", load: () => ({ kind: "box", target: boxSpec }) as never }]);
    expect((await registry.targetKinds()).get("box")).toBe(boxSpec);
  });

  it("refuses a spec for another kind, or one that redeclares a field every target has", async () => {
    const other = new BackendRegistry([{ kind: "crate", load: failingLoad, loadTarget: () => boxSpec as unknown as TargetKindSpec }]);
    await expect(other.targetKinds()).rejects.toMatchObject({ code: "SDX_INTERNAL", message: 'the target spec registered for "crate" is for kind "box"' });
    const greedy = defineTargetKind({ kind: "box", settings: z.strictObject({ pricing: z.string() }), normalize: (_s, common) => ({ ok: true, target: common }) });
    const reserved = new BackendRegistry([{ kind: "box", load: failingLoad, loadTarget: () => greedy }]);
    await expect(reserved.targetKinds()).rejects.toMatchObject({ code: "SDX_INTERNAL", message: 'the "box" target spec declares "pricing", which every target has' });
  });
});

describe("pathSettings", () => {
  it("resolves a kind's path settings against the app file's directory (and ~ against home), not other settings", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sdx-paths-"));
    const file = join(dir, "sdx.yaml");
    writeFileSync(file, "name: p\nservices: { web: { image: 'nginx:1' } }\ntargets:\n  b: { kind: box, keyFile: keys/id, socket: ~/box.sock }\n  a: { kind: box, keyFile: /etc/box/id }\n");
    const r = await loadApp(file, { targetKinds: new Map([["box", boxSpec]]) });
    expect(r.app!.targets).toEqual([
      { name: "b", kind: "box", overrides: [], keyFile: join(dir, "keys/id"), socket: join(homedir(), "box.sock"), size: 1 },
      { name: "a", kind: "box", overrides: [], keyFile: "/etc/box/id", size: 1 },
    ]);
  });

  it("resolves the built-in kubeconfig and tlsDir the same way", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sdx-paths-"));
    const file = join(dir, "sdx.yaml");
    writeFileSync(file, "name: p\nservices: { web: { image: 'nginx:1' } }\ntargets:\n  k: { kind: kubernetes, kubeconfig: ./kube/config }\n  s: { kind: swarm, tlsDir: ../certs }\n");
    const kinds = await new BackendRegistry(builtinBackendProviders()).targetKinds();
    const r = await loadApp(file, { targetKinds: kinds });
    expect(r.app!.targets.map((t) => ({ ...t }))).toEqual([
      expect.objectContaining({ name: "k", kubeconfig: join(dir, "kube/config") }),
      expect.objectContaining({ name: "s", tlsDir: join(dir, "../certs") }),
    ]);
  });
});
