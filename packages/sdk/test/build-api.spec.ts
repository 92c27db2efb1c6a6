import { appendFileSync, cpSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build, plan, type SdxError, type SdxEvent } from "@sdx/sdk";
import { startFakeOciRegistry, type FakeOci } from "../src/image/__fixtures__/fake-oci-registry.js";
import { closedPort } from "../src/image/__fixtures__/use-fake-registries.js";
import { createImageIndex } from "../src/build/oci-image.js";
import { runCli } from "../src/cli/run-cli.js";
import { copyFixture, seedFakeBase, tempDir } from "./fixtures/build/build-fixtures.js";

// build() and the build step of plan/deploy against an OCI registry on 127.0.0.1
// (a small in-process one that records every request; the real registry is
// exercised by the integration suites). The base carries NODE_VERSION, so no
// Node runtime is fetched.

let reg: FakeOci;
let cacheDir: string;
const MANIFEST = "application/vnd.oci.image.manifest.v1+json";

const seedBase = (repository: string, tag: string, architecture = "amd64") => seedFakeBase(reg, repository, tag, architecture);

/** A temp app: the hello fixture as its one built service (context `web`), pushing to the fake registry. */
function app(base: string, extra = ""): { dir: string; file: string } {
  const dir = tempDir("sdx-build-api-");
  cpSync(copyFixture("hello"), join(dir, "web"), { recursive: true });
  const file = join(dir, "sdx.yaml");
  writeFileSync(file, [
    "name: demo",
    `build: { registry: "${reg.host}/team" }`,
    "services:",
    "  web:",
    `    build: { context: web, entry: server.js, base: "${base}"${extra} }`,
    "    ports: [8080]",
    "targets:",
    "  local: { kind: swarm }",
    "",
  ].join("\n"));
  return { dir, file };
}
const edit = (file: string, from: string | RegExp, to: string): void => writeFileSync(file, readFileSync(file, "utf8").replace(from, to));

const writes = (from: number) => reg.requests.slice(from).filter((r) => r.method === "POST" || r.method === "PUT" || r.method === "PATCH");

beforeAll(async () => {
  reg = await startFakeOciRegistry();
  cacheDir = tempDir("sdx-build-api-cache-");
});
afterAll(async () => {
  await reg?.close();
});

