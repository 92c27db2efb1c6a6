import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpK8sClient } from "./k8s-client.js";

// A TLS API server on loopback (self-signed certificate from openssl) that
// counts TLS connections: every request of one client must share one pool.
describe("HttpK8sClient connections", () => {
  let dir: string;
  let server: Server;
  let connections = 0;
  let kc: KubeConfig;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "sdx-k8s-tls-"));
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
    ], { stdio: "ignore" });
    const cert = readFileSync(join(dir, "cert.pem"));
    server = createServer({ key: readFileSync(join(dir, "key.pem")), cert }, (req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "ns", uid: "u" }, path: req.url }));
    });
    server.on("secureConnection", () => connections++);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "c", server: `https://127.0.0.1:${port}`, caData: cert.toString("base64"), skipTLSVerify: false }],
      users: [{ name: "u", token: "t0ken" }],
      contexts: [{ name: "ctx", cluster: "c", user: "u" }],
      currentContext: "ctx",
    });
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it("reuses one TLS connection across requests (a rollout wait polls hundreds of times)", async () => {
    const client = new HttpK8sClient(kc);
    for (let i = 0; i < 30; i++) expect((await client.get("ConfigMap", "x", "ns"))?.metadata.name).toBe("x");
    // Thirty sequential requests share keep-alive connections (it was thirty: a new pool per request).
    // A socket can reach the pool a moment after its response, so a second one may open.
    expect(connections).toBeLessThanOrEqual(2);
    await Promise.all(Array.from({ length: 4 }, () => client.list("ConfigMap", "ns", {})));
    expect(connections).toBeLessThanOrEqual(6);
  });
});
