import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { digestOf, seedImage, syntheticImage } from "./__fixtures__/fake-oci-registry.js";
import { closedPort, rejection, testRegistryClient as client, useFakeRegistries } from "./__fixtures__/use-fake-registries.js";
import type { RegistryCredential } from "./registry-auth.js";
import { createRegistryClient } from "./registry-client.js";

const { fake, closeAfterTest } = useFakeRegistries();

/** Records the waits instead of waiting. */
const recordingSleep = () => {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
};

const creds = (username: string, password: string, source = "test credentials") => async (): Promise<RegistryCredential> => ({ username, password, source });

describe("manifests", () => {
  it("heads a manifest by tag and digest, and says undefined for one that does not exist", async () => {
    const reg = await fake();
    const img = syntheticImage({ architecture: "amd64", layers: [randomBytes(100)] });
    const digest = seedImage(reg, "acme/app", img, ["1.0"]);
    const c = client();
    const byTag = await c.headManifest(reg.location("acme/app"), "1.0");
    expect(byTag).toEqual({ mediaType: img.manifest.mediaType, digest, size: img.manifest.bytes.byteLength });
    expect(await c.headManifest(reg.location("acme/app"), digest)).toEqual(byTag);
    expect(await c.headManifest(reg.location("acme/app"), "2.0")).toBeUndefined();
    expect(await c.headManifest(reg.location("acme/none"), "1.0")).toBeUndefined();
  });

  it("gets a manifest's exact bytes, and SDX_IMAGE_NOT_FOUND (fault user) for an unknown one", async () => {
    const reg = await fake();
    const img = syntheticImage({ architecture: "amd64", layers: [randomBytes(10)] });
    const digest = seedImage(reg, "acme/app", img, ["1.0"]);
    const got = await client().getManifest(reg.location("acme/app"), "1.0");
    expect(Buffer.from(got.bytes).equals(Buffer.from(img.manifest.bytes))).toBe(true);
    expect(got.descriptor).toEqual({ mediaType: img.manifest.mediaType, digest, size: img.manifest.bytes.byteLength });
    const err = await rejection(client().getManifest(reg.location("acme/app"), "9.9"));
    expect(err.code).toBe("SDX_IMAGE_NOT_FOUND");
    expect(err.fault).toBe("user");
    expect(err.details).toMatchObject({ registry: reg.host, repository: "acme/app", status: 404, registryErrors: ["MANIFEST_UNKNOWN"] });
  });

  it("rejects a manifest whose bytes do not match the digest asked for", async () => {
    const reg = await fake({ fault: (r) => (r.method === "GET" && r.path.includes("/manifests/") ? { kind: "corrupt" } : undefined) });
    const digest = seedImage(reg, "acme/app", syntheticImage({ architecture: "amd64", layers: [] }), ["1.0"]);
    const byDigest = await rejection(client().getManifest(reg.location("acme/app"), digest));
    expect(byDigest.code).toBe("SDX_REGISTRY_ERROR");
    expect(byDigest.details).toMatchObject({ expected: digest });
    // By tag, the registry's Docker-Content-Digest is the yardstick.
    expect((await rejection(client().getManifest(reg.location("acme/app"), "1.0"))).code).toBe("SDX_REGISTRY_ERROR");
  });

  it("puts a manifest under its digest and a tag, and deletes it", async () => {
    const reg = await fake();
    const img = syntheticImage({ architecture: "amd64", layers: [randomBytes(20)] });
    reg.seedBlob("acme/app", img.config.bytes);
    reg.seedBlob("acme/app", img.layers[0]!.bytes);
    const c = client();
    const loc = reg.location("acme/app");
    expect(await c.putManifest(loc, img.manifest.digest, img.manifest)).toBe(img.manifest.digest);
    expect(await c.putManifest(loc, "v1", img.manifest)).toBe(img.manifest.digest);
    expect(reg.manifest("acme/app", "v1")?.digest).toBe(img.manifest.digest);
    const put = reg.requests.find((r) => r.method === "PUT" && r.path.endsWith(`/manifests/${img.manifest.digest}`))!;
    expect(put.contentType).toBe(img.manifest.mediaType);
    await c.deleteManifest(loc, img.manifest.digest);
    expect(await c.headManifest(loc, img.manifest.digest)).toBeUndefined();
    expect(await c.headManifest(loc, "v1")).toBeUndefined();
  });

  it("refuses a stored manifest whose reported digest differs from its bytes", async () => {
    const other = `sha256:${"b".repeat(64)}`;
    const reg = await fake({ fault: (r) => (r.method === "PUT" ? { kind: "digest-header", digest: other } : undefined) });
    const img = syntheticImage({ architecture: "amd64", layers: [] });
    reg.seedBlob("acme/app", img.config.bytes);
    const err = await rejection(client().putManifest(reg.location("acme/app"), "v1", img.manifest));
    expect(err.code).toBe("SDX_REGISTRY_ERROR");
    expect(err.details).toMatchObject({ expected: img.manifest.digest, actual: other });
  });

  it("passes the registry's own error code for a refused manifest (MANIFEST_BLOB_UNKNOWN)", async () => {
    const reg = await fake();
    const img = syntheticImage({ architecture: "amd64", layers: [randomBytes(5)] });
    const err = await rejection(client().putManifest(reg.location("acme/app"), "v1", img.manifest));
    expect(err.code).toBe("SDX_REGISTRY_ERROR");
    expect(err.details).toMatchObject({ status: 400, registryErrors: ["MANIFEST_BLOB_UNKNOWN"] });
  });
});