describe("build(): source → digest-pinned image on a registry", () => {
  it("pushes the built image and names it; a rebuild of the same source uploads nothing; a one-line change pushes only the app layer", async () => {
    const base = await seedBase("library/node", "24");
    const { file, dir } = app(base.ref);
    const events: SdxEvent[] = [];
    const first = await build(file, { cacheDir, onEvent: (e) => events.push(e) });
    const web = first.services[0]!;
    expect(web.repository).toBe(`${reg.host}/team/demo-web`);
    expect(web.image).toBe(`${web.repository}@${web.digest}`);
    expect(web.platform).toBe("linux/amd64");
    expect(web.existed).toBe(false);
    // base layer (mounted or already there: another repository), app layer, config
    expect(web.layers.map((l) => l.role)).toEqual(["base", "app"]);
    expect(web.push!.uploaded).toBe(2);
    expect(reg.manifest("team/demo-web", web.digest)).toBeDefined();
    expect(events.map((e) => e.kind)).toContain("build-finished");

    const mark = reg.requests.length;
    const again = await build(file, { cacheDir });
    expect(again.services[0]!.digest).toBe(web.digest);
    expect(again.services[0]!.existed).toBe(true);
    expect(again.services[0]!.push).toMatchObject({ uploaded: 0, bytesUploaded: 0 });
    expect(writes(mark)).toEqual([]);
    // The tag (sdx-<source revision>) names it; lost (a run cut before the tag was put), the next run puts it back.
    const tag = [...reg.requests].reverse().find((r) => r.method === "PUT" && /\/manifests\/sdx-[0-9a-f]{12}$/.test(r.path))!.path.split("/").pop()!;
    expect(reg.manifest("team/demo-web", tag)?.digest).toBe(web.digest);
    reg.untag("team/demo-web", tag);
    expect(reg.manifest("team/demo-web", tag)).toBeUndefined();
    const retag = await build(file, { cacheDir });
    expect(retag.services[0]!.existed).toBe(true);
    expect(reg.manifest("team/demo-web", tag)?.digest).toBe(web.digest);

    appendFileSync(join(dir, "web", "server.js"), "// one more line\n");
    const mark2 = reg.requests.length;
    const changed = await build(file, { cacheDir });
    const c = changed.services[0]!;
    expect(c.digest).not.toBe(web.digest);
    expect(c.layers[0]!.digest).toBe(web.layers[0]!.digest);
    expect(c.push!.uploaded).toBe(2); // the new app layer and the new config; the base is not sent again
    const uploadedBlobs = writes(mark2).filter((r) => r.method === "PUT" && r.path.includes("/blobs/uploads/"));
    expect(uploadedBlobs).toHaveLength(2);
  });

  it("layers this machine pushed to another repository of the registry are mounted there, not uploaded again", async () => {
    const base = await seedBase("library/node", "24m");
    const cache = tempDir("sdx-build-api-mount-");
    const { file: a } = app(base.ref);
    const first = await build(a, { cacheDir: cache });
    expect(first.services[0]!.push!.uploaded).toBeGreaterThan(0);
    const { file: b } = app(base.ref);
    edit(b, "name: demo", "name: demo2");
    const mark = reg.requests.length;
    const second = await build(b, { cacheDir: cache });
    expect(second.services[0]!.repository).toBe(`${reg.host}/team/demo2-web`);
    expect(second.services[0]!.digest).toBe(first.services[0]!.digest);
    expect(second.services[0]!.push).toMatchObject({ uploaded: 0, bytesUploaded: 0, mounted: 3 });
    expect(writes(mark).filter((r) => r.method === "PATCH" || (r.method === "PUT" && r.path.includes("/blobs/")))).toEqual([]);
  });

  it("the CLI prints `service → repository@digest`; --no-push only builds", async () => {
    const base = await seedBase("library/node", "24b");
    const { file } = app(base.ref);
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s), env: { ...process.env, XDG_CACHE_HOME: cacheDir }, interactive: false, confirm: async () => false };
    const mark = reg.requests.length;
    expect(await runCli(["build", file, "--no-push"], io)).toBe(0);
    expect(out.join("")).toMatch(new RegExp(`^web → ${reg.host.replace(/\./g, "\\.")}/team/demo-web@sha256:[0-9a-f]{64}\\n  linux/amd64, 2 layers; built, not pushed\\n$`));
    expect(writes(mark)).toEqual([]);
    const printed = out.join("");
    out.length = 0;
    expect(await runCli(["build", file, "--json"], io)).toBe(0);
    const json = JSON.parse(out.join("")) as { services: { service: string; image: string; push: { uploaded: number } }[] };
    // What --no-push printed is exactly what was then pushed (same source, same digest); the manifest is there now.
    expect(`web → ${json.services[0]!.image}\n  linux/amd64, 2 layers; built, not pushed\n`).toBe(printed);
    expect(reg.manifest("team/demo-web", json.services[0]!.image.split("@")[1]!)).toBeDefined();
    out.length = 0;
    expect(await runCli(["build", file, "-s", "nope"], io)).toBe(2);
    expect(err.join("")).toContain('no service "nope"');
    // Exit codes: input the user must fix → 2; a registry that fails → 1.
    err.length = 0;
    edit(file, "entry: server.js", "entry: missing.js");
    expect(await runCli(["build", file], io)).toBe(2);
    expect(err.join("")).toMatch(/SDX_BUILD_NO_ENTRY/);
    edit(file, "entry: missing.js", "entry: server.js");
    edit(file, base.ref, `127.0.0.1:${await closedPort()}/library/node:24`);
    err.length = 0;
    expect(await runCli(["build", file], io)).toBe(1);
    expect(err.join("")).toMatch(/SDX_REGISTRY_UNREACHABLE/);
  });

  it("placement.arch picks the base's platform from an index; a base without it is refused with the platforms it has", async () => {
    const amd = await seedBase("multi/node", "amd", "amd64");
    const arm = await seedBase("multi/node", "arm", "arm64");
    const size = (tag: string) => reg.manifest("multi/node", tag)!.bytes.length;
    const index = createImageIndex([
      { mediaType: MANIFEST, digest: amd.digest, size: size("amd"), platform: { os: "linux", architecture: "amd64" } },
      { mediaType: MANIFEST, digest: arm.digest, size: size("arm"), platform: { os: "linux", architecture: "arm64" } },
    ]);
    reg.seedManifest("multi/node", index.descriptor.mediaType, index.bytes, ["24"]);
    const { file } = app(`${reg.host}/multi/node:24`);
    edit(file, "    ports: [8080]", "    ports: [8080]\n    placement: { arch: arm64 }");
    const r = await build(file, { cacheDir, push: false });
    expect(r.services[0]!.platform).toBe("linux/arm64");

    const { file: amdOnly } = app(amd.ref);
    edit(amdOnly, "    ports: [8080]", "    ports: [8080]\n    placement: { arch: arm64 }");
    await expect(build(amdOnly, { cacheDir, push: false })).rejects.toMatchObject({ code: "SDX_BASE_PLATFORM", fault: "user", path: "services.web.build.base" });
  });

  it("bad input: a missing base, no entry, a symlink leaving the context, no registry — each a clear error, nothing pushed", async () => {
    const mark = reg.requests.length;
    const { file: missing } = app(`${reg.host}/library/node:nope`);
    await expect(build(missing, { cacheDir })).rejects.toMatchObject({ code: "SDX_IMAGE_NOT_FOUND", fault: "user", path: "services.web.build.base" });

    const base = await seedBase("library/node", "24c");
    const { file: noEntry } = app(base.ref);
    edit(noEntry, "entry: server.js", "entry: main.js");
    await expect(build(noEntry, { cacheDir })).rejects.toMatchObject({ code: "SDX_BUILD_NO_ENTRY", fault: "user", path: "services.web.build.entry" });

    const { file: linked, dir } = app(base.ref);
    symlinkSync("/etc/passwd", join(dir, "web", "passwd"));
    await expect(build(linked, { cacheDir })).rejects.toMatchObject({ code: "SDX_BUILD_SYMLINK_OUTSIDE", fault: "user" });

    const { file: nowhere } = app(base.ref);
    edit(nowhere, /^build: .*\n/m, "");
    await expect(build(nowhere, { cacheDir })).rejects.toMatchObject({ code: "SDX_BUILD_NO_REGISTRY", path: "services.web.build.repository" });
    expect(writes(mark).filter((r) => !r.path.includes("/library/node/"))).toEqual([]);
  });

  it("a registry answering 500 is retried, then reported as the registry's fault", async () => {
    const failing = await startFakeOciRegistry({ fault: (r) => (r.path.includes("/manifests/") ? { kind: "status", status: 500 } as const : undefined) });
    try {
      const { file } = app(`${failing.host}/library/node:24`);
      await expect(build(file, { cacheDir })).rejects.toMatchObject({ code: "SDX_REGISTRY_ERROR", fault: "backend" });
      expect(failing.requests.filter((r) => r.path.includes("/manifests/")).length).toBeGreaterThan(1);
    } finally {
      await failing.close();
    }
  });
});

