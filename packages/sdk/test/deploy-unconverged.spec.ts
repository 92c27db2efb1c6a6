import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { deploy, plan, SdxError } from "@sdx/sdk";
import { backendModule, createSdxContainer } from "@sdx/sdk/di";
import { runCli } from "../src/cli/run-cli.js";
import { createMemoryBackend, type MemoryBackendOptions } from "./memory-backend.js";

// A deploy is complete only when every rollout converged: an earlier deploy
// that did not wait (or was interrupted) leaves rollouts that a re-run with no
// spec changes must still wait for, and report, instead of "No changes".
const fixture = fileURLToPath(new URL("./fixtures/memory-shop.yaml", import.meta.url));
const env = { MEMSHOP_TOKEN: "tok-123-secret" };

function setup(opts: MemoryBackendOptions = {}) {
  const backend = createMemoryBackend(opts);
  const container = createSdxContainer({ builtins: false, modules: [backendModule(backend)], runtime: { env } });
  const cli = async (...argv: string[]) => {
    let stdout = "";
    let stderr = "";
    const code = await runCli(argv, { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, interactive: false, confirm: async () => false, env, container });
    return { code, stdout, stderr };
  };
  return { backend, container, cli };
}

describe("deploy() with rollouts left unfinished by an earlier deploy", () => {
  it("waits for them instead of returning no-changes, then converges to no-changes", async () => {
    const { backend, container } = setup();
    const first = await deploy(fixture, { container, wait: false });
    expect(first.status).toBe("succeeded");
    expect(first.apply!.rollouts.map((r) => r.status)).toEqual(["not-waited", "not-waited"]);

    const p = await plan(fixture, { container });
    const tp = p.plans[0]!.plan;
    expect(tp.summary).toMatchObject({ create: 0, update: 0, replace: 0, delete: 0, noop: 2 });
    expect(tp.unconverged?.map((u) => [u.service, u.reason])).toEqual([["web", "0 of 2 replicas running"], ["worker", "0 of 1 replicas running"]]);

    const again = await deploy(fixture, { container });
    expect(again.status).toBe("succeeded");
    expect(again.apply!.completed).toEqual([]);
    expect(again.apply!.rollouts.map((r) => [r.service, r.status])).toEqual([["web", "succeeded"], ["worker", "succeeded"]]);
    expect(backend.calls.filter((c) => c === "apply")).toHaveLength(2);

    const third = await deploy(fixture, { container });
    expect(third.status).toBe("no-changes");
    expect((await plan(fixture, { container })).plans[0]!.plan.unconverged).toEqual([]);
  });

  it("returns a failed result, never throws, when the backend's apply throws after changing things", async () => {
    const { backend, container } = setup({ waitThrows: new SdxError("SDX_BACKEND_UNREACHABLE", "connection reset while waiting", { fault: "backend" }) });
    const r = await deploy(fixture, { container });
    expect(r.status).toBe("failed");
    expect(r.apply!.error).toMatchObject({ code: "SDX_BACKEND_UNREACHABLE", fault: "backend" });
    // Not known to be done: both creates count as remaining, and the store shows they did happen, so a re-run re-plans.
    expect(r.apply!.remaining.map((a) => `${a.kind} ${a.resource.name}`)).toEqual(["create memshop-web", "create memshop-worker"]);
    expect(backend.store.size).toBe(2);
  });

  it("maps a plain exception from apply to SDX_BACKEND_ERROR with a backend fault", async () => {
    const { container } = setup({ waitThrows: new TypeError("cannot read properties of undefined") });
    const r = await deploy(fixture, { container });
    expect(r.status).toBe("failed");
    expect(r.apply!.error).toMatchObject({ code: "SDX_BACKEND_ERROR", fault: "backend" });
  });
});

describe("sdx CLI with unfinished rollouts", () => {
  it("plan shows them and --expect-no-changes counts them; --json carries plan.unconverged; deploy waits and exits 0", async () => {
    const { cli } = setup();
    expect((await cli("deploy", fixture, "--yes", "--no-wait")).code).toBe(0);
    const p = await cli("plan", fixture, "--expect-no-changes");
    expect(p.code).toBe(3);
    expect(p.stdout).toContain("… rollout of web unfinished: 0 of 2 replicas running");
    expect(p.stdout).toContain("0 to create, 0 to update, 0 to replace, 0 to delete, 2 unchanged; 2 unfinished rollouts to wait for.");
    const j = JSON.parse((await cli("plan", fixture, "--json")).stdout) as { plan: { unconverged: unknown[] } };
    expect(j.plan.unconverged).toEqual([
      { service: "web", resource: { kind: "workload", name: "memshop-web" }, reason: "0 of 2 replicas running" },
      { service: "worker", resource: { kind: "workload", name: "memshop-worker" }, reason: "0 of 1 replicas running" },
    ]);
    const d = await cli("deploy", fixture, "--yes");
    expect(d.code).toBe(0);
    expect(d.stdout).toBe("Deployed to mem.\n");
    expect((await cli("plan", fixture, "--expect-no-changes")).code).toBe(0);
    const j2 = JSON.parse((await cli("plan", fixture, "--json")).stdout) as { plan: { unconverged: unknown[] } };
    expect(j2.plan.unconverged).toEqual([]);
  });

  it("Ctrl-C during deploy lets the step in flight finish, prints what remains and exits 130", async () => {
    let sent = false;
    const { cli, backend } = setup({
      beforeRun: () => {
        if (sent) return;
        sent = true;
        // What the terminal's Ctrl-C delivers to runCli's handler.
        process.emit("SIGINT");
      },
    });
    const listeners = process.listenerCount("SIGINT");
    const r = await cli("deploy", fixture, "--yes");
    expect(r.code).toBe(130);
    expect(r.stderr).toContain("stopping after the steps in flight");
    expect(r.stdout).toContain("Deploy to mem aborted");
    expect(r.stdout).toContain("not started: create workload memshop-worker");
    expect([...backend.store.keys()]).toEqual(["workload/memshop-web"]);
    // The handler is gone afterwards: a later Ctrl-C is the default one again.
    expect(process.listenerCount("SIGINT")).toBe(listeners);
    // The re-run finishes the job.
    const again = await cli("deploy", fixture, "--yes");
    expect(again.code).toBe(0);
    expect(backend.store.size).toBe(2);
  });
});
