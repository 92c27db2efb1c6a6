/**
 * The conformance suite every backend runs, built-in or not, with one call in
 * its own test file: `describeBackendConformance({ name, backend, ... })`.
 * It asserts what a user relies on whatever the orchestrator: renders are
 * deterministic and owned, every example app renders into goldens side by
 * side (`golden/<app>.<name>.<ext>`, one loop over `examples/*`), a plan of
 * what was just deployed is a no-op, destroy removes only this app's objects,
 * and a fault at any client call is reported (completed/failed/remaining)
 * and converges on a re-run. For unit tests only: it uses vitest.
 */
import { readdirSync, existsSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import type { Backend, BackendApplyResult, BackendContext, TargetKindSpec } from "../backend/backend.js";
import { checkTarget } from "../backend/fidelity-from-capabilities.js";
import { LABEL_SERVICE, ownershipLabels } from "../backend/ownership.js";
import { isSdxError } from "../errors/sdx-error.js";
import { loadApp } from "../load/load-app.js";
import type { App, Target } from "../model/app.js";
import { hasChanges, type BackendPlan, type PlannedAction } from "../plan/plan.js";
import { resourceKey, type Resource } from "../plan/resource.js";
import { injectFaults } from "./fault-injection.js";
import { EXAMPLE_SECRET_ENV, REPO_ROOT, builtinTargetKinds, contextForApp } from "./testing.js";
import { applyOverrides } from "../backend/apply-overrides.js";

/** Goldens: every example app rendered by this backend, beside the other backends' renders of it. */
export interface ConformanceGoldens {
  /** Absolute directory of the golden files, e.g. the package's `golden/`. */
  readonly dir: string;
  /** File extension of the goldens, e.g. `yaml`. */
  readonly ext: string;
  /** The golden text of one app's rendered resources (overrides applied). */
  readonly serialize: (resources: readonly Resource[]) => string;
  /** More app files rendered beside the examples, by golden name, e.g. a backend-specific variant of the shop. @default {} */
  readonly extraApps?: Readonly<Record<string, string>>;
}

/** Fault runs against the fake: one per client call of a clean deploy, failing that call. */
export interface ConformanceFaults {
  /** What the failing call throws. @default a connection reset (`ECONNRESET`), as `injectFaults` throws */
  readonly error?: (method: string, call: number) => unknown;
  /** At most this many runs, spread evenly over the calls (the first and last always run). @default 24 */
  readonly maxRuns?: number;
}

/** The live half: the backend against an in-memory fake of its one client port. */
export interface ConformanceLive<F extends object, T extends Target = Target> {
  /** A fresh fake that already holds objects sdx must never touch (another app's, hand-made ones). */
  readonly fake: () => F | Promise<F>;
  /** A backend whose client is `client`: the fake itself, or the fake wrapped by `injectFaults`. Waits must use a fake clock. */
  readonly backendOn: (client: F) => Backend<T>;
  /** A comparable snapshot of everything on the fake that is not `app`'s: deploys, faults and destroy must leave it equal. */
  readonly foreign: (fake: F, app: string) => unknown;
  /** Adjusts the context for this fake, e.g. points a directory target at the fake's temp directory. @default unchanged */
  readonly context?: (ctx: BackendContext<T>, fake: F) => BackendContext<T>;
  /** The example app deployed. @default "shop" */
  readonly app?: string;
  /** Fault runs, or false when the backend has no client port to fault (say why in the subject). @default {} */
  readonly faults?: ConformanceFaults | false;
}

/** What {@link describeBackendConformance} tests. */
export interface ConformanceSubject<F extends object = object, T extends Target = Target> {
  /** Short name: in test titles and golden file names, e.g. `k8s`. */
  readonly name: string;
  /** The backend under test, for render and check (pure: nothing is contacted). */
  readonly backend: Backend<T>;
  /**
   * The ownership labels of one rendered object, keyed as `ownershipLabels`
   * keys them, wherever the backend stores them (Kubernetes labels, Swarm
   * labels, ECS tags...); undefined when the object carries none. `all` is
   * the whole render, for an object whose ownership is its owner's (an ECS
   * scaling target belongs to the ECS service it scales).
   */
  readonly labelsOf: (resource: Resource, all: readonly Resource[]) => Readonly<Record<string, string>> | undefined;
  /** The target used for an app that declares none of this backend's kind. @default such an app is skipped */
  readonly targetFor?: (app: App) => T;
  /** @default no goldens */
  readonly goldens?: ConformanceGoldens;
  /** @default no live tests */
  readonly live?: ConformanceLive<F, T>;
}

/** The example apps: `examples/<name>/sdx.yaml`, by name. */
export function exampleApps(): Record<string, string> {
  const dir = resolve(REPO_ROOT, "examples");
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const file = resolve(dir, name, "sdx.yaml");
    if (existsSync(file)) out[name] = file;
  }
  return out;
}