describe("plan: which services are built, and whether their digest is new", () => {
  it("shows the digest a deploy would push, new then unchanged; offline it says the build waits for the deploy", async () => {
    const base = await seedBase("library/node", "24d");
    const { file } = app(base.ref);
    const before = await plan(file, { target: "local", build: true, buildOptions: { cacheDir } });
    expect(before.builds).toEqual([expect.objectContaining({ service: "web", target: "local", status: "new", image: expect.stringMatching(/@sha256:[0-9a-f]{64}$/) })]);
    // The plan renders the built digest, not the placeholder.
    const desired = JSON.stringify(before.plans[0]!.plan.actions.map((a) => a.desired));
    expect(desired).toContain(before.builds[0]!.image!);
    await build(file, { cacheDir });
    const after = await plan(file, { target: "local", buildOptions: { cacheDir } });
    expect(after.builds[0]).toMatchObject({ status: "unchanged", image: before.builds[0]!.image });
    expect(after.revision.app).toBe(before.revision.app);
    const offline = await plan(file, { target: "local", offline: true });
    expect(offline.builds[0]).toMatchObject({ status: "not-built", repository: `${reg.host}/team/demo-web`, reason: "offline: the base image is not fetched" });
  });
});

describe("deploy checks that pinned digests exist before changing anything", () => {
  it("refuses with SDX_IMAGE_NOT_FOUND naming every missing image; an unreachable registry only warns", async () => {
    const { verifyImages } = await import("../src/api/verify-images.js");
    const base = await seedBase("library/node", "24e");
    const present = `${reg.host}/library/node@${base.digest}`;
    const absent = `${reg.host}/team/ghost@sha256:${"0".repeat(64)}`;
    const svc = (name: string, image: string) => ({ name, image: { ref: image, repository: image.split("@")[0]!, digest: image.split("@")[1]! }, env: {} });
    const app = (services: unknown[]) => ({ name: "demo", services, targets: [], labels: {} }) as never;
    await expect(verifyImages(app([svc("ok", present)]))).resolves.toBeUndefined();
    await expect(verifyImages(app([svc("ok", present), svc("ghost", absent)]))).rejects.toMatchObject({
      code: "SDX_IMAGE_NOT_FOUND", fault: "user", path: "services.ghost.image", details: { images: [{ service: "ghost", image: absent }] },
    });
    const events: SdxEvent[] = [];
    // Port 9 on loopback: nothing listens, the connection is refused at once.
    await expect(verifyImages(app([svc("far", `127.0.0.1:9/x@sha256:${"1".repeat(64)}`)]), { onEvent: (e) => events.push(e) })).resolves.toBeUndefined();
    expect(events).toEqual([expect.objectContaining({ kind: "log", level: "warning", message: expect.stringContaining("could not check that 127.0.0.1:9/x@sha256:") })]);
  });
});

