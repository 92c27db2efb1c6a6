import { describe, expect, it } from "vitest";
import type { BackendApplyResult, BackendContext, ServiceRollout } from "../backend/backend.js";
import { SdxError } from "../errors/sdx-error.js";
import type { SdxEvent } from "../events/sdx-event.js";
import { summarize, type BackendPlan, type PlannedAction } from "../plan/plan.js";
import { resourceKey } from "../plan/resource.js";
import { applyPlan, rolloutError, type ApplyHooks, type ApplyWatch, type RolloutOutcome } from "./apply-plan.js";

// applyPlan over a tiny in-memory orchestrator: a store of objects, services
// whose rollouts end as the test scripts them, and content-named "config"
// objects a service's old revision mounts. What is asserted is what a user
// would see: the store afterwards, the result, the events.

type Script = RolloutOutcome["kind"] | "never" | "throw";

interface World {
  readonly store: Map<string, { service?: string }>;
  /** Config keys a live service still mounts (the old revision, a rollback target). */
  readonly mounted: Set<string>;
  readonly calls: string[];
}

interface Watch extends ApplyWatch {
  readonly name: string;
}

const svcAction = (service: string, kind: PlannedAction["kind"] = "update"): PlannedAction => ({
  kind, resource: { kind: "service", name: service, service }, changes: [], ...(kind === "delete" ? {} : { desired: { kind: "service", name: service, service, body: {} } }),
});
const cfgAction = (name: string, service: string | undefined, kind: PlannedAction["kind"]): PlannedAction => ({
  kind, resource: { kind: "config", name, ...(service ? { service } : {}) }, changes: [], ...(kind === "delete" ? {} : { desired: { kind: "config", name, body: {} } }),
});
const planOf = (actions: PlannedAction[], unconverged: BackendPlan["unconverged"] = []): BackendPlan =>
  ({ target: "t", backend: "mem", mode: "live", actions, summary: summarize(actions), diagnostics: [], unconverged });

const ctx = (autoRollback = true): BackendContext => ({
  app: { name: "shop", services: ["api", "web"].map((name) => ({ name, rollout: { timeoutSeconds: 60, autoRollback } })) },
  target: { name: "t", kind: "mem" }, revision: { app: "r", services: {} }, secrets: new Map(), baseDir: "/",
} as unknown as BackendContext);

function world(): World {
  const w: World = { store: new Map(), mounted: new Set(), calls: [] };
  w.store.set("service/api", { service: "api" });
  w.store.set("config/api-old", { service: "api" });
  w.store.set("config/web-old", { service: "web" });
  return w;
}

/** Hooks over the world; `outcomes` scripts each service's rollout, `over` replaces single hooks. */
function hooks(w: World, outcomes: Record<string, Script> = {}, over: Partial<ApplyHooks<Watch>> = {}): ApplyHooks<Watch> {
  return {
    concurrency: 2,
    rank: (a) => (a.resource.kind === "config" ? 0 : 1),
    isDeferred: (a) => a.resource.kind === "config",
    run: async (a) => {
      w.calls.push(`${a.kind} ${resourceKey(a.resource)}`);
      if (a.kind === "delete") w.store.delete(resourceKey(a.resource));
      else w.store.set(resourceKey(a.resource), { ...(a.resource.service ? { service: a.resource.service } : {}) });
      return a.resource.kind === "service" && a.kind !== "delete" ? { service: a.resource.service!, name: a.resource.name, created: a.kind === "create" } : undefined;
    },
    resume: (u) => ({ service: u.service, name: u.resource.name }),
    waitRollouts: async (watches, { settle, signal }) => {
      w.calls.push(`wait ${watches.map((x) => x.name).join(",")}`);
      for (const x of watches) {
        const s = outcomes[x.service] ?? "succeeded";
        if (s === "throw") throw new SdxError("SDX_BACKEND_UNREACHABLE", "cannot reach the orchestrator", { fault: "backend" });
        if (s === "never") {
          await new Promise((_r, reject) => signal.addEventListener("abort", () => reject(new SdxError("SDX_ABORTED", "aborted", { fault: "user" })), { once: true }));
        }
        if (s === "succeeded") settle(x, { kind: "succeeded", desired: 2, ready: 2 });
        else if (s === "aborted") settle(x, { kind: "aborted", desired: 2, ready: 1 });
        else if (s !== "never") settle(x, { kind: s, desired: 2, ready: 0, reason: `${s} because of a crash loop` });
      }
    },
    stillReferenced: async (deferred) => deferred.filter((a) => w.mounted.has(resourceKey(a.resource))),
    ...over,
  };
}

