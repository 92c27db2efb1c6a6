import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isSdxError, type SdxError } from "../errors/sdx-error.js";
import { loadApp } from "./load-app.js";
import { loadConfigModule } from "./load-config-module.js";
import { builtinTargetKinds } from "../testing/testing.js";

// The built-in backends' target kinds: validation knows no kind by itself.
const targetKinds = await builtinTargetKinds();

const APP = `{ name: "cfg", services: { web: { image: "nginx:1.27@sha256:${"a".repeat(64)}" } } }`;

/** Writes `source` as sdx.config.<ext> in a fresh directory and returns its path. */
function module(source: string, ext = "mjs"): string {
  const dir = mkdtempSync(join(tmpdir(), "sdx-cfg-"));
  const file = join(dir, `sdx.config.${ext}`);
  writeFileSync(file, source);
  return file;
}

async function rejection(p: Promise<unknown>): Promise<SdxError> {
  try {
    await p;
  } catch (e) {
    if (isSdxError(e)) return e;
    throw e;
  }
  throw new Error("expected a rejection");
}

describe("loadConfigModule: a config module runs in a child process", () => {
  it("returns the default export, a function's result or an async function's result, as plain data", async () => {
    expect(await loadConfigModule(module(`export default ${APP};`))).toMatchObject({ name: "cfg" });
    expect(await loadConfigModule(module(`export default async () => (${APP});`))).toMatchObject({ name: "cfg" });
    const ts = module(`type App = { name: string; services: Record<string, { image: string }> };\nconst app: App = ${APP};\nexport default (): App => app;\n`, "ts");
    expect(await loadConfigModule(ts)).toMatchObject({ services: { web: { image: expect.stringMatching(/^nginx/) } } });
    expect(await loadConfigModule(module(`export default Promise.resolve(${APP});`))).toMatchObject({ name: "cfg" });
    // A module that exports nothing yields nothing (validation then says the app is empty).
    expect(await loadConfigModule(module("export const x = 1;"))).toBeUndefined();
  });

  it("a module that calls process.exit(0) while loading is SDX_LOAD, not an empty success", async () => {
    const e = await rejection(loadConfigModule(module(`process.exit(0);\nexport default ${APP};`)));
    expect([e.code, e.fault]).toEqual(["SDX_LOAD", "user"]);
    expect(e.message).toContain("process.exit(0)");
    expect(e.message).toContain("sdx.config.mjs");
  });

  it("a process.exit or throw from a timer, before or after the app is returned, is SDX_LOAD", async () => {
    const early = await rejection(loadConfigModule(module(`setTimeout(() => process.exit(0), 0);\nexport default async () => { await new Promise((r) => setTimeout(r, 200)); return ${APP}; };`)));
    expect(early.code).toBe("SDX_LOAD");
    expect(early.message).toContain("called process.exit(0) while loading");
    // Due as the app is returned: caught before the result counts as a success.
    const late = await rejection(loadConfigModule(module(`export default async () => { setTimeout(() => { throw new Error("late"); }, 0); setTimeout(() => {}, 5000); return ${APP}; };`)));
    expect([late.code, late.message]).toEqual(["SDX_LOAD", expect.stringMatching(/: late$/)]);
    for (const body of [`Promise.reject(new Error("unhandled"));\nexport default async () => { await new Promise((r) => setTimeout(r, 100)); return ${APP}; };`, `Promise.reject(new Error("unhandled"));\nexport default ${APP};`]) {
      const rejected = await rejection(loadConfigModule(module(body)));
      expect([rejected.code, rejected.message]).toEqual(["SDX_LOAD", expect.stringMatching(/: unhandled$/)]);
    }
  });

  it("a module that throws is SDX_LOAD with its message and the defineApp hint", async () => {
    const e = await rejection(loadConfigModule(module(`throw new Error("no region configured");`)));
    expect(e.code).toBe("SDX_LOAD");
    expect(e.message).toMatch(/^cannot load .*sdx\.config\.mjs: no region configured$/);
    expect(e.hint).toContain("defineApp");
  });

  it("a module that never settles is stopped at the timeout (option, then SDX_CONFIG_TIMEOUT_MS)", async () => {
    const file = module(`setInterval(() => {}, 1000);\nexport default () => new Promise(() => {});`);
    let t0 = performance.now();
    const e = await rejection(loadConfigModule(file, { timeoutMs: 700 }));
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(e.code).toBe("SDX_LOAD");
    expect(e.message).toContain("did not produce the app within 700 ms");
    expect(e.hint).toContain("SDX_CONFIG_TIMEOUT_MS");
    t0 = performance.now();
    const viaEnv = await rejection(loadConfigModule(file, { env: { SDX_CONFIG_TIMEOUT_MS: "600" } }));
    expect(viaEnv.message).toContain("within 600 ms");
    expect(performance.now() - t0).toBeLessThan(5000);
    for (const bad of ["0", "-5", "1e3", "10s", "abc"]) {
      expect((await rejection(loadConfigModule(file, { env: { SDX_CONFIG_TIMEOUT_MS: bad } }))).code, bad).toBe("SDX_USAGE");
    }
  });

  it("a pending promise with nothing left to run ends as SDX_LOAD, at once", async () => {
    for (const body of [`await new Promise(() => {});\nexport default ${APP};`, "export default new Promise(() => {});"]) {
      const t0 = performance.now();
      const e = await rejection(loadConfigModule(module(body), { timeoutMs: 20_000 }));
      expect(e.code).toBe("SDX_LOAD");
      expect(e.message).toMatch(/exited with code 13 before producing the app/);
      expect(performance.now() - t0).toBeLessThan(10_000);
    }
  });

  it("refuses exports that are not JSON data or larger than the app-file cap", async () => {
    const fn = await rejection(loadConfigModule(module(`export default { name: "x", services: { web: { image: "x", build: () => 1 } } };`)));
    expect(fn.code).toBe("SDX_LOAD");
    expect(fn.message).toMatch(/not plain data \(a function is not plain data\)/);
    const map = await rejection(loadConfigModule(module(`export default { name: "x", labels: new Map([["a", "b"]]) };`)));
    expect(map.message).toMatch(/not plain data \(a Map is not plain data\)/);
    const cyclic = await rejection(loadConfigModule(module(`const a = { name: "x" }; a.self = a; export default a;`)));
    expect(cyclic.message).toMatch(/not plain data/);
    const big = await rejection(loadConfigModule(module(`export default { name: "x".repeat(5 * 1024 * 1024) };`)));
    expect(big.code).toBe("SDX_LOAD");
    expect(big.message).toContain("more than 4 MiB");
  });

  it("an abort signal kills the child and rejects with SDX_ABORTED", async () => {
    const file = module(`setInterval(() => {}, 1000);\nexport default () => new Promise(() => {});`);
    const ac = new AbortController();
    const t0 = performance.now();
    setTimeout(() => ac.abort(), 300);
    const e = await rejection(loadConfigModule(file, { signal: ac.signal, timeoutMs: 20_000 }));
    expect(e.code).toBe("SDX_ABORTED");
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it("loadApp goes through the child, after the regular-file check: an exiting module is SDX_LOAD, a FIFO fails at once", async () => {
    const file = module(`process.exit(0);\nexport default ${APP};`);
    const e = await rejection(loadApp(file, { targetKinds }));
    expect(e.code).toBe("SDX_LOAD");
    const ok = await loadApp(module(`export default ${APP};`), { targetKinds });
    expect(ok.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(ok.app?.name).toBe("cfg");
    const fifo = join(mkdtempSync(join(tmpdir(), "sdx-cfg-")), "sdx.config.ts");
    execFileSync("mkfifo", [fifo]);
    const t0 = performance.now();
    expect((await rejection(loadApp(fifo, { targetKinds, configTimeoutMs: 20_000 }))).code).toBe("SDX_FILE_NOT_REGULAR");
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
