import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { backendModule, createSdxContainer } from "@sdx/sdk/di";
import { runCli } from "../src/cli/run-cli.js";
import { createMemoryBackend } from "./memory-backend.js";

// The day-2 outputs too: deploy (text, --json, progress on stderr), status and
// destroy must not carry a planted secret, raw, hex or base64. The secret is
// resolved and handed to the backend on every deploy, so the sdk's formatting of
// plans, events and results is what is scanned here.
const fixture = fileURLToPath(new URL("./fixtures/memory-shop.yaml", import.meta.url));
const PLANT = "zz-deploy-scan-secret-4471";
const env = { MEMSHOP_TOKEN: PLANT };
const forms = [PLANT, Buffer.from(PLANT).toString("hex"), Buffer.from(PLANT).toString("base64").replace(/=+$/, "")];

describe("deploy, status and destroy never print a secret value", () => {
  it("scans every output of the lifecycle, text and --json", async () => {
    const backend = createMemoryBackend();
    const container = createSdxContainer({ builtins: false, modules: [backendModule(backend)], runtime: { env } });
    const outputs: string[] = [];
    const cli = async (...argv: string[]): Promise<number> => {
      let out = "";
      const code = await runCli(argv, { stdout: (t) => { out += t; }, stderr: (t) => { out += t; }, interactive: false, confirm: async () => true, env, container });
      outputs.push(out);
      return code;
    };
    expect(await cli("deploy", fixture, "--yes")).toBe(0);
    expect(await cli("deploy", fixture, "--yes", "--json")).toBe(0);
    expect(await cli("status", fixture)).toBe(0);
    expect(await cli("status", fixture, "--json")).toBe(0);
    expect(await cli("destroy", fixture, "--yes", "--json")).toBe(0);
    expect(outputs.join("")).toContain("memshop");
    for (const f of forms) expect(outputs.join("\n")).not.toContain(f);
  });
});