/**
 * The context of `file` on this backend's target (the app's first of its
 * kind, else `targetFor`), or undefined to skip the app. The app is loaded
 * with the built-in target kinds and the backend's own.
 */
async function contextOn<T extends Target>(subject: Pick<ConformanceSubject<object, T>, "backend" | "targetFor">, file: string): Promise<BackendContext<T> | undefined> {
  const { backend } = subject;
  const kinds = new Map<string, TargetKindSpec>(await builtinTargetKinds());
  // A built-in backend's spec is already there; a third-party one brings its own.
  if (!kinds.has(backend.kind)) kinds.set(backend.kind, backend.target as TargetKindSpec);
  const loaded = await loadApp(file, { env: EXAMPLE_SECRET_ENV, targetKinds: kinds });
  if (!loaded.app) throw new Error(`${file} does not load: ${JSON.stringify(loaded.diagnostics)}`);
  let app = loaded.app;
  let target = app.targets.find((t) => t.kind === backend.kind);
  if (!target && subject.targetFor) {
    target = subject.targetFor(app);
    app = { ...app, targets: [...app.targets, target] };
  }
  return target ? contextForApp<T>(app, { name: target.name }, loaded.baseDir) : undefined;
}

/** Renders with overrides, as the API does. */
function renderOn<T extends Target>(backend: Backend<T>, ctx: BackendContext<T>): Resource[] {
  return applyOverrides(backend.render(ctx), ctx.target.overrides);
}

const reversed = <T>(xs: readonly T[]): T[] => [...xs].reverse();
const byKey = (rs: readonly Resource[]): Map<string, string> => new Map(rs.map((r) => [resourceKey(r), JSON.stringify(r)]));
const changeIds = (p: BackendPlan): string[] => p.actions.filter((a) => a.kind !== "no-op").map(actionId).sort();
function actionId(a: PlannedAction): string {
  return `${a.kind} ${resourceKey(a.resource)}`;
}

/** Evenly spread call numbers in 1..count, at most `max`, always the first and the last. */
export function spreadCalls(count: number, max: number): number[] {
  if (count <= max) return Array.from({ length: count }, (_, i) => i + 1);
  const out = new Set<number>();
  for (let i = 0; i < max; i++) out.add(1 + Math.round((i * (count - 1)) / (max - 1)));
  return [...out];
}