describe("blobs", () => {
  it("gets and streams a blob, verified; SDX_IMAGE_NOT_FOUND for an unknown digest", async () => {
    const reg = await fake();
    const bytes = randomBytes(70_000);
    const digest = reg.seedBlob("acme/app", bytes);
    const c = client();
    expect(Buffer.from(await c.getBlob(reg.location("acme/app"), digest)).equals(bytes)).toBe(true);
    const parts: Uint8Array[] = [];
    for await (const p of c.openBlob(reg.location("acme/app"), digest)) parts.push(p);
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
    expect(await c.blobExists(reg.location("acme/app"), digest)).toBe(true);
    expect(await c.blobExists(reg.location("acme/other"), digest)).toBe(false);
    const err = await rejection(c.getBlob(reg.location("acme/app"), digestOf(Buffer.from("nope"))));
    expect(err.code).toBe("SDX_IMAGE_NOT_FOUND");
  });

  it("rejects a corrupted blob, whole or streamed (after the last chunk)", async () => {
    const reg = await fake({ fault: (r) => (r.method === "GET" && r.path.includes("/blobs/") ? { kind: "corrupt" } : undefined) });
    const bytes = randomBytes(5000);
    const digest = reg.seedBlob("acme/app", bytes);
    const c = client();
    const whole = await rejection(c.getBlob(reg.location("acme/app"), digest));
    expect(whole.code).toBe("SDX_REGISTRY_ERROR");
    expect(whole.details).toMatchObject({ expected: digest, actual: digestOf(Buffer.concat([Buffer.from([bytes[0]! ^ 0xff]), bytes.subarray(1)])) });
    let received = 0;
    const streamed = await rejection(
      (async () => {
        for await (const p of c.openBlob(reg.location("acme/app"), digest)) received += p.byteLength;
      })(),
    );
    expect(streamed.code).toBe("SDX_REGISTRY_ERROR");
    expect(received).toBe(5000);
  });

  it("uploads a small blob in one PUT to the relative Location, keeping its query; then finds it present", async () => {
    const reg = await fake();
    const bytes = randomBytes(3000);
    const blob = { descriptor: { mediaType: "x", digest: digestOf(bytes), size: bytes.byteLength }, bytes };
    const c = client();
    expect(await c.pushBlob(reg.location("acme/app"), blob)).toBe("uploaded");
    expect(Buffer.from(reg.blob("acme/app", blob.descriptor.digest)!).equals(bytes)).toBe(true);
    const calls = reg.requests.map((r) => `${r.method} ${r.path}`);
    expect(calls[0]).toBe(`HEAD /v2/acme/app/blobs/${blob.descriptor.digest}`);
    expect(calls[1]).toBe("POST /v2/acme/app/blobs/uploads/");
    expect(calls[2]).toMatch(/^PUT \/v2\/acme\/app\/blobs\/uploads\/[0-9a-f-]+$/);
    expect(calls).toHaveLength(3);
    const put = reg.requests[2]!;
    expect(put.query).toMatchObject({ digest: blob.descriptor.digest, _state: expect.stringMatching(/^s/) });
    expect(put.bodyBytes).toBe(3000);
    expect(await c.pushBlob(reg.location("acme/app"), blob)).toBe("present");
    expect(reg.requests).toHaveLength(4);
  });

  it("uploads a blob of chunkSize or more in PATCH chunks with Content-Range, then a PUT with the digest", async () => {
    const reg = await fake({ absoluteLocation: true });
    const bytes = randomBytes(2500);
    // Pieces that do not line up with the chunks.
    const open = async function* () {
      for (let i = 0; i < bytes.length; i += 700) yield bytes.subarray(i, i + 700);
    };
    const blob = { descriptor: { mediaType: "x", digest: digestOf(bytes), size: bytes.byteLength }, open };
    const states: string[] = [];
    expect(await client({ chunkSize: 1024 }).pushBlob(reg.location("acme/app"), blob, { onUploading: () => states.push("uploading") })).toBe("uploaded");
    expect(states).toEqual(["uploading"]);
    const upload = reg.requests.filter((r) => r.path.includes("/uploads/"));
    expect(upload.map((r) => [r.method, r.contentRange, r.bodyBytes, r.status])).toEqual([
      ["POST", undefined, 0, 202],
      ["PATCH", "0-1023", 1024, 202],
      ["PATCH", "1024-2047", 1024, 202],
      ["PATCH", "2048-2499", 452, 202],
      ["PUT", undefined, 0, 201],
    ]);
    expect(upload[4]!.query["digest"]).toBe(blob.descriptor.digest);
    expect(Buffer.from(reg.blob("acme/app", blob.descriptor.digest)!).equals(bytes)).toBe(true);
  });

  it("mounts from another repository (201) with one POST and a token for both scopes", async () => {
    const reg = await fake({ auth: { kind: "bearer", username: "ci", password: "pw" } });
    const bytes = randomBytes(100);
    const digest = reg.seedBlob("base/node", bytes);
    const blob = { descriptor: { mediaType: "x", digest, size: 100 } };
    const c = client({ credentials: creds("ci", "pw") });
    expect(await c.pushBlob(reg.location("acme/app"), blob, { mountFrom: [reg.location("base/node")] })).toBe("mounted");
    const posts = reg.requests.filter((r) => r.method === "POST" && r.status === 201);
    expect(posts.map((p) => p.query)).toEqual([{ mount: digest, from: "base/node" }]);
    const tokenScopes = reg.requests.filter((r) => r.path === "/token").map((r) => r.scopes);
    expect(tokenScopes).toContainEqual(["repository:acme/app:pull,push", "repository:base/node:pull"].sort());
    expect(reg.hasBlob("acme/app", digest)).toBe(true);
  });

  it("uploads through the session a refused mount opened (202), without a second POST", async () => {
    const reg = await fake({ mount: false });
    const bytes = randomBytes(100);
    reg.seedBlob("base/node", bytes);
    const blob = { descriptor: { mediaType: "x", digest: digestOf(bytes), size: 100 }, bytes };
    expect(await client().pushBlob(reg.location("acme/app"), blob, { mountFrom: [reg.location("base/node")] })).toBe("uploaded");
    expect(reg.requests.filter((r) => r.method === "POST").map((r) => [r.query["mount"], r.status])).toEqual([[blob.descriptor.digest, 202]]);
    expect(reg.hasBlob("acme/app", blob.descriptor.digest)).toBe(true);
    expect(reg.openUploads()).toBe(0);
  });

  it("ignores mount sources on other registries", async () => {
    const reg = await fake();
    const bytes = randomBytes(10);
    const blob = { descriptor: { mediaType: "x", digest: digestOf(bytes), size: 10 }, bytes };
    await client().pushBlob(reg.location("acme/app"), blob, { mountFrom: [{ registry: "elsewhere.example", repository: "x", scheme: "https" }] });
    expect(reg.requests.find((r) => r.method === "POST")!.query).toEqual({});
  });

  it("commits nothing when the bytes do not match the descriptor, and cancels the session", async () => {
    const reg = await fake();
    const bytes = randomBytes(100);
    const blob = { descriptor: { mediaType: "x", digest: digestOf(randomBytes(100)), size: 100 }, bytes };
    const err = await rejection(client().pushBlob(reg.location("acme/app"), blob));
    expect(err.code).toBe("SDX_REGISTRY_ERROR");
    expect(err.fault).toBe("internal");
    expect(reg.hasBlob("acme/app", blob.descriptor.digest)).toBe(false);
    expect(reg.requests.some((r) => r.method === "PUT")).toBe(false);
    expect(reg.requests.at(-1)!.method).toBe("DELETE");
    expect(reg.openUploads()).toBe(0);
  });

  it("restarts a blob upload whose PATCH got a 503, and succeeds", async () => {
    let patches = 0;
    const reg = await fake({ fault: (r) => (r.method === "PATCH" && ++patches === 2 ? { kind: "status", status: 503 } : undefined) });
    const bytes = randomBytes(3000);
    const blob = { descriptor: { mediaType: "x", digest: digestOf(bytes), size: bytes.byteLength }, bytes };
    const { waits, sleep } = recordingSleep();
    expect(await client({ chunkSize: 1024, sleep }).pushBlob(reg.location("acme/app"), blob)).toBe("uploaded");
    expect(waits).toEqual([250]);
    expect(reg.requests.filter((r) => r.method === "POST")).toHaveLength(2);
    expect(Buffer.from(reg.blob("acme/app", blob.descriptor.digest)!).equals(bytes)).toBe(true);
  });
});

