import { describe, expect, it } from "vitest";
import { validateApp } from "../validation/validate-app.js";
import { resolveSecrets } from "../secrets/resolve-secrets.js";
import { computeRevision } from "./compute-revision.js";
import { boundedName, canonicalJson } from "./canonical-json.js";
import { builtinTargetKinds } from "../testing/testing.js";

// The built-in backends' target kinds: validation knows no kind by itself.
const targetKinds = await builtinTargetKinds();

const doc = (env: Record<string, string>, secret = true) => ({
  name: "shop",
  services: {
    web: { image: "web:1", env, ...(secret ? { secrets: { tok: { fromEnv: "TOK", asEnv: "TOKEN" } } } : {}) },
    api: { image: "api:1" },
  },
});
async function rev(d: unknown, env: Record<string, string> = { TOK: "s3cret-value" }) {
  const app = validateApp(d, { targetKinds }).app!;
  const { secrets } = await resolveSecrets(app, { env });
  return computeRevision(app, secrets);
}

describe("computeRevision", () => {
  it("is stable under key order and formatting", async () => {
    const a = await rev(doc({ A: "1", B: "2" }));
    const b = await rev(doc({ B: "2", A: "1" }));
    expect(a).toEqual(b);
    expect(a.app).toMatch(/^[0-9a-f]{12}$/);
  });
  it("changes only the service that changed", async () => {
    const a = await rev(doc({ A: "1" }));
    const b = await rev(doc({ A: "2" }));
    expect(b.services.web).not.toBe(a.services.web);
    expect(b.services.api).toBe(a.services.api);
    expect(b.app).not.toBe(a.app);
  });
  it("changes when a secret's content changes, without revealing it", async () => {
    const a = await rev(doc({}), { TOK: "one" });
    const b = await rev(doc({}), { TOK: "two" });
    expect(a.services.web).not.toBe(b.services.web);
    const app = validateApp(doc({}), { targetKinds }).app!;
    const { secrets } = await resolveSecrets(app, { env: { TOK: "s3cret-value" } });
    expect(canonicalJson([...secrets.values()])).not.toContain("s3cret-value");
    expect(JSON.stringify([...secrets.values()])).toContain("[redacted]");
  });
  it("ignores usage hints (never deployed), so refining one redeploys nothing", async () => {
    const withUsage = (usage: Record<string, unknown> | undefined) => ({ ...doc({ A: "1" }), services: { ...doc({ A: "1" }).services, api: { image: "api:1", ...(usage ? { usage } : {}) } } });
    const none = await rev(withUsage(undefined));
    const some = await rev(withUsage({ logs: "2Gi", egress: "10Gi", lbCapacityUnits: 2, volumeSize: "20Gi" }));
    const other = await rev(withUsage({ logs: "50Gi" }));
    expect(some).toEqual(none);
    expect(other).toEqual(none);
    // The hint is in the model all the same: pricing reads it.
    expect(validateApp(withUsage({ logs: "2Gi" }), { targetKinds }).app!.services[1]!.usage).toEqual({ logsGiBPerMonth: 2 });
  });
  it("bounds long names with a hash suffix that keeps them distinct", () => {
    const a = boundedName(`${"x".repeat(70)}-a`);
    const b = boundedName(`${"x".repeat(70)}-b`);
    expect(a.length).toBe(63);
    expect(a).not.toBe(b);
    expect(boundedName("short")).toBe("short");
  });
});