/** Registers the conformance suite for one backend (call it at the top level of a test file). */
export function describeBackendConformance<F extends object, T extends Target = Target>(subject: ConformanceSubject<F, T>): void {
  const { backend } = subject;
  const examples = exampleApps();
  const apps: Record<string, string> = { ...examples, ...subject.goldens?.extraApps };

  describe(`${subject.name} backend conformance: render`, () => {
    it.each(Object.keys(apps))("renders %s deterministically, whatever the order of services and targets", async (name) => {
      const ctx = await contextOn(subject, apps[name]!);
      if (!ctx) return;
      const once = JSON.stringify(renderOn(backend, ctx));
      expect(JSON.stringify(renderOn(backend, ctx))).toBe(once);
      // The same app written in another order is the same app: the same objects, byte for byte (the list order may follow the services).
      const shuffled: BackendContext<T> = { ...ctx, app: { ...ctx.app, services: reversed(ctx.app.services), targets: reversed(ctx.app.targets) } };
      expect(byKey(renderOn(backend, shuffled))).toEqual(byKey(renderOn(backend, ctx)));
    });

    it.each(Object.keys(apps))("labels every object of %s as owned by the app (and its service)", async (name) => {
      const ctx = await contextOn(subject, apps[name]!);
      if (!ctx) return;
      const rs = renderOn(backend, ctx);
      expect(rs.length).toBeGreaterThan(0);
      for (const r of rs) {
        const labels = subject.labelsOf(r, rs);
        expect(labels, `${resourceKey(r)} carries no labels`).toBeDefined();
        expect(labels, resourceKey(r)).toMatchObject(ownershipLabels(ctx.app.name));
        if (r.service !== undefined) expect(labels?.[LABEL_SERVICE], resourceKey(r)).toBe(r.service);
      }
    });

    it.each(Object.keys(apps))("checks %s: every fidelity line names a field of a service of the app", async (name) => {
      const ctx = await contextOn(subject, apps[name]!);
      if (!ctx) return;
      const report = checkTarget(backend, ctx);
      const services = new Set(ctx.app.services.map((s) => s.name));
      for (const f of report.fidelity) {
        expect(["exact", "approximated", "dropped"]).toContain(f.level);
        if (f.service !== undefined) expect(services.has(f.service), `${f.service}.${f.field}`).toBe(true);
      }
    });
  });

  const goldens = subject.goldens;
  if (goldens) {
    describe(`${subject.name} backend conformance: goldens (golden/<app>.${subject.name}.${goldens.ext})`, () => {
      it.each(Object.keys(apps))("renders %s into its golden, with no secret value in it", async (name) => {
        const ctx = await contextOn(subject, apps[name]!);
        if (!ctx) return;
        const text = goldens.serialize(renderOn(backend, ctx));
        await expect(text).toMatchFileSnapshot(resolve(goldens.dir, `${name}.${subject.name}.${goldens.ext}`));
        for (const s of ctx.secrets.values()) {
          const v = s.value?.reveal();
          if (v && v.length >= 4) {
            expect(text, `${s.service}/${s.name}`).not.toContain(v);
            expect(text, `${s.service}/${s.name} (base64)`).not.toContain(Buffer.from(v).toString("base64"));
          }
        }
      });
    });
  }

  const live = subject.live;
  if (live) describeLive(subject, live);
}

