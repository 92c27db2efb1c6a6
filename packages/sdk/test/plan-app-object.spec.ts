import { describe, expect, it } from "vitest";
import { diagnosticsOf, loadApp, plan, type App } from "@sdx/sdk";
import { builtinTargetKinds, EXAMPLE_SECRET_ENV, exampleFile } from "@sdx/sdk/testing";

// The built-in backends' target kinds: validation knows no kind by itself.
const targetKinds = await builtinTargetKinds();

// plan()/deploy() given an App object validate it exactly like a file (issue #16):
// an object must not reach a backend with names or namespaces no file could carry.
async function hello(): Promise<App> {
  const r = await loadApp(exampleFile("hello"), { targetKinds, env: EXAMPLE_SECRET_ENV });
  return r.app!;
}

describe("plan(appObject)", () => {
  it("plans a valid object exactly as the file it came from", async () => {
    const app = await hello();
    const fromObject = await plan(app, { target: "k8s", offline: true, estimate: false, env: EXAMPLE_SECRET_ENV });
    const fromFile = await plan(exampleFile("hello"), { target: "k8s", offline: true, estimate: false, env: EXAMPLE_SECRET_ENV });
    expect(fromObject.revision).toEqual(fromFile.revision);
    expect(fromObject.plans[0]!.plan.actions).toEqual(fromFile.plans[0]!.plan.actions);
    expect(fromObject.plans[0]!.plan.actions.length).toBeGreaterThan(0);
  });

  it("refuses an evil name and namespace with SDX_VALIDATION and every diagnostic", async () => {
    const app = await hello();
    const evil = { ...app, name: "Evil Name!/..", targets: app.targets.map((t) => (t.kind === "kubernetes" ? { ...t, namespace: "../kube-system" } : t)) } as App;
    const err = await plan(evil, { target: "k8s", offline: true, estimate: false, env: EXAMPLE_SECRET_ENV }).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: "SDX_VALIDATION", fault: "user" });
    expect(diagnosticsOf(err).map((d) => `${d.code} ${d.path}`)).toEqual(expect.arrayContaining(["SDX_INVALID_FORMAT name", "SDX_INVALID_FORMAT targets.k8s.namespace"]));
  });
});