describe("auth", () => {
  it("answers a Basic challenge with the credential and keeps sending it", async () => {
    const reg = await fake({ auth: { kind: "basic", username: "ci", password: "s3cret" } });
    const img = syntheticImage({ architecture: "amd64", layers: [] });
    seedImage(reg, "acme/app", img, ["1"]);
    const c = client({ credentials: creds("ci", "s3cret") });
    await c.getManifest(reg.location("acme/app"), "1");
    await c.getBlob(reg.location("acme/app"), img.config.descriptor.digest);
    expect(reg.requests.map((r) => [r.method, r.auth, r.status])).toEqual([
      ["GET", "none", 401],
      ["GET", "basic", 200],
      ["GET", "basic", 200],
    ]);
  });

  it("fails a Basic registry without credentials with SDX_REGISTRY_AUTH naming anonymous, the action and how to log in", async () => {
    const reg = await fake({ auth: { kind: "basic", username: "ci", password: "s3cret" } });
    const err = await rejection(client().getManifest(reg.location("acme/app"), "1"));
    expect(err.code).toBe("SDX_REGISTRY_AUTH");
    expect(err.fault).toBe("user");
    expect(err.message).toContain(reg.host);
    expect(err.message).toContain("acme/app");
    expect(err.message).toContain("pull");
    expect(err.message).toContain("anonymous");
    expect(err.hint).toContain(`docker login ${reg.host}`);
    expect(err.details).toMatchObject({ registry: reg.host, repository: "acme/app", status: 401 });
  });

  it("names the credential's source when it is refused, and never the password", async () => {
    const reg = await fake({ auth: { kind: "basic", username: "ci", password: "s3cret" } });
    const err = await rejection(client({ credentials: creds("ci", "wrong-pass-123", "~/.docker/config.json auths") }).pushBlob(reg.location("acme/app"), { descriptor: { mediaType: "x", digest: digestOf(Buffer.from("a")), size: 1 }, bytes: Buffer.from("a") }));
    expect(err.code).toBe("SDX_REGISTRY_AUTH");
    expect(err.message).toContain("push");
    expect(err.message).toContain("~/.docker/config.json auths");
    expect(JSON.stringify({ ...err.toJSON(), stack: err.stack })).not.toContain("wrong-pass-123");
  });

  it("follows a Bearer challenge: the token service gets pull for pulls, pull,push for pushes, and tokens are reused per scope", async () => {
    const reg = await fake({ auth: { kind: "bearer", username: "ci", password: "pw" } });
    const img = syntheticImage({ architecture: "amd64", layers: [randomBytes(10)] });
    seedImage(reg, "acme/app", img, ["1"]);
    const c = client({ credentials: creds("ci", "pw") });
    await c.getManifest(reg.location("acme/app"), "1");
    await c.getBlob(reg.location("acme/app"), img.config.descriptor.digest);
    const bytes = randomBytes(50);
    await c.pushBlob(reg.location("acme/app"), { descriptor: { mediaType: "x", digest: digestOf(bytes), size: 50 }, bytes });
    const tokens = reg.requests.filter((r) => r.path === "/token");
    expect(tokens.map((t) => [t.auth, t.scopes, t.query["service"]])).toEqual([
      ["basic", ["repository:acme/app:pull"], "fake-oci"],
      ["basic", ["repository:acme/app:pull,push"], "fake-oci"],
    ]);
    // One challenge in all: after it the realm is known and new scopes are fetched up front.
    expect(reg.requests.filter((r) => r.status === 401)).toHaveLength(1);
  });

  it("exchanges an identity token at the token service (OAuth2 refresh_token grant)", async () => {
    const reg = await fake({ auth: { kind: "bearer", refreshToken: "refresh-abc" } });
    const img = syntheticImage({ architecture: "amd64", layers: [] });
    seedImage(reg, "acme/app", img, ["1"]);
    const c = client({ credentials: async () => ({ username: "", password: "", identityToken: "refresh-abc", source: "~/.docker/config.json auths" }) });
    await c.getManifest(reg.location("acme/app"), "1");
    const token = reg.requests.find((r) => r.path === "/token")!;
    expect(token.method).toBe("POST");
    expect(token.scopes).toEqual(["repository:acme/app:pull"]);
  });

  it("gets an anonymous token for public pulls, and SDX_REGISTRY_AUTH (anonymous) for a push", async () => {
    const reg = await fake({ auth: { kind: "bearer", username: "ci", password: "pw", anonymousPull: true } });
    const img = syntheticImage({ architecture: "amd64", layers: [] });
    seedImage(reg, "acme/app", img, ["1"]);
    const c = client();
    await c.getManifest(reg.location("acme/app"), "1");
    const bytes = randomBytes(5);
    const err = await rejection(c.pushBlob(reg.location("acme/app"), { descriptor: { mediaType: "x", digest: digestOf(bytes), size: 5 }, bytes }));
    expect(err.code).toBe("SDX_REGISTRY_AUTH");
    expect(err.message).toContain("anonymous");
    expect(err.message).toContain("push");
  });

  it("maps a token service refusing the credential to SDX_REGISTRY_AUTH naming its source", async () => {
    const reg = await fake({ auth: { kind: "bearer", username: "ci", password: "pw" } });
    const err = await rejection(client({ credentials: creds("ci", "nope-secret", "env SDX_REGISTRY_USER/SDX_REGISTRY_PASSWORD") }).getManifest(reg.location("acme/app"), "1"));
    expect(err.code).toBe("SDX_REGISTRY_AUTH");
    expect(err.message).toContain("env SDX_REGISTRY_USER/SDX_REGISTRY_PASSWORD");
    expect(JSON.stringify(err.toJSON())).not.toContain("nope-secret");
  });

  it("maps 403 to SDX_REGISTRY_AUTH with the status", async () => {
    const reg = await fake({ fault: () => ({ kind: "status", status: 403 }) });
    const err = await rejection(client().getManifest(reg.location("acme/app"), "1"));
    expect(err.code).toBe("SDX_REGISTRY_AUTH");
    expect(err.details).toMatchObject({ status: 403, registry: reg.host, repository: "acme/app" });
  });

  it("does not carry the Authorization header to another origin a blob GET redirects to", async () => {
    const bytes = randomBytes(1000);
    const seen: (string | undefined)[] = [];
    const storage = closeAfterTest(
      createServer((req, res) => {
        seen.push(req.headers.authorization);
        res.writeHead(200, { "content-length": String(bytes.byteLength) });
        res.end(bytes);
      }),
    );
    await new Promise<void>((r) => storage.listen(0, "127.0.0.1", r));
    const storageUrl = `http://127.0.0.1:${(storage.address() as AddressInfo).port}/blob`;
    const reg = await fake({
      auth: { kind: "basic", username: "ci", password: "pw" },
      fault: (r) => (r.method === "GET" && r.path.includes("/blobs/") ? { kind: "status", status: 307, headers: { location: storageUrl } } : undefined),
    });
    const got = await client({ credentials: creds("ci", "pw") }).getBlob(reg.location("acme/app"), digestOf(bytes));
    expect(Buffer.from(got).equals(bytes)).toBe(true);
    expect(reg.requests.at(-1)!.auth).toBe("basic");
    expect(seen).toEqual([undefined]);
  });

  it("never sends a password over http to a host not declared insecure", async () => {
    const reg = await fake({ auth: { kind: "basic", username: "ci", password: "pw" } });
    const c = client({ credentials: creds("ci", "pw"), insecureHosts: [] });
    // The location says http, but nobody declared the host insecure.
    const err = await rejection(c.getManifest(reg.location("acme/app"), "1"));
    expect(err.code).toBe("SDX_REGISTRY_AUTH");
    expect(err.hint).toContain("insecureHosts");
    expect(reg.requests.every((r) => r.auth === "none")).toBe(true);
  });
});

