import { describe, expect, it } from "vitest";
import { DEFAULT_BUILD_BASE, validateApp, validateNormalizedApp, type App } from "@sdx/sdk";
import { builtinTargetKinds } from "@sdx/sdk/testing";
import { repositoryFor } from "../src/api/repository-for.js";
import { formatBuildResult } from "../src/format/format-results.js";
import { formatPlanResult } from "../src/format/format-plan.js";
import type { PlanResult } from "../src/api/plan.js";

const targetKinds = await builtinTargetKinds();
const doc = (web: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name: "shop", services: { web }, targets: { local: { kind: "swarm" } }, ...extra,
});
const codes = (input: unknown) => validateApp(input, { targetKinds }).diagnostics.map((d) => `${d.severity} ${d.code} ${d.path}`);

describe("build: in the model", () => {
  it("a service may be built instead of naming an image; defaults are filled and the image names where it goes", () => {
    const { app, diagnostics } = validateApp(doc({ build: { entry: "server.js" } }, { build: { registry: "127.0.0.1:5000/" } }), { targetKinds });
    expect(diagnostics).toEqual([]);
    const web = app!.services[0]!;
    expect(web.build).toEqual({ context: ".", entry: "server.js", base: DEFAULT_BUILD_BASE, include: [], exclude: [], dependencies: "npm-ci" });
    expect(web.image).toEqual({ ref: "127.0.0.1:5000/shop-web", repository: "127.0.0.1:5000/shop-web" });
    expect(app!.build).toEqual({ registry: "127.0.0.1:5000" });
    // The registry is applied at build time (a target's wins), with the trailing slash gone.
    expect(repositoryFor(app!, web, web.build!, undefined)).toBe("127.0.0.1:5000/shop-web");
  });

  it("no mutable-image warning for a built service; an image without digest names the repository", () => {
    const { app, diagnostics } = validateApp(doc({ image: "ghcr.io/acme/web", build: { entry: "dist/main.js", base: "node:24-alpine", dependencies: "copy", node: "24.1.0", user: "1000" } }), { targetKinds });
    expect(diagnostics).toEqual([]);
    expect(app!.services[0]!.build).toMatchObject({ repository: "ghcr.io/acme/web", base: "node:24-alpine", dependencies: "copy", node: "24.1.0", user: "1000" });
  });

  it("refuses what cannot be built, with the path and a fix", () => {
    expect(codes(doc({}))).toContain("error SDX_MISSING services.web.image");
    expect(codes(doc({ build: { entry: "server.js", context: "../elsewhere" } }))).toContain("error SDX_PATH_OUTSIDE_APP services.web.build.context");
    expect(codes(doc({ build: { entry: "server.js", context: "/etc" } }))).toContain("error SDX_PATH_OUTSIDE_APP services.web.build.context");
    expect(codes(doc({ build: { entry: "../../x.js" } }))).toContain("error SDX_PATH_OUTSIDE_APP services.web.build.entry");
    expect(codes(doc({ image: `a/b@sha256:${"0".repeat(64)}`, build: { entry: "s.js" } }))).toContain("error SDX_BUILD_CONFLICT services.web.image");
    expect(codes(doc({ build: { entry: "s.js", repository: "Ghcr.io/UPPER:tag" } }))).toContain("error SDX_INVALID_IMAGE services.web.build.repository");
    expect(codes(doc({ build: { entry: "s.js", base: "not an image" } }))).toContain("error SDX_INVALID_IMAGE services.web.build.base");
    expect(codes(doc({ build: { entry: "s.js", dependencies: "yarn" } })).some((c) => c.includes("services.web.build.dependencies"))).toBe(true);
    expect(codes(doc({ build: { entry: "s.js", node: "latest" } })).some((c) => c.includes("services.web.build.node"))).toBe(true);
    expect(codes(doc({ build: { entry: "s.js", contxt: "." } })).some((c) => c.startsWith("error SDX_UNKNOWN_KEY services.web.build"))).toBe(true);
  });

  it("without any registry, building says where to name one", () => {
    const { app } = validateApp(doc({ build: { entry: "server.js" } }), { targetKinds });
    const web = app!.services[0]!;
    expect(() => repositoryFor(app!, web, web.build!, undefined)).toThrow(expect.objectContaining({ code: "SDX_BUILD_NO_REGISTRY", path: "services.web.build.repository", fault: "user" }));
    const target = { ...app!.targets[0]!, registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com" };
    expect(repositoryFor(app!, web, web.build!, target)).toBe("123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-web");
  });

  it("a target's registry is a common field of every kind", () => {
    const { app, diagnostics } = validateApp(doc({ build: { entry: "s.js" } }, { targets: { local: { kind: "swarm", registry: "127.0.0.1:5000" } } }), { targetKinds });
    expect(diagnostics).toEqual([]);
    expect(app!.targets[0]!.registry).toBe("127.0.0.1:5000");
  });

  it("an App object with a built service round-trips through validation unchanged", () => {
    const { app } = validateApp(doc({ build: { entry: "server.js", include: ["*.js"] } }, { build: { registry: "127.0.0.1:5000" } }), { targetKinds });
    const again = validateNormalizedApp(app as App, { targetKinds });
    expect(again.diagnostics).toEqual([]);
    expect(again.app).toEqual(app);
  });
});

describe("what build and plan print", () => {
  it("sdx build: one line per service, service → repository@digest, and what the push did", () => {
    const digest = `sha256:${"b".repeat(64)}`;
    const text = formatBuildResult({
      app: "shop",
      services: [{
        service: "web", repository: "127.0.0.1:5000/shop-web", digest, image: `127.0.0.1:5000/shop-web@${digest}`, platform: "linux/amd64",
        sourceRevision: "abc", layers: [{ role: "base", digest, size: 1 }, { role: "app", digest, size: 2 }], existed: false,
        push: { uploaded: 2, present: 1, mounted: 0, bytesUploaded: 1234 }, warnings: [],
      }],
    }, true);
    expect(text).toBe(`web → 127.0.0.1:5000/shop-web@${digest}\n  linux/amd64, 2 layers; pushed 2 of 3 blobs (1234 bytes)\n`);
  });

  it("sdx plan: a build line per built service, saying whether a deploy would upload it", () => {
    const r = {
      app: "shop", revision: { app: "r1", services: {} }, diagnostics: [], target: "local", plans: [], selection: "x", images: [], backendNames: {},
      builds: [
        { service: "web", target: "local", repository: "r/shop-web", image: `r/shop-web@sha256:${"c".repeat(64)}`, digest: `sha256:${"c".repeat(64)}`, status: "new" },
        { service: "api", target: "local", repository: "r/shop-api", image: `r/shop-api@sha256:${"d".repeat(64)}`, digest: `sha256:${"d".repeat(64)}`, status: "unchanged" },
        { service: "job", target: "local", repository: "r/shop-job", status: "not-built", reason: "offline: the base image is not fetched" },
      ],
    } as unknown as PlanResult;
    const text = formatPlanResult(r);
    expect(text).toContain(`build web: → r/shop-web@sha256:${"c".repeat(64)} (new digest: a deploy pushes it and rolls web)`);
    expect(text).toContain("build api: → r/shop-api@sha256:" + "d".repeat(64) + " (unchanged: already in the registry, nothing to upload)");
    expect(text).toContain("build job: r/shop-job: will be built at deploy (offline: the base image is not fetched)");
  });
});
