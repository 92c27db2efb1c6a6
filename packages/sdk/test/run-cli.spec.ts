import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { backendModule, createSdxContainer } from "@sdx/sdk/di";
import { runCli } from "../src/cli/run-cli.js";
import { createMemoryBackend } from "./memory-backend.js";

const fixture = fileURLToPath(new URL("./fixtures/memory-shop.yaml", import.meta.url));
const bad = fileURLToPath(new URL("./fixtures/bad/sdx.yaml", import.meta.url));

function cli(opts: { failOn?: Set<string>; interactive?: boolean; answer?: boolean; builtins?: boolean } = {}) {
  const backend = createMemoryBackend(opts.failOn ? { failOn: opts.failOn } : {});
  const container = createSdxContainer({ builtins: false, modules: [backendModule(backend)] });
  const run = async (...argv: string[]) => {
    let stdout = "";
    let stderr = "";
    const code = await runCli(argv, {
      stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; },
      interactive: opts.interactive ?? false, confirm: async () => opts.answer ?? false,
      env: { MEMSHOP_TOKEN: "tok-cli-secret" }, ...(opts.builtins ? {} : { container }),
    });
    return { code, stdout, stderr };
  };
  return { run, backend };
}

describe("sdx CLI exit codes and output", () => {
  it("validate: exit 2 and every problem listed, with lines", async () => {
    const { run } = cli();
    const r = await run("validate", bad);
    expect(r.code).toBe(2);
    for (const code of ["SDX_OUT_OF_RANGE", "SDX_INVALID_MEMORY", "SDX_SECRET_INLINE", "SDX_DUPLICATE_PORT", "SDX_UNKNOWN_KEY", "SDX_UNKNOWN_TARGET_KIND"]) expect(r.stderr).toContain(code);
    expect(r.stderr).toMatch(/services\.web\.replicas .*sdx\.yaml:5:/);
    expect(r.stderr).not.toContain("plaintext-password");
    const j = await run("validate", bad, "--json");
    expect(j.code).toBe(2);
    const parsed = JSON.parse(j.stdout) as { valid: boolean; diagnostics: { code: string; path: string }[] };
    expect(parsed.valid).toBe(false);
    expect(parsed.diagnostics.map((d) => d.path)).toContain("services.web.replcias");
  });

  it("plan --expect-no-changes: 3 with changes, 0 after deploy", async () => {
    const { run } = cli();
    expect((await run("plan", fixture, "--expect-no-changes")).code).toBe(3);
    const d = await run("deploy", fixture, "--yes");
    expect(d.code).toBe(0);
    expect(d.stdout).toBe("Deployed to mem.\n");
    expect(d.stderr).toContain("✓ create workload memshop-web");
    expect((await run("plan", fixture, "--expect-no-changes")).code).toBe(0);
    expect((await run("deploy", fixture, "--yes")).stdout).toContain("No changes");
  });

  it("plan --json has the documented shape and no secrets", async () => {
    const { run } = cli();
    const r = await run("plan", fixture, "--json");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ app: "memshop", revision: expect.stringMatching(/^[0-9a-f]{12}$/), diagnostics: [], target: "mem" });
    expect(j.plan.summary).toEqual({ create: 2, update: 0, replace: 0, delete: 0, noop: 0 });
    expect(j.plan.actions[0]).toEqual({ kind: "create", resource: { kind: "workload", name: "memshop-web", service: "web" }, changes: [] });
    expect(r.stdout).not.toContain("tok-cli-secret");
  });

  it("deploy: exit 1 on a failed apply, 2 without a terminal or --yes, 1 when declined", async () => {
    expect((await cli({ failOn: new Set(["memshop-worker"]) }).run("deploy", fixture, "--yes")).code).toBe(1);
    const noTty = await cli().run("deploy", fixture);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toContain("--yes");
    const declined = cli({ interactive: true, answer: false });
    const r = await declined.run("deploy", fixture);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("Cancelled");
    expect(declined.backend.store.size).toBe(0);
  });

  it("usage errors exit 2; --version and help exit 0", async () => {
    const { run } = cli();
    expect((await run("deploi")).code).toBe(2);
    expect((await run("plan", "--nope")).code).toBe(2);
    const v = await run("--version");
    expect(v).toMatchObject({ code: 0, stdout: expect.stringMatching(/^sdx \d+\.\d+\.\d+\n$/) });
    expect((await run("--help")).stdout).toContain("Exit codes");
  });

  it("a missing app file or an unknown target is a clear user error (exit 2)", async () => {
    for (const cmd of ["plan", "validate", "status", "targets"]) {
      const r = await cli().run(cmd, "/nonexistent/sdx.yaml");
      expect(r.code, cmd).toBe(2);
      expect(r.stderr, cmd).toContain("SDX_LOAD");
      expect(r.stderr, cmd).toContain("hint:");
    }
    const t = await cli().run("plan", fixture, "-t", "prod");
    expect(t.code).toBe(2);
    expect(t.stderr).toContain("SDX_UNKNOWN_TARGET");
    const j = await cli().run("validate", "/nonexistent/sdx.yaml", "--json");
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({ error: { code: "SDX_LOAD", fault: "user" } });
  });

  it("bad flag values exit 2 with SDX_USAGE and the flag named, before anything is read", async () => {
    const { run, backend } = cli();
    for (const argv of [["plan", fixture, "--budget="], ["plan", fixture, "--budget", " "], ["plan", fixture, "--budget", "0x10"], ["deploy", fixture, "--yes", "--budget", "0x10"], ["plan", fixture, "-t", ""], ["deploy", fixture, "--yes", "--timeout", "0x10"]]) {
      const r = await run(...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr, argv.join(" ")).toMatch(/^sdx: SDX_USAGE: .*(--budget|--target|--timeout)/);
      expect(r.stdout).toBe("");
    }
    expect(backend.store.size).toBe(0);
    const j = await run("plan", fixture, "--json", "--budget=0x10");
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({ error: { code: "SDX_USAGE", fault: "user", message: expect.stringContaining("--budget") } });
  });

  it("status and destroy", async () => {
    const { run, backend } = cli();
    await run("deploy", fixture, "--yes");
    const s = await run("status", fixture);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/web\s+2\s+2\s+2\s+healthy/);
    expect((await run("destroy", fixture)).code).toBe(2);
    const d = await run("destroy", fixture, "--yes", "--json");
    expect(JSON.parse(d.stdout).deleted).toHaveLength(2);
    expect(backend.store.size).toBe(0);
  });
});

