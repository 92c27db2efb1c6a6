import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isSdxError } from "../errors/sdx-error.js";
import type { ImageRef } from "../model/app.js";
import { parseImageRef } from "../model/image-ref.js";
import { seedTag } from "./__fixtures__/fake-oci-registry.js";
import { closedPort, useFakeRegistries } from "./__fixtures__/use-fake-registries.js";
import {
  MANIFEST_MEDIA_TYPES,
  parseAuthChallenges,
  registryOf,
  resolveImageDigest,
  resolveImageDigests,
  type ResolvedDigest,
} from "./resolve-image-digest.js";

const image = (ref: string): ImageRef => {
  const parsed = parseImageRef(ref);
  if (parsed === undefined) throw new Error(`not an image reference: ${ref}`);
  return parsed;
};

const DIGEST = `sha256:${"a".repeat(64)}`;

const { fake } = useFakeRegistries();

/** A fetch that records URLs and answers from `answer`, for hosts that must not be contacted. */
const scripted = (answer: (url: string, init: RequestInit | undefined) => Response) => {
  const calls: { url: string; method: string; headers: Headers }[] = [];
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    calls.push({ url, method: init?.method ?? "GET", headers: new Headers(init?.headers) });
    return answer(url, init);
  }) as typeof fetch;
  return { fetch: f, calls };
};

describe("registryOf", () => {
  it.each([
    ["nginx", "registry-1.docker.io", "library/nginx", "https"],
    ["nginx:1.27", "registry-1.docker.io", "library/nginx", "https"],
    ["library/nginx", "registry-1.docker.io", "library/nginx", "https"],
    ["bitnami/redis", "registry-1.docker.io", "bitnami/redis", "https"],
    ["docker.io/nginx", "registry-1.docker.io", "library/nginx", "https"],
    ["index.docker.io/bitnami/redis:7", "registry-1.docker.io", "bitnami/redis", "https"],
    ["ghcr.io/a/b:1", "ghcr.io", "a/b", "https"],
    ["registry.example.com:8443/team/app/api:2", "registry.example.com:8443", "team/app/api", "https"],
    ["localhost:5000/x:y", "localhost:5000", "x", "http"],
    ["localhost/x", "localhost", "x", "http"],
    ["127.0.0.1:5000/x", "127.0.0.1:5000", "x", "http"],
  ] as const)("%s → %s/%s over %s", (ref, registry, repository, scheme) => {
    expect(registryOf(image(ref))).toEqual({ registry, repository, scheme });
  });

  it("uses http only for the hosts declared insecure when the list is given", () => {
    const insecureHosts = ["registry.lan:5000", "build.lan"];
    expect(registryOf(image("registry.lan:5000/x"), { insecureHosts }).scheme).toBe("http");
    expect(registryOf(image("registry.lan:5001/x"), { insecureHosts }).scheme).toBe("https");
    expect(registryOf(image("build.lan:1234/x"), { insecureHosts }).scheme).toBe("http");
    expect(registryOf(image("localhost:5000/x"), { insecureHosts }).scheme).toBe("https");
  });
});

describe("parseAuthChallenges", () => {
  it("reads a Bearer challenge with a comma inside a quoted value", () => {
    const header = 'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"';
    expect(parseAuthChallenges(header)).toEqual([
      {
        scheme: "bearer",
        params: { realm: "https://auth.example.com/token", service: "registry.example.com", scope: "repository:a/b:pull,push" },
      },
    ]);
  });

  it("reads several challenges, unquoted values, escapes, spaces and any case", () => {
    const header = 'Basic realm="say \\"hi\\", please" , BEARER Realm=https://x/t ,  Service = "s",error="invalid_token", Negotiate abc123==';
    expect(parseAuthChallenges(header)).toEqual([
      { scheme: "basic", params: { realm: 'say "hi", please' } },
      { scheme: "bearer", params: { realm: "https://x/t", service: "s", error: "invalid_token" } },
      { scheme: "negotiate", params: {}, token68: "abc123==" },
    ]);
  });

  it("returns nothing for an empty header", () => {
    expect(parseAuthChallenges("")).toEqual([]);
  });
});

