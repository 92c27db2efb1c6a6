import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { deploy, maskLike, maskString, plan, sensitiveValuesIn } from "@sdx/sdk";
import { backendModule, createSdxContainer } from "@sdx/sdk/di";
import { runCli } from "../src/cli/run-cli.js";
import { createMemoryBackend } from "./memory-backend.js";

// A secret-looking variable interpolated into a longer plain value
// (`postgres://app:${DB_PASSWORD}@db`) is an ordinary env value to the backend,
// so the live diff would print it on both sides: plans mask it.
const fixture = fileURLToPath(new URL("./fixtures/masked-env/sdx.yaml", import.meta.url));
const OLD = { MASK_DB_PASSWORD: "old-pw-7f3a9c", MASK_API_TOKEN: "tok-old-91b2" };
const NEW = { MASK_DB_PASSWORD: "new-pw-0d4e21", MASK_API_TOKEN: "tok-new-55ac", LOG_LEVEL: "debug" };

describe("masking secret-looking values in plans", () => {
  it("masks values of secret-looking variables and URL passwords, and nothing else", () => {
    expect(maskString("postgres://app:s3cr3t-pw@db/app", [])).toBe("postgres://app:[redacted]@db/app");
    expect(maskString("Bearer tok-new-55ac", ["tok-new-55ac"])).toBe("Bearer [redacted]");
    expect(maskString("info", ["tok"])).toBe("info");
    expect(sensitiveValuesIn({ env: { DB_PASSWORD: "literal-pw", URL: "x://a:zz-plant@h" } }, { PLANT: "zz-plant", HOME: "/root" })).toEqual(
      expect.arrayContaining(["literal-pw"]),
    );
    expect(sensitiveValuesIn({ a: "/root/x" }, { HOME: "/root" })).toEqual([]);
    expect(maskLike("Bearer old-token", "Bearer [redacted]")).toBe("Bearer [redacted]");
    expect(maskLike("something else entirely", "Bearer [redacted]")).toBe("[redacted]");
  });

  it("a live plan's field changes show neither the old nor the new secret, in text or --json", async () => {
    const backend = createMemoryBackend();
    const container = createSdxContainer({ builtins: false, modules: [backendModule(backend)], runtime: { env: OLD } });
    expect((await deploy(fixture, { container, env: OLD })).status).toBe("succeeded");

    const p = await plan(fixture, { container, env: NEW });
    const changes = p.plans[0]!.plan.actions.flatMap((a) => a.changes);
    // The diff is there (LOG_LEVEL changed in the clear, so masking did not just drop changes)…
    expect(JSON.stringify(changes)).toContain("debug");
    const shown = JSON.stringify(changes);
    for (const v of [...Object.values(OLD), NEW.MASK_DB_PASSWORD, NEW.MASK_API_TOKEN]) expect(shown).not.toContain(v);
    expect(shown).toContain("[redacted]");

    for (const json of [false, true]) {
      let out = "";
      const code = await runCli(["plan", fixture, ...(json ? ["--json"] : [])], {
        stdout: (t) => { out += t; }, stderr: (t) => { out += t; }, interactive: false, confirm: async () => false, env: NEW, container,
      });
      expect(code).toBe(0);
      expect(out).toContain("maskapp");
      for (const v of [...Object.values(OLD), NEW.MASK_DB_PASSWORD, NEW.MASK_API_TOKEN]) expect(out).not.toContain(v);
    }
  });
});
