import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { builtinTargetKinds, exampleFile, EXAMPLE_SECRET_ENV } from "../testing/testing.js";
import { loadApp, resolveAppFile } from "./load-app.js";

// The built-in backends' target kinds: validation knows no kind by itself.
const targetKinds = await builtinTargetKinds();

const tmp = () => mkdtempSync(join(tmpdir(), "sdx-load-"));

describe("loadApp", () => {
  it("loads both examples without errors", async () => {
    for (const name of ["hello", "shop"]) {
      const r = await loadApp(exampleFile(name), { targetKinds, env: EXAMPLE_SECRET_ENV });
      expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      expect(r.app!.name).toBe(name);
    }
  });
  it("loads sdx.config.ts exporting defineApp(), with interpolation", async () => {
    const file = fileURLToPath(new URL("../../test/fixtures/ts-app/sdx.config.ts", import.meta.url));
    const r = await loadApp(file, { targetKinds, env: { REGION: "us-west-2" } });
    expect(r.diagnostics).toEqual([]);
    expect(r.app!.services[0]!.env).toEqual({ REGION: "us-west-2" });
  });
  it("loads JSON and reports an empty file", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "sdx.json"), JSON.stringify({ name: "j", services: { a: { image: "x:1" } } }));
    expect((await loadApp(join(dir, "sdx.json"), { targetKinds })).app!.name).toBe("j");
    writeFileSync(join(dir, "sdx.yaml"), "# nothing here\n");
    expect((await loadApp(join(dir, "sdx.yaml"), { targetKinds })).diagnostics[0]).toMatchObject({ code: "SDX_EMPTY" });
  });
  it("points schema errors at their line and column", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "sdx.yaml"), "name: x\nservices:\n  web:\n    image: x:1\n    replicas: -2\n");
    const r = await loadApp(join(dir, "sdx.yaml"), { targetKinds });
    expect(r.diagnostics.find((d) => d.code === "SDX_OUT_OF_RANGE")).toMatchObject({ path: "services.web.replicas", line: 5, column: 5 });
  });
  it("resolves target paths against the app file's directory", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "sdx.yaml"), "name: x\nservices: { a: { image: 'x:1' } }\ntargets:\n  k: { kind: kubernetes, kubeconfig: ./kube/config }\n  s: { kind: swarm, tlsDir: /etc/docker/tls }\n");
    const r = await loadApp(join(dir, "sdx.yaml"), { targetKinds });
    expect(r.app!.targets.map((t) => ("kubeconfig" in t ? t.kubeconfig : "tlsDir" in t ? t.tlsDir : undefined))).toEqual([join(dir, "kube/config"), "/etc/docker/tls"]);
  });
  it("finds the app file in a directory and explains a missing one", () => {
    const dir = tmp();
    const exists = (p: string) => (p === dir ? "dir" : p === join(dir, "sdx.json") ? "file" : undefined) as "dir" | "file" | undefined;
    expect(resolveAppFile(dir, exists)).toBe(join(dir, "sdx.json"));
    expect(() => resolveAppFile(join(dir, "nope"), () => undefined)).toThrow(/does not exist/);
  });
});