describe("resolveImageDigest", () => {
  it("returns a pinned reference as is, without any request", async () => {
    const s = scripted(() => {
      throw new Error("must not be called");
    });
    const r = await resolveImageDigest(image(`ghcr.io/acme/web:1.0@${DIGEST}`), { fetch: s.fetch });
    expect(r).toEqual({ kind: "pinned", digest: DIGEST });
    expect(s.calls).toEqual([]);
  });

  it("asks Docker Hub over https for library/<name>:latest with every manifest media type", async () => {
    const s = scripted(() => new Response(null, { status: 200, headers: { "docker-content-digest": DIGEST } }));
    const r = await resolveImageDigest(image("nginx"), { fetch: s.fetch });
    expect(r).toEqual({ kind: "resolved", digest: DIGEST, registry: "registry-1.docker.io", repository: "library/nginx", tag: "latest" });
    expect(s.calls.map((c) => [c.method, c.url])).toEqual([["HEAD", "https://registry-1.docker.io/v2/library/nginx/manifests/latest"]]);
    const accept = s.calls[0]!.headers.get("accept")!.split(",").map((t) => t.trim());
    expect(accept).toEqual([...MANIFEST_MEDIA_TYPES]);
    expect(accept).toEqual(
      expect.arrayContaining([
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
      ]),
    );
  });

  it("resolves a tag on an open registry with one HEAD", async () => {
    const reg = await fake();
    const digest = seedTag(reg, "acme/web:1.0");
    const r = await resolveImageDigest(image(`${reg.host}/acme/web:1.0`));
    expect(r).toEqual({ kind: "resolved", digest, registry: reg.host, repository: "acme/web", tag: "1.0" });
    expect(reg.requests.map((q) => [q.method, q.path, q.status])).toEqual([["HEAD", "/v2/acme/web/manifests/1.0", 200]]);
  });

  it("follows the anonymous Bearer token flow: HEAD → 401 → token → HEAD with Bearer", async () => {
    const reg = await fake({ auth: { kind: "bearer", anonymousPull: true } });
    const digest = seedTag(reg, "acme/web:1.0");
    const r = await resolveImageDigest(image(`${reg.host}/acme/web:1.0`));
    expect(r).toMatchObject({ kind: "resolved", digest });
    expect(reg.requests.map((q) => [q.method, q.path, q.auth, q.status])).toEqual([
      ["HEAD", "/v2/acme/web/manifests/1.0", "none", 401],
      ["GET", "/token", "none", 200],
      ["HEAD", "/v2/acme/web/manifests/1.0", "bearer", 200],
    ]);
    expect(reg.requests[1]!.query).toEqual({ service: "fake-oci", scope: "repository:acme/web:pull" });
  });

  it("reads the token from access_token too", async () => {
    const reg = await fake({ auth: { kind: "bearer", anonymousPull: true, tokenField: "access_token" } });
    seedTag(reg, "acme/web:1.0");
    expect(await resolveImageDigest(image(`${reg.host}/acme/web:1.0`))).toMatchObject({ kind: "resolved" });
  });

  it("sends credentials to the token service and reports a private repository as unauthorized without them", async () => {
    const secret = { username: "ci", password: "s3cret-value" };
    const reg = await fake({ auth: { kind: "bearer", ...secret } });
    const digest = seedTag(reg, "acme/private:1");
    const ref = image(`${reg.host}/acme/private:1`);

    const withCreds = await resolveImageDigest(ref, { credentials: (host) => (host === reg.host ? secret : undefined) });
    expect(withCreds).toMatchObject({ kind: "resolved", digest });
    expect(reg.requests.find((q) => q.path === "/token")!.auth).toBe("basic");

    const anonymous = await resolveImageDigest(ref);
    expect(anonymous).toMatchObject({ kind: "unresolved", code: "unauthorized" });

    const wrong = await resolveImageDigest(ref, { credentials: () => ({ username: "ci", password: "wrong-pass" }) });
    expect(wrong).toMatchObject({ kind: "unresolved", code: "unauthorized" });
    expect(JSON.stringify([anonymous, wrong])).not.toMatch(/s3cret|wrong-pass|fake-oci-token/);
  });

  it("falls back to GET and hashes the body when the digest header is missing", async () => {
    const reg = await fake({ fault: () => ({ kind: "omit-digest-header" }) });
    const digest = seedTag(reg, "acme/web:1.0");
    const r = await resolveImageDigest(image(`${reg.host}/acme/web:1.0`));
    const expected = `sha256:${createHash("sha256").update(reg.manifest("acme/web", "1.0")!.bytes).digest("hex")}`;
    expect(r).toMatchObject({ kind: "resolved", digest: expected });
    expect(expected).toBe(digest);
    expect(reg.requests.map((q) => q.method)).toEqual(["HEAD", "GET"]);
  });

  it("falls back to GET when the registry does not allow HEAD", async () => {
    const s = scripted((_url, init) =>
      init?.method === "HEAD" ? new Response(null, { status: 405 }) : new Response("{}", { status: 200, headers: { "docker-content-digest": DIGEST } }),
    );
    expect(await resolveImageDigest(image("ghcr.io/a/b:1"), { fetch: s.fetch })).toMatchObject({ kind: "resolved", digest: DIGEST });
    expect(s.calls.map((c) => c.method)).toEqual(["HEAD", "GET"]);
  });

  it("reports an unknown repository or tag as not-found", async () => {
    const reg = await fake();
    seedTag(reg, "acme/web:1.0");
    expect(await resolveImageDigest(image(`${reg.host}/acme/nope:1.0`))).toMatchObject({ kind: "unresolved", code: "not-found" });
    expect(await resolveImageDigest(image(`${reg.host}/acme/web:2.0`))).toMatchObject({ kind: "unresolved", code: "not-found" });
    // The bodies a GET would see are the registry's JSON errors.
    const repo = await fetch(`${reg.url}/v2/acme/nope/manifests/1.0`);
    expect(repo.status).toBe(404);
    expect(await repo.json()).toMatchObject({ errors: [{ code: "NAME_UNKNOWN" }] });
    const tag = await fetch(`${reg.url}/v2/acme/web/manifests/2.0`);
    expect(tag.status).toBe(404);
    expect(await tag.json()).toMatchObject({ errors: [{ code: "MANIFEST_UNKNOWN" }] });
  });

  it.each([
    [429, "error"],
    [500, "error"],
    [403, "unauthorized"],
  ] as const)("maps HTTP %i to %s", async (status, code) => {
    const s = scripted(() => new Response(null, { status }));
    expect(await resolveImageDigest(image("ghcr.io/a/b:1"), { fetch: s.fetch })).toMatchObject({ kind: "unresolved", code });
  });

  it("reports a refused port as unreachable at once", async () => {
    const port = await closedPort();
    const started = Date.now();
    const r = await resolveImageDigest(image(`127.0.0.1:${port}/acme/web:1.0`));
    expect(r).toMatchObject({ kind: "unresolved", code: "unreachable" });
    expect((r as Extract<ResolvedDigest, { kind: "unresolved" }>).reason).toContain("ECONNREFUSED");
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("gives up on a slow registry after timeoutMs", async () => {
    const reg = await fake({ fault: () => ({ kind: "delay", ms: 10_000 }) });
    seedTag(reg, "acme/web:1.0");
    const started = Date.now();
    const r = await resolveImageDigest(image(`${reg.host}/acme/web:1.0`), { timeoutMs: 200 });
    const elapsed = Date.now() - started;
    expect(r).toMatchObject({ kind: "unresolved", code: "unreachable" });
    expect((r as Extract<ResolvedDigest, { kind: "unresolved" }>).reason).toContain("200 ms");
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(2000);
  });

  it("rejects with SDX_ABORTED when the caller aborts", async () => {
    const reg = await fake({ fault: () => ({ kind: "delay", ms: 10_000 }) });
    seedTag(reg, "acme/web:1.0");
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const err = await resolveImageDigest(image(`${reg.host}/acme/web:1.0`), { signal: controller.signal }).catch((e: unknown) => e);
    expect(isSdxError(err) && err.code).toBe("SDX_ABORTED");
  });

  it("reports a garbled token service answer as an error, not a throw", async () => {
    const s = scripted((url) =>
      url.startsWith("https://auth.example.com")
        ? new Response("not json", { status: 200 })
        : new Response(null, { status: 401, headers: { "www-authenticate": 'Bearer realm="https://auth.example.com/token",service="x"' } }),
    );
    expect(await resolveImageDigest(image("ghcr.io/a/b:1"), { fetch: s.fetch })).toMatchObject({ kind: "unresolved", code: "error" });
  });

  it("does not send credentials to a plain-http token service of a secure registry", async () => {
    const s = scripted((url) =>
      url.startsWith("http://auth.example.com")
        ? new Response(JSON.stringify({ token: "t" }), { status: 200 })
        : new Response(null, { status: 401, headers: { "www-authenticate": 'Bearer realm="http://auth.example.com/token"' } }),
    );
    await resolveImageDigest(image("ghcr.io/a/b:1"), { fetch: s.fetch, credentials: () => ({ username: "u", password: "p" }) });
    const tokenCall = s.calls.find((c) => c.url.startsWith("http://auth.example.com"))!;
    expect(tokenCall.headers.get("authorization")).toBeNull();
  });
});

describe("resolveImageDigests", () => {
  it("asks once per distinct reference and answers in input order", async () => {
    const reg = await fake();
    const [web1, webLatest, api2] = ["acme/web:1.0", "acme/web:latest", "acme/api:2"].map((t) => seedTag(reg, t));
    const refs = [
      `${reg.host}/acme/web:1.0`,
      `${reg.host}/acme/api:2`,
      `${reg.host}/acme/web:1.0`,
      `${reg.host}/acme/web`,
      `${reg.host}/acme/web:latest`,
      `${reg.host}/acme/web:1.0@${DIGEST}`,
    ].map(image);
    const results = await resolveImageDigests(refs);
    expect(results.map((r) => (r.kind === "unresolved" ? r.code : r.digest))).toEqual([
      web1,
      api2,
      web1,
      webLatest,
      webLatest,
      DIGEST,
    ]);
    expect(reg.requests.map((q) => q.path).sort()).toEqual([
      "/v2/acme/api/manifests/2",
      "/v2/acme/web/manifests/1.0",
      "/v2/acme/web/manifests/latest",
    ]);
  });

  it("treats Docker Hub spellings of one image as one", async () => {
    const s = scripted(() => new Response(null, { status: 200, headers: { "docker-content-digest": DIGEST } }));
    const results = await resolveImageDigests(["nginx", "nginx:latest", "docker.io/library/nginx:latest", "library/nginx"].map(image), { fetch: s.fetch });
    expect(results).toHaveLength(4);
    expect(s.calls).toHaveLength(1);
  });

  it("runs at most four look-ups at once", async () => {
    const tags = Array.from({ length: 10 }, (_, i) => `acme/app${i}:1`);
    const reg = await fake({ fault: () => ({ kind: "delay", ms: 30 }) });
    for (const t of tags) seedTag(reg, t);
    let inFlight = 0;
    let peak = 0;
    const counting = (async (input: string | URL | Request, init?: RequestInit) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      try {
        return await fetch(input, init);
      } finally {
        inFlight--;
      }
    }) as typeof fetch;
    const results = await resolveImageDigests(tags.map((t) => image(`${reg.host}/${t}`)), { fetch: counting });
    expect(results.every((r) => r.kind === "resolved")).toBe(true);
    expect(peak).toBe(4);
  });
});