function describeLive<F extends object, T extends Target>(subject: ConformanceSubject<F, T>, live: ConformanceLive<F, T>): void {
  const appName = live.app ?? "shop";
  const file = exampleApps()[appName] ?? subject.goldens?.extraApps?.[appName];
  if (!file) throw new Error(`no example app "${appName}"`);
  const contextFor = async (fake: F): Promise<BackendContext<T>> => {
    const ctx = await contextOn(subject, file);
    if (!ctx) throw new Error(`${appName} has no ${subject.backend.kind} target; give the subject a targetFor`);
    return live.context ? live.context(ctx, fake) : ctx;
  };
  const planOn = (client: F, ctx: BackendContext<T>): Promise<BackendPlan> => {
    const b = live.backendOn(client);
    return b.plan(ctx, renderOn(b, ctx), {});
  };
  /** plan, then apply what it says (changes or unfinished rollouts). */
  const deploy = async (client: F, ctx: BackendContext<T>): Promise<{ plan: BackendPlan; result: BackendApplyResult | undefined }> => {
    const plan = await planOn(client, ctx);
    const result = hasChanges(plan) || (plan.unconverged?.length ?? 0) > 0 ? await live.backendOn(client).apply(ctx, plan, {}) : undefined;
    return { plan, result };
  };
  const expectConverged = async (fake: F, ctx: BackendContext<T>): Promise<void> => {
    const after = await planOn(fake, ctx);
    expect(changeIds(after)).toEqual([]);
    expect(after.unconverged ?? []).toEqual([]);
  };

  describe(`${subject.name} backend conformance: ${appName} against an in-memory fake`, () => {
    it("deploys; a plan of what was just deployed is a no-op; foreign objects are untouched", async () => {
      const fake = await live.fake();
      const foreign = JSON.stringify(live.foreign(fake, appName));
      const ctx = await contextFor(fake);
      const { plan, result } = await deploy(fake, ctx);
      expect(changeIds(plan).length).toBeGreaterThan(0);
      expect(result?.status, JSON.stringify(result?.error)).toBe("succeeded");
      expect(result?.completed.map(actionId).sort()).toEqual(changeIds(plan));
      await expectConverged(fake, ctx);
      expect(JSON.stringify(live.foreign(fake, appName))).toBe(foreign);
      const s = await live.backendOn(fake).status({ appName, target: ctx.target, baseDir: ctx.baseDir }, {});
      expect(s.services.map((x) => x.service).sort()).toEqual(ctx.app.services.map((x) => x.name).sort());
    });

    it("destroy removes every object of the app and nothing else", async () => {
      const fake = await live.fake();
      const ctx = await contextFor(fake);
      const { result } = await deploy(fake, ctx);
      expect(result?.status).toBe("succeeded");
      const foreign = JSON.stringify(live.foreign(fake, appName));
      const gone = await live.backendOn(fake).destroy({ appName, target: ctx.target, baseDir: ctx.baseDir }, {});
      expect(gone.failed).toEqual([]);
      expect(gone.deleted.length).toBeGreaterThan(0);
      expect(JSON.stringify(live.foreign(fake, appName))).toBe(foreign);
      // Nothing of the app runs or is left to change: a new plan creates it again. Objects a
      // backend keeps on purpose (ECS log groups, a cluster it may share) come back as no-ops.
      const again = await planOn(fake, ctx);
      expect(again.actions.filter((a) => a.kind !== "create" && a.kind !== "no-op").map(actionId)).toEqual([]);
      expect(again.actions.filter((a) => a.resource.service !== undefined && a.kind !== "create").map(actionId)).toEqual([]);
      expect(again.deployed ?? []).toEqual([]);
      const s = await live.backendOn(fake).status({ appName, target: ctx.target, baseDir: ctx.baseDir }, {});
      expect(s.services.filter((x) => x.running > 0 || x.desired > 0)).toEqual([]);
    });

    const faults = live.faults === false ? undefined : live.faults ?? {};
    if (!faults) return;
    it("fails each client call in turn: the result accounts for every change, foreign objects are untouched, and a re-run converges", async () => {
      const probe = await live.fake();
      const probeCtx = await contextFor(probe);
      const plan0 = await planOn(probe, probeCtx);
      const rec = injectFaults(probe);
      const clean = await live.backendOn(rec.client).apply(probeCtx, plan0, {});
      expect(clean.status, JSON.stringify(clean.error)).toBe("succeeded");
      const count = rec.calls.length;
      expect(count).toBeGreaterThan(0);
      for (const n of spreadCalls(count, faults.maxRuns ?? 24)) {
        const fake = await live.fake();
        const foreign = JSON.stringify(live.foreign(fake, appName));
        const ctx = await contextFor(fake);
        const plan = await planOn(fake, ctx);
        const faulty = injectFaults(fake, { failAt: n, ...(faults.error ? { error: faults.error } : {}) });
        const at = `call ${n} of ${count} (${rec.calls[n - 1]})`;
        let r: BackendApplyResult;
        try {
          r = await live.backendOn(faulty.client).apply(ctx, plan, {});
        } catch (e) {
          // apply must report, not throw: a throw loses what completed.
          throw new Error(`${at}: apply threw ${isSdxError(e) ? e.code : String(e)} instead of returning a result`);
        }
        expect(faulty.fired(), at).toBe(true);
        const accounted = [...r.completed.map(actionId), ...r.failed.map((f) => actionId(f.action)), ...r.remaining.map(actionId)].sort();
        expect(accounted, at).toEqual(changeIds(plan));
        if (r.status === "succeeded") expect(r.failed, at).toEqual([]);
        else {
          expect(r.error?.code, at).toMatch(/^SDX_[A-Z_]+$/);
          expect(["user", "backend"], at).toContain(r.error?.fault);
        }
        expect(JSON.stringify(live.foreign(fake, appName)), at).toBe(foreign);
        const rerun = await deploy(fake, ctx);
        if (rerun.result) expect(rerun.result.status, `${at}: re-run ${JSON.stringify(rerun.result.error)}`).toBe("succeeded");
        await expectConverged(fake, ctx);
        expect(JSON.stringify(live.foreign(fake, appName)), at).toBe(foreign);
      }
    });
  });
}