describe("sdx prices (with @sdx/pricing installed)", () => {
  it("looks up an instance type with both prices and provenance", async () => {
    const { run } = cli();
    const r = await run("prices", "aws", "us-east-1", "m6i.large", "--json");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { rows: { item: string; onDemandUsd: number; spotUsd: number; provenance: { source: string; asOf: string } }[] };
    expect(j.rows).toHaveLength(1);
    expect(j.rows[0]).toMatchObject({ item: "m6i.large", onDemandUsd: 0.096 });
    expect(j.rows[0]!.spotUsd).toBeLessThan(0.096);
    expect(j.rows[0]!.provenance.source).toContain("embedded-catalog");
  });
  it("shows Fargate rates at their full precision", async () => {
    const r = await cli().run("prices", "aws", "us-east-1", "fargate");
    expect(r.stdout).toMatch(/Fargate vCPU\s.*\$0\.04048/);
  });
  it("suggests a region for a typo and exits 2 (input to fix)", async () => {
    const r = await cli().run("prices", "aws", "us-east-9");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Did you mean us-east-1");
  });
});

describe("sdx import and plan -f compose.yaml", () => {
  const composeCase = (name: string) => fileURLToPath(new URL(`./fixtures/compose/${name}/compose.yaml`, import.meta.url));
  it("writes sdx.yaml with the report at the top, and refuses to overwrite without --force", async () => {
    const { mkdtempSync, readFileSync, copyFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "sdx-import-"));
    copyFileSync(composeCase("build-no-image"), join(dir, "compose.yaml"));
    const { run } = cli();
    const first = await run("import", join(dir, "compose.yaml"));
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^Wrote .*sdx\.yaml from compose file .*: \d+ translated, \d+ approximated, \d+ dropped, \d+ ignored/);
    const written = readFileSync(join(dir, "sdx.yaml"), "utf8");
    expect(written).toContain("# Imported from");
    expect(written).toMatch(/build/);
    const again = await run("import", join(dir, "compose.yaml"));
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("--force");
    expect((await run("import", join(dir, "compose.yaml"), "--force")).code).toBe(0);
    // The written file is a valid app that validates on its own (with the built-in swarm backend the import targets).
    expect((await cli({ builtins: true }).run("validate", join(dir, "sdx.yaml"))).code).toBe(0);
  });
  it("plans a compose file directly and shows dropped keys as warnings", async () => {
    // The built-in backends (no container): compose imports target swarm.
    const r = await cli({ builtins: true }).run("plan", "-f", composeCase("web-db"), "--offline", "--json");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { app: string; backend: string; diagnostics: { code: string; path: string }[]; plan: { actions: { kind: string; resource: { kind: string } }[] } };
    expect(j.backend).toBe("swarm");
    expect(j.plan.actions.map((a) => a.resource.kind)).toContain("service");
    expect(j.diagnostics).toContainEqual(expect.objectContaining({ code: "SDX_IMPORT_DROPPED", path: "services.app.depends_on" }));
    expect(j.plan.actions.every((a) => a.kind === "create")).toBe(true);
  });
  it("needs a file argument", async () => {
    expect((await cli().run("import")).code).toBe(2);
  });
});

