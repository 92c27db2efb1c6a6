/**
 * Interrupted deploys on the real Swarm test engine, through the real CLI in
 * a child process (`node packages/sdk/bin/sdx.js`, which runs dist/: build
 * with `npx tsc -b` first). Each case rotates a secret (a new content-hashed
 * secret and a rolling update of every task), interrupts the deploy with
 * SIGINT or SIGKILL during apply or during the rollout wait, re-runs it, and
 * checks what the user and the engine see: exit codes (130 for Ctrl-C, 0 for
 * the converged re-run), a re-run that waits for the unfinished rollout
 * rather than saying "No changes", a healthy revision at the end, and no
 * service Spec or PreviousSpec mounting a secret that no longer exists.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, requireTestenv } from "@sdx/sdk/testing";

const te = requireTestenv("swarm");
const APP = "sdxintr";
const CLI = resolve(REPO_ROOT, "packages/sdk/bin/sdx.js");
const REPLICAS = 4;

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Milliseconds from the (last) signal to the exit. */
  readonly exitAfterSignalMs?: number;
}

/** When to interrupt: the first stderr line matching `at`, then `signals` spaced by `gapMs`. */
interface Interrupt {
  readonly at: RegExp;
  readonly signals: readonly NodeJS.Signals[];
  readonly gapMs?: number;
}

