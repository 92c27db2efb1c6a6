import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { build, createRegistryClient, pullImage } from "@sdx/sdk";
import { REPO_ROOT, requireTestenv } from "@sdx/sdk/testing";

// build() against the real registry of scripts/testenv/registry.sh and its
// offline base (a two-platform index made from Debian packages): both
// architectures, the same digest from two directories, and the basic-auth
// registry with and without credentials.
const te = requireTestenv("registry");
const cacheDir = mkdtempSync(join(tmpdir(), "sdx-build-integ-cache-"));

/** examples/self-deploy's two shipped files in a fresh directory, as a one-service app file. */
function selfDeployCopy(registry: string, arch: "amd64" | "arm64" = "amd64"): string {
  const dir = mkdtempSync(join(tmpdir(), "sdx-build-integ-"));
  cpSync(join(REPO_ROOT, "examples/self-deploy/server.js"), join(dir, "web", "server.js"), { recursive: true });
  cpSync(join(REPO_ROOT, "examples/self-deploy/package.json"), join(dir, "web", "package.json"));
  const file = join(dir, "sdx.yaml");
  writeFileSync(file, [
    "name: sdi",
    `build: { registry: "${registry}", base: "${te.env!.SDX_REGISTRY_BASE_IMAGE}" }`,
    "services:",
    `  web: { build: { context: web, entry: server.js, dependencies: none }, placement: { arch: ${arch} }, ports: [8080] }`,
    "targets:",
    "  local: { kind: swarm }",
    "",
  ].join("\n"));
  return file;
}

describe.skipIf(!te.env)("build() against the real test registry", () => {
  const registry = `${te.env?.SDX_REGISTRY_ADDR}/build-it-${process.pid}`;

  it("builds amd64 and arm64 from the offline base's index; the same source in another directory has the same digest", async () => {
    const amd = (await build(selfDeployCopy(registry), { cacheDir })).services[0]!;
    const again = (await build(selfDeployCopy(registry), { cacheDir })).services[0]!;
    expect(again.digest).toBe(amd.digest);
    expect(again.existed).toBe(true);
    const arm = (await build(selfDeployCopy(`${registry}/arm`, "arm64"), { cacheDir })).services[0]!;
    expect([amd.platform, arm.platform]).toEqual(["linux/amd64", "linux/arm64"]);
    expect(arm.layers.map((l) => l.role)).toEqual(["base", "runtime", "app"]);
    // Different base layer and Node binary per platform; the app layer is the same bytes.
    expect(arm.layers[0]!.digest).not.toBe(amd.layers[0]!.digest);
    expect(arm.layers[1]!.digest).not.toBe(amd.layers[1]!.digest);
    expect(arm.layers[2]!.digest).toBe(amd.layers[2]!.digest);
    // What the registry holds, pulled back with the same client: the image config says arm64.
    const pulled = await pullImage(createRegistryClient(), arm.image, { platform: { os: "linux", architecture: "arm64" } });
    expect(pulled.config).toMatchObject({ architecture: "arm64", os: "linux" });
    expect(pulled.manifestDigest).toBe(arm.digest);
  });

  it("the basic-auth registry refuses an anonymous push naming what was tried, and takes one with SDX_REGISTRY_* credentials", async () => {
    const authRegistry = `${te.env!.SDX_REGISTRY_AUTH_ADDR}/build-it-${process.pid}`;
    const file = selfDeployCopy(authRegistry);
    const home = mkdtempSync(join(tmpdir(), "sdx-home-"));
    const anonymous = build(file, { cacheDir, env: { HOME: home, PATH: process.env.PATH } });
    await expect(anonymous).rejects.toMatchObject({ code: "SDX_REGISTRY_AUTH", fault: "user" });
    await expect(anonymous).rejects.toThrow(/anonymous/);
    const env = { HOME: home, PATH: process.env.PATH, SDX_REGISTRY_HOST: te.env!.SDX_REGISTRY_AUTH_ADDR!, SDX_REGISTRY_USER: te.env!.SDX_REGISTRY_AUTH_USER!, SDX_REGISTRY_PASSWORD: te.env!.SDX_REGISTRY_AUTH_PASSWORD! };
    const r = (await build(file, { cacheDir, env })).services[0]!;
    expect(r.image.startsWith(`${authRegistry}/sdi-web@sha256:`)).toBe(true);
    // The base came from the anonymous registry and was streamed across; nothing was missing after.
    expect(r.push!.uploaded).toBe(r.layers.length + 1);
    const head = await createRegistryClient({ credentials: async () => ({ username: env.SDX_REGISTRY_USER, password: env.SDX_REGISTRY_PASSWORD, source: "test" }) })
      .headManifest({ registry: te.env!.SDX_REGISTRY_AUTH_ADDR!, repository: `build-it-${process.pid}/sdi-web`, scheme: "http" }, r.digest);
    expect(head?.digest).toBe(r.digest);
  });
});
