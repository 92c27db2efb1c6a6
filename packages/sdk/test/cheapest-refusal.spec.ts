import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { plan } from "@sdx/sdk";
import { EXAMPLE_SECRET_ENV, REPO_ROOT } from "@sdx/sdk/testing";
import { runCli } from "../src/cli/run-cli.js";

// `--target cheapest` must pick a target that runs the app the same way: a
// persistent volume on ECS (no persistent volumes declared in its capabilities)
// is refused, so the otherwise cheapest ECS target is skipped, with the reason.
function shopWithDatabaseVolume(): string {
  const dir = mkdtempSync(join(tmpdir(), "sdx-cheapest-refusal-"));
  cpSync(join(REPO_ROOT, "examples/shop"), dir, { recursive: true });
  const file = join(dir, "sdx.yaml");
  const text = readFileSync(file, "utf8").replace("$schema: ../../packages/sdk/schema/app.schema.json\n", "");
  // The api keeps its data on a persistent volume.
  writeFileSync(file, text.replace(/(\n  api:\n)/, "$1    volumes:\n      - { name: data, path: /var/lib/api, kind: persistent, size: 10Gi }\n"));
  return file;
}

describe("choosing the cheapest respects what each backend can carry", () => {
  it("skips ECS for an app with a persistent volume and says why; the shop without one keeps ECS as a candidate", async () => {
    const plain = await plan(join(REPO_ROOT, "examples/shop/sdx.yaml"), { env: EXAMPLE_SECRET_ENV, offline: true, target: "cheapest" });
    // Since load balancers are priced (issue #14) the plain shop's cheapest is Swarm, but ECS is priced and not refused.
    expect(plain.estimates!.estimates.some((e) => e.target === "ecs")).toBe(true);
    expect(plain.estimates!.rejected.filter((x) => x.target === "ecs" && /cannot run the app as written/.test(x.reason))).toEqual([]);

    const file = shopWithDatabaseVolume();
    const r = await plan(file, { env: EXAMPLE_SECRET_ENV, offline: true, target: "cheapest" });
    expect(r.target).not.toBe("ecs");
    const rejected = r.estimates!.rejected.find((x) => x.target === "ecs");
    expect(rejected?.reason).toMatch(/cannot run the app as written on AWS ECS \(Fargate\): services\.api\.volumes/);

    let out = "";
    const code = await runCli(["plan", file, "--offline", "-t", "cheapest"], { stdout: (t) => { out += t; }, stderr: (t) => { out += t; }, interactive: false, confirm: async () => false, env: EXAMPLE_SECRET_ENV });
    expect(code).toBe(0);
    expect(out).toMatch(/Chosen: (k8s|swarm)/);
    expect(out).toContain("cannot run the app as written on AWS ECS (Fargate)");
  });
});
