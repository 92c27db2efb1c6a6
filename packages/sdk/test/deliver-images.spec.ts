import { createHash } from "node:crypto";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy, plan, type Backend, type BackendContext, type ImageSource, type SdxEvent } from "@sdx/sdk";
import { backendModule, createSdxContainer } from "@sdx/sdk/di";
import { startFakeOciRegistry, type FakeOci } from "../src/image/__fixtures__/fake-oci-registry.js";
import { createMemoryBackend, type MemoryTarget } from "./memory-backend.js";
import { copyFixture, seedFakeBase, tempDir } from "./fixtures/build/build-fixtures.js";

// The seam for backends that get images onto their targets themselves
// (Backend.deliversImages, ctx.images): a memory backend that "delivers" by
// reading every layer of every service's image from ctx.images, against a
// fake registry that serves only the base image.

let reg: FakeOci;
let cacheDir: string;

beforeAll(async () => {
  reg = await startFakeOciRegistry();
  cacheDir = tempDir("sdx-deliver-cache-");
});
afterAll(async () => {
  await reg?.close();
});

const sha256 = (b: Uint8Array): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** An image read whole from a store, as a backend sending it would: each blob checked against its digest. */
interface Delivered { readonly ref: string; readonly source: ImageSource; readonly layers: readonly { digest: string; actual: string; size: number }[] }

/** The memory backend, delivering images itself when `delivers` says so; records what ctx.images served. */
function deliveringBackend(delivers: boolean) {
  const inner = createMemoryBackend();
  const seen: { plan?: boolean; apply?: boolean; delivered: Delivered[] } = { delivered: [] };
  const backend: Backend<MemoryTarget> & { store: typeof inner.store } = {
    ...inner,
    deliversImages: () => delivers,
    async plan(ctx, desired, opts) {
      seen.plan = ctx.images !== undefined;
      return inner.plan(ctx, desired, opts);
    },
    async apply(ctx: BackendContext<MemoryTarget>, p, opts) {
      seen.apply = ctx.images !== undefined;
      if (ctx.images) {
        for (const s of ctx.app.services) {
          const source = await ctx.images.open(s.image.ref, { os: "linux", architecture: "amd64" });
          const layers = [];
          for (const l of source.layers) {
            const parts: Uint8Array[] = [];
            for await (const c of l.open()) parts.push(c);
            const bytes = Buffer.concat(parts);
            layers.push({ digest: l.digest, actual: sha256(bytes), size: bytes.length });
          }
          seen.delivered.push({ ref: s.image.ref, source, layers });
        }
      }
      return inner.apply(ctx, p, opts);
    },
  };
  return { backend, seen, container: createSdxContainer({ builtins: false, modules: [backendModule(backend)] }) };
}

/** A one-service app built from the hello fixture, with no registry anywhere in it. */
async function appWithoutRegistry(tag: string, extra: readonly string[] = []): Promise<string> {
  const base = await seedFakeBase(reg, "library/node", tag);
  const dir = tempDir("sdx-deliver-");
  cpSync(copyFixture("hello"), join(dir, "web"), { recursive: true });
  const file = join(dir, "sdx.yaml");
  writeFileSync(file, [
    "name: demo",
    "services:",
    `  web: { build: { context: web, entry: server.js, base: "${base.ref}" } }`,
    ...extra,
    "targets:",
    "  mem: { kind: memory, bucket: b }",
    "",
  ].join("\n"));
  return file;
}

const registryWrites = (from: number) => reg.requests.slice(from).filter((r) => r.method !== "GET" && r.method !== "HEAD");

describe("a backend that delivers images itself (Backend.deliversImages)", () => {
  it("deploy builds without a registry, pushes nothing, checks no built image, and the backend reads the built image from ctx.images", async () => {
    const { backend, seen, container } = deliveringBackend(true);
    const file = await appWithoutRegistry("24-deliver");
    const mark = reg.requests.length;
    const events: SdxEvent[] = [];
    const r = await deploy(file, { container, build: { cacheDir }, verifyImages: true, onEvent: (e) => events.push(e) });
    expect(r.status).toBe("succeeded");
    const web = r.builds[0]!;
    // The placeholder repository: never contacted, only a name on the hosts.
    expect(web.repository).toBe("sdx.local/demo-web");
    expect(web.image).toBe(`sdx.local/demo-web@${web.digest}`);
    expect(web.push).toBeUndefined();
    expect(backend.store.get("workload/demo-web")!.spec.image).toBe(web.image);
    // Nothing written to any registry, and the built image was not looked up (no "could not check" warning for it).
    expect(registryWrites(mark)).toEqual([]);
    expect(events.filter((e) => e.kind === "log" && e.message.includes("sdx.local"))).toEqual([]);

    expect(seen).toMatchObject({ plan: true, apply: true });
    const d = seen.delivered[0]!;
    expect(d.ref).toBe(web.image);
    expect(d.source.manifestDigest).toBe(web.digest);
    expect(sha256(d.source.config.bytes)).toBe(d.source.config.digest);
    expect(JSON.parse(Buffer.from(d.source.config.bytes).toString())).toMatchObject({ architecture: "amd64", os: "linux" });
    expect(d.layers.map((l) => l.digest)).toEqual(web.layers.map((l) => l.digest));
    // Every blob is the one its descriptor names, the base layer too (fetched from the base's registry by this machine).
    for (const l of d.layers) expect(l.actual).toBe(l.digest);
    const baseLayer = web.layers.find((l) => l.role === "base")!.digest;
    expect(reg.requests.slice(mark).some((q) => q.method === "GET" && q.path.endsWith(`/blobs/${baseLayer}`))).toBe(true);
  });

  it("ctx.images also serves a service that runs a registry image, pulled through this machine; plan shows the built digest as delivered", async () => {
    const { seen, container } = deliveringBackend(true);
    const other = await seedFakeBase(reg, "library/pg", "16");
    const file = await appWithoutRegistry("24-mixed", [`  db: { image: "${reg.host}/library/pg@${other.digest}" }`]);
    const p = await plan(file, { container, buildOptions: { cacheDir } });
    expect(p.builds).toEqual([expect.objectContaining({ service: "web", repository: "sdx.local/demo-web", status: "built", reason: expect.stringContaining("delivers") })]);
    const r = await deploy(file, { container, build: { cacheDir } });
    expect(r.status).toBe("succeeded");
    const db = seen.delivered.find((x) => x.ref.includes("library/pg"))!;
    expect(db.source.manifestDigest).toBe(other.digest);
    for (const l of db.layers) expect(l.actual).toBe(l.digest);
    expect(seen.delivered.map((x) => x.ref).sort()).toEqual([r.builds[0]!.image, `${reg.host}/library/pg@${other.digest}`].sort());
  });

  it("a backend that does not deliver images for the target gets no ctx.images, and a build without a registry is refused as before", async () => {
    const { seen, container } = deliveringBackend(false);
    const file = await appWithoutRegistry("24-plain");
    await expect(deploy(file, { container, build: { cacheDir } })).rejects.toMatchObject({ code: "SDX_BUILD_NO_REGISTRY", fault: "user", path: "services.web.build.repository" });
    const plain = await appWithoutRegistry("24-plain2");
    writeFileSync(plain, readFileSync(plain, "utf8").replace("services:", `build: { registry: "${reg.host}/team" }\nservices:`));
    const r = await deploy(plain, { container, build: { cacheDir } });
    expect(r.status).toBe("succeeded");
    expect(r.builds[0]!.push?.uploaded).toBeGreaterThan(0);
    expect(seen).toMatchObject({ plan: false, apply: false, delivered: [] });
  });
});
