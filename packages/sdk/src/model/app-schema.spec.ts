import { describe, expect, it } from "vitest";
import { builtinTargetKinds } from "../testing/testing.js";
import { appJsonSchema } from "./app-schema.js";

// `sdx schema` is composed from the registered backends' target kinds; the checked-in file is the built-in ones'.
const targetKinds = await builtinTargetKinds();

describe("appJsonSchema", () => {
  it("matches the checked-in schema that editors use (update with vitest -u)", async () => {
    await expect(`${JSON.stringify(appJsonSchema(targetKinds.values()), null, 2)}\n`).toMatchFileSnapshot("../../schema/app.schema.json");
  });
  it("describes services, targets by kind, and rejects unknown keys", () => {
    const s = appJsonSchema(targetKinds.values()) as { properties: Record<string, { additionalProperties?: unknown }>; additionalProperties: unknown };
    expect(Object.keys(s.properties)).toEqual(expect.arrayContaining(["name", "services", "targets"]));
    expect(s.additionalProperties).toBe(false);
    expect(JSON.stringify(s)).toContain('"kubernetes"');
    expect(JSON.stringify(s)).toContain('"spotFallbackAfter"');
  });
  it("gives each kind's settings their descriptions and defaults, and describes only the common fields without kinds", () => {
    type Kind = { properties: Record<string, { const?: string; default?: unknown; description?: string }>; required?: string[] };
    const kinds = (appJsonSchema(targetKinds.values()) as { properties: { targets: { additionalProperties: { oneOf: Kind[] } } } }).properties.targets.additionalProperties.oneOf;
    const k8s = kinds.find((k) => k.properties.kind!.const === "kubernetes")!;
    expect(k8s.properties.namespace).toMatchObject({ default: "default", maxLength: 63, description: expect.stringContaining("Namespace") });
    const ecs = kinds.find((k) => k.properties.kind!.const === "ecs")!;
    expect(ecs.properties.keepRevisions).toMatchObject({ default: 5 });
    expect(ecs.required).toEqual(["kind", "region", "cluster"]);
    const bare = appJsonSchema([]) as { properties: { targets: { additionalProperties: { properties: Record<string, unknown>; additionalProperties?: unknown } } } };
    expect(Object.keys(bare.properties.targets.additionalProperties.properties)).toEqual(["kind", "pricing", "registry", "overrides"]);
    expect(bare.properties.targets.additionalProperties.additionalProperties).toEqual({});
  });
});