describe("sdx check: the fidelity report of every built-in backend", () => {
  it("shows, per target, what is approximated or dropped, with --json carrying the same data", async () => {
    const { exampleFile, EXAMPLE_SECRET_ENV } = await import("@sdx/sdk/testing");
    const run = async (...argv: string[]) => {
      let stdout = "";
      let stderr = "";
      const code = await runCli(argv, { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, interactive: false, confirm: async () => false, env: { ...EXAMPLE_SECRET_ENV } });
      return { code, stdout, stderr };
    };
    const j = await run("check", exampleFile("shop"), "--json");
    expect(j.code).toBe(0);
    type Entry = { service?: string; field: string; level: string; note?: string };
    const report = JSON.parse(j.stdout) as { targets: { target: string; backend: string; fidelity: Entry[] }[] };
    expect(report.targets.map((t) => t.backend)).toEqual(["kubernetes", "swarm", "ecs"]);
    const of = (backend: string) => report.targets.find((t) => t.backend === backend)!.fidelity;
    // Swarm and ECS run exec checks only: the http probe is approximated, and each says how.
    for (const b of ["swarm", "ecs"]) expect(of(b)).toContainEqual(expect.objectContaining({ service: "web", field: "health.http", level: "approximated", note: expect.any(String) }));
    // ECS bills Fargate sizes: 500m / 512Mi is rounded up.
    expect(of("ecs")).toContainEqual(expect.objectContaining({ service: "web", field: "resources", level: "approximated", note: expect.stringContaining("0.5 vCPU / 1 GB") }));
    // Kubernetes keeps minOnDemand replicas on on-demand nodes with a second Deployment.
    expect(of("kubernetes")).toContainEqual(expect.objectContaining({ service: "worker", field: "placement.minOnDemand", level: "approximated" }));
    for (const t of report.targets) expect(t.fidelity.every((e) => ["exact", "approximated", "dropped"].includes(e.level))).toBe(true);
    const text = await run("check", exampleFile("shop"));
    expect(text.stdout).toMatch(/Target swarm \(Docker Swarm\):\n  Fidelity:\n(    .*\n)*    approximated web\.health\.http/);
  });
});