const key = (a: PlannedAction): string => `${a.kind} ${resourceKey(a.resource)}`;

/** completed, failed and remaining partition the plan's changes. */
function expectAccounted(plan: BackendPlan, r: BackendApplyResult): void {
  const changes = plan.actions.filter((a) => a.kind !== "no-op").map(key).sort();
  expect([...r.completed.map(key), ...r.failed.map((f) => key(f.action)), ...r.remaining.map(key)].sort()).toEqual(changes);
}

const rotation = (): BackendPlan => planOf([cfgAction("api-new", "api", "create"), svcAction("api"), cfgAction("api-old", "api", "delete")]);

describe("applyPlan", () => {
  it("runs changes by rank, waits, then deletes the deferred garbage", async () => {
    const w = world();
    const plan = rotation();
    const events: SdxEvent[] = [];
    const r = await applyPlan(ctx(), plan, { onEvent: (e) => events.push(e) }, hooks(w));
    expect(r).toMatchObject({ status: "succeeded", failed: [], remaining: [], rollouts: [{ service: "api", status: "succeeded", desired: 2, ready: 2 }] });
    expect(r.error).toBeUndefined();
    expect(w.calls).toEqual(["create config/api-new", "update service/api", "wait api", "delete config/api-old"]);
    expect(w.store.has("config/api-old")).toBe(false);
    expectAccounted(plan, r);
    expect(events.filter((e) => e.kind === "rollout-succeeded")).toEqual([{ kind: "rollout-succeeded", target: "t", service: "api" }]);
  });

  it("keeps deferred deletes without a wait, as remaining", async () => {
    const w = world();
    const r = await applyPlan(ctx(), rotation(), { wait: false }, hooks(w));
    expect(r.status).toBe("succeeded");
    expect(r.rollouts).toEqual([{ service: "api", status: "not-waited", desired: 0, ready: 0 }]);
    expect(r.remaining.map(key)).toEqual(["delete config/api-old"]);
    expect(w.store.has("config/api-old")).toBe(true);
    expect(w.calls).not.toContain("wait api");
  });

  it("keeps the garbage of a service whose rollout failed, and collects the others'", async () => {
    const w = world();
    const plan = planOf([svcAction("api"), svcAction("web"), cfgAction("api-old", "api", "delete"), cfgAction("web-old", "web", "delete")]);
    const r = await applyPlan(ctx(), plan, {}, hooks(w, { api: "failed" }, { rollback: async () => false }));
    expect(r.status).toBe("failed");
    expect(w.store.has("config/api-old")).toBe(true);
    expect(w.store.has("config/web-old")).toBe(false);
    expect(r.remaining.map(key)).toEqual(["delete config/api-old"]);
    expect(r.rollouts.find((x) => x.service === "api")).toMatchObject({ status: "failed", reason: "failed because of a crash loop; the rollback did not complete either" });
    expectAccounted(plan, r);
  });

  it("keeps garbage that belongs to no service while any rollout is bad", async () => {
    const w = world();
    w.store.set("config/shared", {});
    const plan = planOf([svcAction("api"), cfgAction("shared", undefined, "delete")]);
    const r = await applyPlan(ctx(), plan, {}, hooks(w, { api: "rolled-back" }));
    expect(r.status).toBe("rolled-back");
    expect(w.store.has("config/shared")).toBe(true);
  });

  it("does not delete an object a live revision still references, and says so as remaining, not failed", async () => {
    const w = world();
    w.mounted.add("config/api-old");
    const r = await applyPlan(ctx(), rotation(), {}, hooks(w));
    expect(r.status).toBe("succeeded");
    expect(w.store.has("config/api-old")).toBe(true);
    expect(r.remaining.map(key)).toEqual(["delete config/api-old"]);
    expect(r.failed).toEqual([]);
  });

  it("fails, and deletes nothing, when the still-referenced check cannot look", async () => {
    const w = world();
    const r = await applyPlan(ctx(), rotation(), {}, hooks(w, {}, { stillReferenced: async () => { throw new SdxError("SDX_BACKEND_UNREACHABLE", "gone", { fault: "backend" }); } }));
    expect(r).toMatchObject({ status: "failed", error: { code: "SDX_BACKEND_UNREACHABLE", fault: "backend" } });
    expect(w.store.has("config/api-old")).toBe(true);
    expect(r.remaining.map(key)).toEqual(["delete config/api-old"]);
  });

  it("waits for a rollout the plan found unfinished, once, and not for one the plan deletes", async () => {
    const w = world();
    const plan = planOf([svcAction("api", "no-op"), svcAction("web", "delete")], [
      { service: "api", resource: { kind: "service", name: "api" }, reason: "1 of 2 running" },
      { service: "web", resource: { kind: "service", name: "web" }, reason: "1 of 2 running" },
    ]);
    const r = await applyPlan(ctx(), plan, {}, hooks(w));
    expect(w.calls).toEqual(["delete service/web", "wait api"]);
    expect(r.rollouts).toEqual([{ service: "api", status: "succeeded", desired: 2, ready: 2 }]);
    // A changed service that is also unconverged is waited for once, through the watch its change returned.
    const again = await applyPlan(ctx(), planOf([svcAction("api")], [{ service: "api", resource: { kind: "service", name: "api" }, reason: "x" }]), {}, hooks(world()));
    expect(again.rollouts).toHaveLength(1);
  });

  it("merges two rollouts of one service: the worse status wins and counts add up", async () => {
    const w = world();
    const h = hooks(w, {}, {
      run: async (a) => ({ service: "api", name: a.resource.name }),
      waitRollouts: async (ws, { settle }) => {
        settle(ws[0]!, { kind: "succeeded", desired: 2, ready: 2 });
        settle(ws[1]!, { kind: "timed-out", desired: 1, ready: 0, reason: "not finished after 60 s" });
      },
    });
    const plan = planOf([{ ...svcAction("api"), resource: { kind: "service", name: "api", service: "api" } }, { ...svcAction("api"), resource: { kind: "service", name: "api-on-demand", service: "api" } }]);
    const r = await applyPlan(ctx(false), plan, {}, h);
    expect(r.rollouts).toEqual([{ service: "api", status: "timed-out", desired: 3, ready: 2, reason: "not finished after 60 s" }]);
    expect(r.error).toMatchObject({ code: "SDX_ROLLOUT_TIMEOUT", fault: "backend" });
  });

  describe("rollback", () => {
    it("rolls a failed update back through the hook, with events, and reports rolled-back", async () => {
      const w = world();
      const events: SdxEvent[] = [];
      const rolled: string[] = [];
      const r = await applyPlan(ctx(), rotation(), { onEvent: (e) => events.push(e) }, hooks(w, { api: "failed" }, { rollback: async (x) => { rolled.push(x.name); return true; } }));
      expect(rolled).toEqual(["api"]);
      expect(r.status).toBe("rolled-back");
      expect(r.rollouts).toEqual([{ service: "api", status: "rolled-back", desired: 2, ready: 0, reason: "failed because of a crash loop" }]);
      expect(r.error).toMatchObject({ code: "SDX_ROLLOUT_FAILED", fault: "backend", details: { status: "rolled-back" } });
      expect(events.map((e) => e.kind).filter((k) => k.startsWith("roll"))).toEqual(["rollout-failed", "rollback-started", "rollback-finished"]);
      expect(w.store.has("config/api-old")).toBe(true); // the rolled-back revision mounts it
    });

    it("never rolls back a created service, nor one with autoRollback off", async () => {
      for (const [plan, c] of [[planOf([svcAction("api", "create")]), ctx()], [planOf([svcAction("api")]), ctx(false)]] as const) {
        const rolled: string[] = [];
        const r = await applyPlan(c, plan, {}, hooks(world(), { api: "timed-out" }, { rollback: async (x) => { rolled.push(x.name); return true; } }));
        expect(rolled).toEqual([]);
        expect(r).toMatchObject({ status: "failed", rollouts: [{ status: "timed-out" }], error: { code: "SDX_ROLLOUT_TIMEOUT" } });
      }
    });

    it("a rollback hook that throws leaves the rollout failed, never the apply throwing", async () => {
      const r = await applyPlan(ctx(), rotation(), {}, hooks(world(), { api: "failed" }, { rollback: async () => { throw new Error("boom"); } }));
      expect(r).toMatchObject({ status: "failed", error: { code: "SDX_ROLLOUT_FAILED" } });
      expect(r.rollouts[0]!.reason).toMatch(/the rollback did not complete either$/);
    });
  });

  describe("abort", () => {
    it("before anything: changes nothing", async () => {
      const w = world();
      const ac = new AbortController();
      ac.abort();
      const plan = rotation();
      const r = await applyPlan(ctx(), plan, { signal: ac.signal }, hooks(w));
      expect(r).toMatchObject({ status: "aborted", completed: [], error: { code: "SDX_ABORTED", fault: "user" } });
      expect(w.calls).toEqual([]);
      expectAccounted(plan, r);
    });

    it("during an action: the cut-off action is remaining, nothing failed, no wait", async () => {
      const w = world();
      const ac = new AbortController();
      const plan = rotation();
      const h = hooks(w);
      const r = await applyPlan(ctx(), plan, { signal: ac.signal }, {
        ...h, run: async (a, s) => {
          if (a.resource.kind === "service") {
            ac.abort();
            throw new SdxError("SDX_ABORTED", "aborted", { fault: "user" });
          }
          return h.run(a, s);
        },
      });
      expect(r).toMatchObject({ status: "aborted", failed: [], error: { code: "SDX_ABORTED", fault: "user" } });
      expect(r.completed.map(key)).toEqual(["create config/api-new"]);
      expect(r.remaining.map(key).sort()).toEqual(["delete config/api-old", "update service/api"]);
      expect(w.calls).not.toContain("wait api");
    });

    it("during the wait: rollouts not waited, garbage kept", async () => {
      const w = world();
      const ac = new AbortController();
      const plan = rotation();
      setTimeout(() => ac.abort(), 5);
      const r = await applyPlan(ctx(), plan, { signal: ac.signal }, hooks(w, { api: "never" }));
      expect(r).toMatchObject({ status: "aborted", error: { code: "SDX_ABORTED", fault: "user" } });
      expect(r.rollouts).toEqual([{ service: "api", status: "not-waited", desired: 0, ready: 0, reason: "the wait was interrupted" }]);
      expect(w.store.has("config/api-old")).toBe(true);
      expectAccounted(plan, r);
    });

    it("reported by the wait as an outcome: aborted, garbage kept", async () => {
      const w = world();
      const r = await applyPlan(ctx(), rotation(), {}, hooks(w, { api: "aborted" }));
      expect(r).toMatchObject({ status: "aborted", rollouts: [{ status: "aborted" }], error: { code: "SDX_ABORTED", fault: "user" } });
      expect(w.store.has("config/api-old")).toBe(true);
    });

    it("during garbage collection: the cut-off delete is remaining", async () => {
      const w = world();
      const ac = new AbortController();
      const plan = rotation();
      const h = hooks(w);
      const r = await applyPlan(ctx(), plan, { signal: ac.signal }, {
        ...h, run: async (a, s) => {
          if (a.kind === "delete") {
            ac.abort();
            throw new SdxError("SDX_ABORTED", "aborted", { fault: "user" });
          }
          return h.run(a, s);
        },
      });
      expect(r).toMatchObject({ status: "aborted", failed: [], rollouts: [{ status: "succeeded" }], error: { code: "SDX_ABORTED" } });
      expect(r.remaining.map(key)).toEqual(["delete config/api-old"]);
      expectAccounted(plan, r);
    });
  });

  describe("a throwing hook never makes applyPlan throw", () => {
    const boom = (): never => { throw new Error("hook bug"); };
    const cases: [string, Partial<ApplyHooks<Watch>>, string][] = [
      ["rank", { rank: boom }, "SDX_INTERNAL"],
      ["isDeferred", { isDeferred: boom }, "SDX_INTERNAL"],
      ["prepare", { prepare: async () => boom() }, "SDX_BACKEND_ERROR"],
      ["run", { run: async () => boom() }, "SDX_BACKEND_ERROR"],
      ["resume", { resume: boom }, "SDX_INTERNAL"],
      ["waitRollouts", { waitRollouts: async () => boom() }, "SDX_BACKEND_ERROR"],
      ["stillReferenced", { stillReferenced: async () => boom() }, "SDX_BACKEND_ERROR"],
    ];
    it.each(cases)("%s", async (_name, over, code) => {
      const w = world();
      const plan = planOf([...rotation().actions], [{ service: "web", resource: { kind: "service", name: "web" }, reason: "x" }]);
      const r = await applyPlan(ctx(), plan, {}, hooks(w, {}, over));
      expect(r.status).toBe("failed");
      expect(r.error?.code).toBe(code);
      expectAccounted(plan, r);
    });

    it("afterRollouts: a warning, the deploy still succeeds", async () => {
      const events: SdxEvent[] = [];
      const r = await applyPlan(ctx(), rotation(), { onEvent: (e) => events.push(e) }, hooks(world(), {}, { afterRollouts: async () => boom() }));
      expect(r.status).toBe("succeeded");
      expect(events).toContainEqual({ kind: "log", target: "t", level: "warning", message: "housekeeping after the rollouts failed: hook bug" });
    });

    it("a wait that returns without settling a watch is an internal error, the rollout not waited", async () => {
      const r = await applyPlan(ctx(), rotation(), {}, hooks(world(), {}, { waitRollouts: async () => undefined }));
      expect(r).toMatchObject({ status: "failed", error: { code: "SDX_INTERNAL", fault: "internal" }, rollouts: [{ status: "not-waited" }] });
    });

    it("a wait error keeps the outcomes already settled and the garbage", async () => {
      const w = world();
      const plan = planOf([svcAction("api"), svcAction("web"), cfgAction("web-old", "web", "delete")]);
      const r = await applyPlan(ctx(), plan, {}, hooks(w, { web: "throw" }));
      expect(r).toMatchObject({ status: "failed", error: { code: "SDX_BACKEND_UNREACHABLE", fault: "backend" } });
      expect(r.rollouts).toEqual([
        { service: "api", status: "succeeded", desired: 2, ready: 2 },
        { service: "web", status: "not-waited", desired: 0, ready: 0, reason: "the wait stopped: cannot reach the orchestrator" },
      ]);
      expect(w.store.has("config/web-old")).toBe(true);
    });
  });

  it("each outcome maps to one status, code and fault", async () => {
    const seen: Record<string, unknown> = {};
    for (const kind of ["succeeded", "failed", "timed-out", "rolled-back", "aborted"] as const) {
      const r = await applyPlan(ctx(false), rotation(), {}, hooks(world(), { api: kind }));
      seen[kind] = { status: r.status, rollout: r.rollouts[0]!.status, code: r.error?.code, fault: r.error?.fault };
    }
    expect(seen).toEqual({
      succeeded: { status: "succeeded", rollout: "succeeded", code: undefined, fault: undefined },
      failed: { status: "failed", rollout: "failed", code: "SDX_ROLLOUT_FAILED", fault: "backend" },
      "timed-out": { status: "failed", rollout: "timed-out", code: "SDX_ROLLOUT_TIMEOUT", fault: "backend" },
      "rolled-back": { status: "rolled-back", rollout: "rolled-back", code: "SDX_ROLLOUT_FAILED", fault: "backend" },
      aborted: { status: "aborted", rollout: "aborted", code: "SDX_ABORTED", fault: "user" },
    });
  });

  it("the worst rollout names the error, with the backend's hint", () => {
    const r: ServiceRollout = { service: "api", status: "rolled-back", desired: 2, ready: 2, reason: "exit code 1" };
    expect(rolloutError(r, "See the task logs.")).toEqual({
      code: "SDX_ROLLOUT_FAILED", fault: "backend", hint: "See the task logs.",
      message: "api: the rollout failed and was rolled back to the previous revision: exit code 1",
      details: { service: "api", status: "rolled-back", reason: "exit code 1" },
    });
    expect(rolloutError({ ...r, status: "not-waited" })).toBeUndefined();
  });
});
