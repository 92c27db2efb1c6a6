import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { plan, type Backend, type TargetKindSpec } from "@sdx/sdk";
import { backendModule, createSdxContainer } from "@sdx/sdk/di";
import { createMemoryBackend, memoryTargetSpec } from "./memory-backend.js";

// Pricing every target and choosing the cheapest needs each kind's cost model
// and capabilities; declared on the light target spec, they must not make sdx
// load backends it never plans (the start-up of `sdx plan`).
function kindOf(kind: string, monthlyUsd: number, loads: string[]) {
  const base = createMemoryBackend();
  const spec: TargetKindSpec = {
    ...memoryTargetSpec,
    kind,
    normalize: (s, c, p) => {
      const r = memoryTargetSpec.normalize(s as never, c, p);
      return r.ok ? { ...r, target: { ...r.target, kind } as never } : r;
    },
    displayName: `rack ${kind}`,
    capabilities: base.capabilities,
    // The check too: every considered target gets a fidelity verdict, which must not load its backend either.
    check: (ctx) => base.check(ctx as never),
    costModel: () => ({ kind: "flat", monthlyUsd, description: `${kind} rack` }),
  } as TargetKindSpec;
  const backend = { ...base, kind, displayName: `rack ${kind}`, target: spec } as unknown as Backend;
  return backendModule({ kind, loadTarget: () => spec, load: () => { loads.push(kind); return backend; } });
}

describe("choosing the cheapest target loads only the backend it plans", () => {
  it("prices both kinds from their specs and loads only the chosen one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sdx-lazy-"));
    const file = join(dir, "sdx.yaml");
    writeFileSync(file, [
      "name: lazy",
      "services:",
      "  web: { image: 'ghcr.io/acme/web:1.0@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' }",
      "targets:",
      "  dear: { kind: rack-a, bucket: a }",
      "  cheap: { kind: rack-b, bucket: b }",
      "",
    ].join("\n"));
    const loads: string[] = [];
    const container = createSdxContainer({ modules: [kindOf("rack-a", 90, loads), kindOf("rack-b", 30, loads)] });
    const r = await plan(file, { container, offline: true });
    expect(r.estimates!.estimates.map((e) => [e.target, e.monthlyUsd])).toEqual(expect.arrayContaining([["dear", 90], ["cheap", 30]]));
    expect(r.target).toBe("cheap");
    expect(r.backendNames).toMatchObject({ "rack-a": "rack rack-a", "rack-b": "rack rack-b" });
    // The in-memory backend does not roll back (autoRollback defaults to true): one dropped line each.
    const dropsRollback = { kind: "approximated", approximated: 0, dropped: 1 };
    expect(r.verdicts).toEqual({ dear: dropsRollback, cheap: dropsRollback });
    expect(loads).toEqual(["rack-b"]);
  });
});
