import { describe, expect, it } from "vitest";
import { Redacted } from "../secrets/redacted.js";
import { diffResources, diffValues } from "./diff-resources.js";
import type { LiveResource, Resource } from "./resource.js";

const order = ["ConfigMap", "Deployment", "Service"];
const res = (kind: string, name: string, body: Record<string, unknown>): Resource => ({ kind, name, body });
const live = (r: Resource, owned = true): LiveResource => ({ ...r, owned });

describe("diffResources", () => {
  it("classifies create, update, no-op and delete in a stable order", () => {
    const desired = [res("Service", "web", { port: 80 }), res("Deployment", "web", { replicas: 3 }), res("Deployment", "api", { replicas: 1 }), res("ConfigMap", "web-files", { a: 1 })];
    const current = [live(res("Deployment", "web", { replicas: 2 })), live(res("Deployment", "api", { replicas: 1 })), live(res("Service", "old", {})), live(res("ConfigMap", "gone", {}))];
    const { actions, diagnostics } = diffResources(desired, current, { kindOrder: order });
    expect(diagnostics).toEqual([]);
    expect(actions.map((a) => `${a.kind} ${a.resource.kind}/${a.resource.name}`)).toEqual([
      "create ConfigMap/web-files",
      "no-op Deployment/api",
      "update Deployment/web",
      "create Service/web",
      // deletes last, reverse kind order: dependents before what they depend on
      "delete Service/old",
      "delete ConfigMap/gone",
    ]);
    expect(actions[2]!.changes).toEqual([{ path: "replicas", before: 2, after: 3 }]);
  });

  it("never plans changes to an object it does not own, and says so", () => {
    const d = res("Deployment", "web", { replicas: 1 });
    const { actions, diagnostics } = diffResources([d], [live(res("Deployment", "web", { replicas: 5 }), false), live(res("Deployment", "foreign", {}), false)], { kindOrder: order });
    expect(actions).toEqual([]);
    expect(diagnostics).toEqual([expect.objectContaining({ code: "SDX_NOT_OWNED", severity: "error" })]);
  });

  it("uses replaceWhen for immutable fields", () => {
    const { actions } = diffResources([res("Deployment", "web", { selector: "b" })], [live(res("Deployment", "web", { selector: "a" }))], {
      kindOrder: order, replaceWhen: (_d, _l, changes) => (changes.some((c) => c.path === "selector") ? "selector is immutable" : undefined),
    });
    expect(actions[0]).toMatchObject({ kind: "replace", reason: "selector is immutable" });
  });
});

describe("diffValues", () => {
  it("diffs named lists by name, not index", () => {
    const before = { env: [{ name: "A", value: "1" }, { name: "B", value: "2" }] };
    const after = { env: [{ name: "Z", value: "0" }, { name: "A", value: "1" }, { name: "B", value: "3" }] };
    expect(diffValues(before, after, "")).toEqual([
      { path: "env[name=Z].name", after: "Z" },
      { path: "env[name=Z].value", after: "0" },
      { path: "env[name=B].value", before: "2", after: "3" },
    ]);
  });
  it("compares secret values but prints them redacted", () => {
    const changes = diffValues({ s: new Redacted("old") }, { s: new Redacted("new") }, "");
    expect(changes).toHaveLength(1);
    expect(JSON.stringify(changes)).toBe('[{"path":"s","before":"[redacted]","after":"[redacted]"}]');
    expect(diffValues({ s: new Redacted("same") }, { s: new Redacted("same") }, "")).toEqual([]);
  });
});