describe("one set of credentials for bases, pushes and plan's digest resolution", () => {
  it("a private registry: 401 names the credential source tried; SDX_REGISTRY_* credentials build, push, and resolve tags in plan", async () => {
    const priv = await startFakeOciRegistry({ auth: { kind: "bearer", username: "ci", password: "s3cret-pw", anonymousPull: false } });
    try {
      const base = await seedFakeBase(priv, "library/node", "24");
      const { file } = app(base.ref);
      edit(file, `registry: "${reg.host}/team"`, `registry: "${priv.host}/team"`);
      const noCreds = { HOME: tempDir("sdx-home-"), PATH: process.env.PATH };
      const refused = build(file, { cacheDir, env: noCreds });
      await expect(refused).rejects.toMatchObject({ code: "SDX_REGISTRY_AUTH", fault: "user", path: "services.web.build.base" });
      await expect(refused).rejects.toThrow(/anonymous/);
      // Wrong credentials: refused, naming where they came from, never what they are.
      const wrong = await build(file, { cacheDir, env: { ...noCreds, SDX_REGISTRY_HOST: priv.host, SDX_REGISTRY_USER: "ci", SDX_REGISTRY_PASSWORD: "wrong-pw-4711" } }).then(() => undefined, (e: unknown) => e as SdxError);
      if (!wrong) throw new Error("a build with a wrong password succeeded");
      expect(wrong).toMatchObject({ code: "SDX_REGISTRY_AUTH", fault: "user" });
      expect(`${wrong.message} ${wrong.hint} ${JSON.stringify(wrong.toJSON())}`).toMatch(/SDX_REGISTRY_/);
      expect(`${wrong.message} ${wrong.hint} ${JSON.stringify(wrong.toJSON())}`).not.toContain("wrong-pw-4711");
      const creds = { ...noCreds, SDX_REGISTRY_HOST: priv.host, SDX_REGISTRY_USER: "ci", SDX_REGISTRY_PASSWORD: "s3cret-pw" };
      const built = await build(file, { cacheDir, env: creds });
      expect(built.services[0]!.repository).toBe(`${priv.host}/team/demo-web`);
      expect(priv.manifest("team/demo-web", built.services[0]!.digest)).toBeDefined();
      // plan resolves a private tag with the same credentials, never printing them.
      const tagged = app(base.ref);
      edit(tagged.file, /  web:\n    build: .*\n/, `  web:\n    image: ${priv.host}/library/node:24\n`);
      const p = await plan(tagged.file, { target: "local", env: creds, resolveImages: true });
      expect(p.images[0]).toMatchObject({ status: "resolved", digest: base.digest });
      expect(JSON.stringify(p)).not.toContain("s3cret-pw");
    } finally {
      await priv.close();
    }
  });
});

