import { describe, expect, it } from "vitest";
import { validateApp } from "../validation/validate-app.js";
import type { Service } from "./app.js";
import { effectiveRollout, isStopFirstByDefault, stopFirstReport } from "./rollout-defaults.js";

const image = `registry.test/db@sha256:${"5".repeat(64)}`;
const data = { name: "data", path: "/var/lib/postgresql/data", kind: "persistent" };

/** One service as validation normalises it from what a user writes. */
function service(raw: Record<string, unknown>): Service {
  const { app, diagnostics } = validateApp({ name: "store", services: { db: { image, ...raw } } });
  if (!app) throw new Error(JSON.stringify(diagnostics));
  return app.services[0]!;
}

/** The app wrote `strategy: rolling` itself (validation's `strategyGiven`). */
const given = (s: Service): Service => ({ ...s, rollout: { ...s.rollout, strategyGiven: true } as Service["rollout"] });

describe("isStopFirstByDefault", () => {
  it("stops first for one replica with a persistent volume, fixed or autoscaled to at most one", () => {
    expect(isStopFirstByDefault(service({ replicas: 1, volumes: [data] }))).toBe(true);
    expect(isStopFirstByDefault(service({ volumes: [data] }))).toBe(true);
    expect(isStopFirstByDefault(service({ autoscale: { min: 0, max: 1 }, volumes: [data] }))).toBe(true);
    expect(isStopFirstByDefault(service({ replicas: 1, volumes: [data], rollout: { maxSurge: 1 } }))).toBe(true);
  });

  it("leaves rolling alone with more replicas, without a persistent volume, or when recreate is already asked for", () => {
    expect(isStopFirstByDefault(service({ replicas: 2, volumes: [data] }))).toBe(false);
    expect(isStopFirstByDefault(service({ autoscale: { min: 1, max: 3 }, volumes: [data] }))).toBe(false);
    expect(isStopFirstByDefault(service({ replicas: 1, volumes: [{ name: "tmp", path: "/tmp" }] }))).toBe(false);
    expect(isStopFirstByDefault(service({ replicas: 1 }))).toBe(false);
    expect(isStopFirstByDefault(service({ replicas: 1, volumes: [data], rollout: { strategy: "recreate" } }))).toBe(false);
  });

  it("keeps a rolling update the app asked for with a surge, and only then", () => {
    expect(isStopFirstByDefault(given(service({ volumes: [data], rollout: { strategy: "rolling", maxSurge: 1 } })))).toBe(false);
    expect(isStopFirstByDefault(given(service({ volumes: [data], rollout: { strategy: "rolling" } })))).toBe(false);
    expect(isStopFirstByDefault(given(service({ volumes: [data], rollout: { strategy: "rolling", maxSurge: 0, maxUnavailable: 1 } })))).toBe(true);
    expect(isStopFirstByDefault(given(service({ volumes: [data], rollout: { strategy: "rolling", maxSurge: "0%", maxUnavailable: 1 } })))).toBe(true);
  });
});

describe("effectiveRollout", () => {
  it("turns the default rolling update into recreate and keeps the other settings", () => {
    const svc = service({ volumes: [data], rollout: { autoRollback: true, timeout: "2m" } });
    expect(effectiveRollout(svc)).toEqual({ ...svc.rollout, strategy: "recreate" });
    expect(effectiveRollout(svc)).toMatchObject({ autoRollback: true, timeoutSeconds: 120 });
    const web = service({ replicas: 3 });
    expect(effectiveRollout(web)).toBe(web.rollout);
  });
});

describe("stopFirstReport", () => {
  it("says stop-first was chosen, why, and how the backend does it", () => {
    expect(stopFirstReport(service({ volumes: [data] }), "prod", "Deployment strategy Recreate")).toEqual({
      diagnostics: [],
      fidelity: [{
        service: "db", field: "rollout", level: "exact",
        note: "one replica with a persistent volume: stop-first (recreate) so two processes never share the volume (Deployment strategy Recreate); set strategy: rolling with maxSurge: 1 to start the new one first",
      }],
    });
  });

  it("warns when the app itself asks for a start-first update of one replica with a persistent volume", () => {
    const report = stopFirstReport(given(service({ volumes: [data], rollout: { strategy: "rolling", maxSurge: 1 } })), "prod", "x");
    expect(report.fidelity).toEqual([]);
    expect(report.diagnostics).toEqual([expect.objectContaining({
      code: "SDX_ROLLOUT_SHARED_VOLUME", severity: "warning", target: "prod", path: "services.db.rollout",
      message: 'rolling update with maxSurge 1: during each update two processes of "db" will share its persistent volume',
    })]);
  });

  it("says nothing about services the default does not touch", () => {
    expect(stopFirstReport(service({ replicas: 3, volumes: [data] }), "prod", "x")).toEqual({ diagnostics: [], fidelity: [] });
    expect(stopFirstReport(service({ volumes: [data], rollout: { strategy: "recreate" } }), "prod", "x")).toEqual({ diagnostics: [], fidelity: [] });
  });
});