describe("retries and transport errors", () => {
  it("retries 500 twice with exponential backoff, then succeeds", async () => {
    let n = 0;
    const reg = await fake({ fault: (r) => (r.path.includes("/manifests/") && ++n <= 2 ? { kind: "status", status: 500 } : undefined) });
    seedImage(reg, "acme/app", syntheticImage({ architecture: "amd64", layers: [] }), ["1"]);
    const { waits, sleep } = recordingSleep();
    await client({ sleep }).getManifest(reg.location("acme/app"), "1");
    expect(waits).toEqual([250, 500]);
    expect(reg.requests.map((r) => r.status)).toEqual([500, 500, 200]);
  });

  it("gives up after 3 retries of a failing registry with SDX_REGISTRY_ERROR (fault backend)", async () => {
    const reg = await fake({ fault: () => ({ kind: "status", status: 502 }) });
    const { waits, sleep } = recordingSleep();
    const err = await rejection(client({ sleep }).getManifest(reg.location("acme/app"), "1"));
    expect(err.code).toBe("SDX_REGISTRY_ERROR");
    expect(err.fault).toBe("backend");
    expect(err.details).toMatchObject({ registry: reg.host, repository: "acme/app", status: 502, attempts: 4 });
    expect(waits).toEqual([250, 500, 1000]);
    expect(reg.requests).toHaveLength(4);
  });

  it("honours Retry-After on 429", async () => {
    let n = 0;
    const reg = await fake({ fault: (r) => (r.path.includes("/manifests/") && ++n === 1 ? { kind: "status", status: 429, headers: { "retry-after": "3" } } : undefined) });
    seedImage(reg, "acme/app", syntheticImage({ architecture: "amd64", layers: [] }), ["1"]);
    const { waits, sleep } = recordingSleep();
    await client({ sleep }).headManifest(reg.location("acme/app"), "1");
    expect(waits).toEqual([3000]);
  });

  it("does not retry 4xx answers", async () => {
    const reg = await fake({ fault: () => ({ kind: "status", status: 400 }) });
    const { waits, sleep } = recordingSleep();
    const err = await rejection(client({ sleep }).getManifest(reg.location("acme/app"), "1"));
    expect(err.code).toBe("SDX_REGISTRY_ERROR");
    expect(waits).toEqual([]);
  });

  it("reports a refused connection as SDX_REGISTRY_UNREACHABLE (fault backend) with its code", async () => {
    const port = await closedPort();
    const err = await rejection(client().getManifest({ registry: `127.0.0.1:${port}`, repository: "acme/app", scheme: "http" }, "1"));
    expect(err.code).toBe("SDX_REGISTRY_UNREACHABLE");
    expect(err.fault).toBe("backend");
    expect(err.details).toMatchObject({ registry: `127.0.0.1:${port}`, repository: "acme/app", code: "ECONNREFUSED" });
  });

  it("reports a dropped connection as SDX_REGISTRY_UNREACHABLE once the retries are spent", async () => {
    const reg = await fake({ fault: () => ({ kind: "reset" }) });
    expect((await rejection(client().getManifest(reg.location("acme/app"), "1"))).code).toBe("SDX_REGISTRY_UNREACHABLE");
    // A read is asked again (1 + 3 retries); nothing else was sent.
    expect(reg.requests.filter((r) => r.path.endsWith("/manifests/1"))).toHaveLength(4);
  });

  it("asks a read again after a dropped connection or a timeout, with backoff, and succeeds", async () => {
    let drops = 2;
    const reg = await fake({ fault: (r) => (r.method === "GET" && r.path.includes("/manifests/") && drops-- > 0 ? { kind: "reset" } : undefined) });
    const img = syntheticImage({ architecture: "amd64", layers: [randomBytes(10)] });
    const digest = seedImage(reg, "acme/app", img, ["1.0"]);
    const { waits, sleep } = recordingSleep();
    const got = await createRegistryClient({ sleep }).getManifest(reg.location("acme/app"), "1.0");
    expect(got.descriptor.digest).toBe(digest);
    expect(waits).toEqual([250, 500]);
    const silentOnce = closeAfterTest(createServer((req, res) => {
      if (silentOnce.listenerCount("request") > 0 && !answered) { answered = true; return; } // swallow the first request
      res.writeHead(200, { "docker-content-digest": digest, "content-type": img.manifest.mediaType, "content-length": "0" }).end();
    }));
    let answered = false;
    await new Promise<void>((r) => silentOnce.listen(0, "127.0.0.1", r));
    const host = `127.0.0.1:${(silentOnce.address() as AddressInfo).port}`;
    const head = await client({ requestTimeoutMs: 150 }).headManifest({ registry: host, repository: "a", scheme: "http" }, "1.0");
    expect(head?.digest).toBe(digest);
  });

  it("gives up on a registry that does not answer within requestTimeoutMs", async () => {
    const silent = closeAfterTest(createServer(() => undefined));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const host = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const started = Date.now();
    const err = await rejection(client({ requestTimeoutMs: 150 }).headManifest({ registry: host, repository: "a", scheme: "http" }, "1"));
    expect(err.code).toBe("SDX_REGISTRY_UNREACHABLE");
    expect(err.message).toContain("150 ms");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("rejects with SDX_ABORTED when the signal fires, also during a backoff", async () => {
    const reg = await fake({ fault: () => ({ kind: "status", status: 503 }) });
    const controller = new AbortController();
    const c = createRegistryClient({ signal: controller.signal });
    const pending = rejection(c.getManifest(reg.location("acme/app"), "1"));
    setTimeout(() => controller.abort(), 50);
    expect((await pending).code).toBe("SDX_ABORTED");
    expect((await rejection(c.headManifest(reg.location("acme/app"), "1"))).code).toBe("SDX_ABORTED");
  });
});