describe("deploy: the revision follows the digest", () => {
  it("an unchanged source redeploys as a no-op with nothing uploaded; a one-line change in one service rolls exactly that service", async () => {
    const { deploy } = await import("@sdx/sdk");
    const { backendModule, createSdxContainer } = await import("@sdx/sdk/di");
    const { createMemoryBackend } = await import("./memory-backend.js");
    const backend = createMemoryBackend();
    const container = createSdxContainer({ builtins: false, modules: [backendModule(backend)] });
    const base = await seedBase("library/node", "24r");
    const dir = tempDir("sdx-build-rollout-");
    for (const s of ["web", "api"]) cpSync(copyFixture("hello"), join(dir, s), { recursive: true });
    const file = join(dir, "sdx.yaml");
    writeFileSync(file, [
      "name: two",
      `build: { registry: "${reg.host}/roll", base: "${base.ref}" }`,
      "services:",
      "  web: { build: { context: web, entry: server.js } }",
      "  api: { build: { context: api, entry: server.js } }",
      "targets:",
      "  mem: { kind: memory, bucket: b }",
      "",
    ].join("\n"));
    const opts = { container, build: { cacheDir } };
    // Declined at the confirmation: nothing applied, and nothing pushed either.
    const declined = await deploy(file, { ...opts, confirm: () => false });
    expect(declined.status).toBe("cancelled");
    for (const b of declined.builds) expect(reg.manifest(b.repository.slice(reg.host.length + 1), b.digest)).toBeUndefined();
    expect(backend.store.size).toBe(0);
    const first = await deploy(file, opts);
    expect(first.status).toBe("succeeded");
    const spec = (name: string) => backend.store.get(`workload/two-${name}`)!.spec as { image: string; env: Record<string, string> };
    expect(spec("web").image).toBe(first.builds.find((b) => b.service === "web")!.image);
    expect(spec("web").env["SDX_IMAGE"]).toBe(spec("web").image);

    const mark = reg.requests.length;
    const again = await deploy(file, opts);
    expect(again.status).toBe("no-changes");
    expect(again.builds.every((b) => b.existed === true)).toBe(true);
    expect(writes(mark)).toEqual([]);

    const webBefore = spec("web").image;
    appendFileSync(join(dir, "api", "server.js"), "// changed\n");
    const changed = await deploy(file, opts);
    expect(changed.status).toBe("succeeded");
    const updates = changed.plan.plan.actions.filter((a) => a.kind !== "no-op").map((a) => `${a.kind} ${a.resource.name}`);
    expect(updates).toEqual(["update two-api"]);
    expect(spec("web").image).toBe(webBefore);
    expect(spec("api").image).toBe(changed.builds.find((b) => b.service === "api")!.image);
  });
});
