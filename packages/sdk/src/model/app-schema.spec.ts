import { describe, expect, it } from "vitest";
import { appJsonSchema } from "./app-schema.js";

describe("appJsonSchema", () => {
  it("matches the checked-in schema that editors use (update with vitest -u)", async () => {
    await expect(`${JSON.stringify(appJsonSchema(), null, 2)}\n`).toMatchFileSnapshot("../../schema/app.schema.json");
  });
  it("describes services, targets by kind, and rejects unknown keys", () => {
    const s = appJsonSchema() as { properties: Record<string, { additionalProperties?: unknown }>; additionalProperties: unknown };
    expect(Object.keys(s.properties)).toEqual(expect.arrayContaining(["name", "services", "targets"]));
    expect(s.additionalProperties).toBe(false);
    expect(JSON.stringify(s)).toContain('"kubernetes"');
    expect(JSON.stringify(s)).toContain('"spotFallbackAfter"');
  });
});