describe.skipIf(!te.env)("interrupted deploys on a real Swarm engine, through the CLI", () => {
  const host = te.env?.SDX_SWARM_DOCKER_HOST ?? "";
  const image = te.env?.SDX_SWARM_IMAGE ?? "sdx-busybox:latest";
  const docker = new Docker({ socketPath: host.replace(/^unix:\/\//, "") });
  const dir = mkdtempSync(join(tmpdir(), "sdx-intr-"));
  const file = join(dir, "sdx.yaml");
  let generation = 0;

  /** Runs `sdx <args>` with the app's secret set to `password`, interrupting it as asked. Bounded: killed after 150 s. */
  const sdx = (args: readonly string[], password: string, interrupt?: Interrupt): Promise<Run> => new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: REPO_ROOT, env: { ...process.env, SDX_RESOLVE_IMAGES: "0", INTR_DB_PASSWORD: password }, stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let signalledAt: number | undefined;
    const guard = setTimeout(() => child.kill("SIGKILL"), 150_000);
    child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (interrupt && signalledAt === undefined && interrupt.at.test(stderr)) {
        signalledAt = Date.now();
        interrupt.signals.forEach((s, i) => setTimeout(() => { signalledAt = Date.now(); child.kill(s); }, i * (interrupt.gapMs ?? 0)));
      }
    });
    child.on("exit", (code, signal) => {
      clearTimeout(guard);
      done({ code, signal, stdout, stderr, ...(signalledAt === undefined ? {} : { exitAfterSignalMs: Date.now() - signalledAt }) });
    });
  });
  const deploy = (password: string, interrupt?: Interrupt): Promise<Run> => sdx(["deploy", file, "-t", "swarm", "--yes"], password, interrupt);

  const ownedSecrets = async () => ((await docker.listSecrets({ filters: JSON.stringify({ label: [`sdx.dev/app=${APP}`] }) })) as { ID: string; Spec: { Name: string } }[]);
  const api = async () => (await docker.getService(`${APP}_api`).inspect()) as {
    Spec: { TaskTemplate: { ContainerSpec: { Secrets?: { SecretID: string; SecretName: string }[] } } };
    PreviousSpec?: { TaskTemplate: { ContainerSpec: { Secrets?: { SecretID: string; SecretName: string }[] } } };
    UpdateStatus?: { State?: string };
  };
  /** Tasks told to shut down that have not stopped yet. */
  const stopping = async () => ((await docker.listTasks({ filters: JSON.stringify({ service: [`${APP}_api`], "desired-state": ["shutdown"] }) })) as { Status: { State: string } }[])
    .filter((t) => !["shutdown", "complete", "failed", "rejected"].includes(t.Status.State)).length;
  const runningCurrent = async () => {
    const tasks = (await docker.listTasks({ filters: JSON.stringify({ service: [`${APP}_api`], "desired-state": ["running"] }) })) as { Status: { State: string }; Spec: { ContainerSpec: { Secrets?: { SecretName: string }[] } } }[];
    return tasks.filter((t) => t.Status.State === "running");
  };

  /** The engine after a converged re-run: every task runs the new secret, and nothing mounts a removed one. */
  const expectHealthyOn = async (password: string): Promise<void> => {
    const secrets = await ownedSecrets();
    const ids = new Set(secrets.map((s) => s.ID));
    const svc = await api();
    for (const spec of [svc.Spec, svc.PreviousSpec]) for (const s of spec?.TaskTemplate.ContainerSpec.Secrets ?? []) expect(ids.has(s.SecretID), `${s.SecretName} still exists`).toBe(true);
    expect(svc.UpdateStatus?.State ?? "completed").toBe("completed");
    const current = svc.Spec.TaskTemplate.ContainerSpec.Secrets!.map((s) => s.SecretName);
    const tasks = await runningCurrent();
    expect(tasks).toHaveLength(REPLICAS);
    for (const t of tasks) expect(t.Spec.ContainerSpec.Secrets?.map((s) => s.SecretName)).toEqual(current);
    expect(JSON.stringify(svc)).not.toContain(password);
  };

  /** A re-run after an interruption: it must wait (and report the rollout), end healthy, and exit 0. */
  const rerunConverges = async (password: string, mustWait: boolean): Promise<void> => {
    const plan = await sdx(["plan", file, "-t", "swarm", "--json"], password);
    const unconverged = (JSON.parse(plan.stdout) as { plan: { unconverged: unknown[] } }).plan.unconverged;
    // Interrupted during its ~15 s wait, the rollout is still running when the re-run plans.
    if (mustWait) expect(unconverged).toEqual([{ service: "api", resource: { kind: "service", name: `${APP}_api` }, reason: expect.stringMatching(/^updating: \d of 4 tasks running/) }]);
    const r = await deploy(password);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    if (unconverged.length > 0) {
      // The plan saw the rollout unfinished: the deploy waited for it instead of saying "No changes".
      expect(r.stdout).toBe("Deployed to swarm.\n");
      expect(r.stderr).toContain("rollout of api unfinished");
      expect(r.stderr).toContain("✓ api rolled out");
    } else {
      expect(r.stdout).toMatch(/^(Deployed to swarm\.|No changes: swarm already runs this revision\.)\n/);
    }
    await expectHealthyOn(password);
    // Superseded secrets go once nothing can run or roll back to them: when the old tasks have stopped,
    // the next deploy keeps only the current secret and the one PreviousSpec (a rollback) mounts.
    for (let i = 0; i < 40 && (await stopping()) > 0; i++) await new Promise((r) => setTimeout(r, 500));
    const gc = await deploy(password);
    expect(gc.code, gc.stderr).toBe(0);
    expect((await ownedSecrets()).length).toBeLessThanOrEqual(2);
    await expectHealthyOn(password);
    const after = await sdx(["plan", file, "-t", "swarm", "--expect-no-changes"], password);
    expect(after.code, after.stdout).toBe(0);
  };

  beforeAll(async () => {
    expect(existsSync(resolve(REPO_ROOT, "packages/sdk/dist/cli/run-cli.js")), "build first: npx tsc -b").toBe(true);
    // Each task turns healthy ~3 s after it starts and the update replaces one at a time, so a
    // rollout of 4 tasks takes ~15 s: long enough to interrupt, and for a re-run to find it unfinished.
    writeFileSync(file, `name: ${APP}
services:
  api:
    image: ${image}
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3; touch /tmp/ready; while :; do sleep 1; done"]
    secrets:
      db-password: { fromEnv: INTR_DB_PASSWORD, asEnv: DB_PASSWORD }
    health:
      exec: { command: ["test", "-f", "/tmp/ready"] }
      interval: 1s
      timeout: 1s
      retries: 30
    resources: { cpu: 10m, memory: 16Mi }
    replicas: ${REPLICAS}
    rollout: { maxSurge: 1, maxUnavailable: 0, autoRollback: true, timeout: 2m }
targets:
  swarm: { kind: swarm, host: "${host}", publishMode: host }
`);
    await sdx(["destroy", file, "-t", "swarm", "--yes"], "x");
    const first = await deploy("password-0");
    expect(first.code, first.stderr).toBe(0);
    await expectHealthyOn("password-0");
  });

  afterAll(async () => {
    await sdx(["destroy", file, "-t", "swarm", "--yes"], "x").catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: { name: string; interrupt: Interrupt; code: number | null; signal: NodeJS.Signals | null }[] = [
    { name: "SIGINT during the rollout wait exits 130", interrupt: { at: /… api:/, signals: ["SIGINT"] }, code: 130, signal: null },
    { name: "SIGINT during apply exits 130", interrupt: { at: /✓ create secret/, signals: ["SIGINT"] }, code: 130, signal: null },
    { name: "SIGKILL during the rollout wait", interrupt: { at: /… api:/, signals: ["SIGKILL"] }, code: null, signal: "SIGKILL" },
    { name: "SIGKILL during apply", interrupt: { at: /create secret/, signals: ["SIGKILL"] }, code: null, signal: "SIGKILL" },
  ];
  for (const c of cases) {
    it(`${c.name}; the re-run waits for the rollout, ends healthy and exits 0, and no spec mounts a removed secret`, async () => {
      const password = `password-${++generation}`;
      const r = await deploy(password, c.interrupt);
      expect([r.code, r.signal], r.stderr + r.stdout).toEqual([c.code, c.signal]);
      if (c.signal === null) {
        expect(r.stderr).toContain("stopping after the steps in flight");
        expect(r.stdout + r.stderr).toMatch(/aborted/);
        expect(r.stderr).not.toMatch(/bad_alloc|terminate called|Abort trap|core dumped/);
      }
      // What the interruption left must never break a rollback.
      const svc = await api();
      const ids = new Set((await ownedSecrets()).map((s) => s.ID));
      for (const spec of [svc.Spec, svc.PreviousSpec]) for (const s of spec?.TaskTemplate.ContainerSpec.Secrets ?? []) expect(ids.has(s.SecretID)).toBe(true);
      await rerunConverges(password, c.interrupt.at.source.includes("api"));
    });
  }

  it("a second Ctrl-C quits at once with 130", async () => {
    const password = `password-${++generation}`;
    const r = await deploy(password, { at: /… api:/, signals: ["SIGINT", "SIGINT"], gapMs: 100 });
    // The process either quits on the second signal, or had already finished on the first (then the default SIGINT ends it).
    expect(r.code === 130 || r.signal === "SIGINT", JSON.stringify([r.code, r.signal])).toBe(true);
    expect(r.exitAfterSignalMs ?? 0).toBeLessThan(2000);
    expect(r.stderr).not.toMatch(/bad_alloc|terminate called|core dumped/);
    await rerunConverges(password, true);
  });
});
