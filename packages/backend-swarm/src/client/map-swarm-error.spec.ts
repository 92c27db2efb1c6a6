import { describe, expect, it } from "vitest";
import { adaptSpecToApi } from "../render/adapt-spec-to-api.js";
import { compareApiVersions } from "./api-version.js";
import { mapSwarmError } from "./map-swarm-error.js";
import { connectSwarm, dockerOptionsFor } from "./dockerode-swarm-client.js";

const httpError = (statusCode: number, message: string) => Object.assign(new Error(`(HTTP code ${statusCode})`), { statusCode, json: { message } });

describe("mapSwarmError", () => {
  it("classifies by socket code and HTTP status", () => {
    expect(mapSwarmError(Object.assign(new Error("x"), { code: "ENOENT" }), "list", "unix:///nope").code).toBe("SDX_BACKEND_UNREACHABLE");
    expect(mapSwarmError(Object.assign(new Error("x"), { code: "ECONNREFUSED" }), "list", "tcp://127.0.0.1:1").code).toBe("SDX_BACKEND_UNREACHABLE");
    expect(mapSwarmError(Object.assign(new Error("x"), { code: "EACCES" }), "list", "unix:///s").code).toBe("SDX_BACKEND_AUTH");
    const notManager = mapSwarmError(httpError(503, "This node is not a swarm manager."), "list services", "unix:///s");
    expect(notManager).toMatchObject({ code: "SDX_BACKEND_UNSUPPORTED", fault: "user" });
    expect(notManager.hint).toContain("docker swarm init");
    expect(mapSwarmError(httpError(400, "bad spec"), "create", "u").code).toBe("SDX_BACKEND_REJECTED");
    expect(mapSwarmError(httpError(409, "name conflicts"), "create", "u").code).toBe("SDX_BACKEND_CONFLICT");
    expect(mapSwarmError(httpError(500, "oops"), "create", "u")).toMatchObject({ code: "SDX_BACKEND_ERROR", details: { status: 500 } });
  });
});

describe("connectSwarm", () => {
  it("fails fast with SDX_BACKEND_UNREACHABLE when the socket does not exist", async () => {
    const t = Date.now();
    await expect(connectSwarm({ host: "unix:///tmp/sdx-no-such-engine.sock" })).rejects.toMatchObject({ code: "SDX_BACKEND_UNREACHABLE", fault: "user" });
    expect(Date.now() - t).toBeLessThan(3000);
  });

  it("fails fast when nothing listens on a tcp port", async () => {
    await expect(connectSwarm({ host: "tcp://127.0.0.1:1" })).rejects.toMatchObject({ code: "SDX_BACKEND_UNREACHABLE" });
  });
});

describe("dockerOptionsFor", () => {
  it("reads unix, tcp and tcp+TLS hosts", () => {
    expect(dockerOptionsFor("unix:///var/run/docker.sock", undefined)).toEqual({ socketPath: "/var/run/docker.sock" });
    expect(dockerOptionsFor("tcp://10.0.0.1:2375", undefined)).toEqual({ host: "10.0.0.1", port: 2375, protocol: "http" });
    const read = (p: string) => Buffer.from(p);
    expect(dockerOptionsFor("tcp://h:2376", "/certs", read)).toMatchObject({ host: "h", port: 2376, protocol: "https", ca: Buffer.from("/certs/ca.pem"), key: Buffer.from("/certs/key.pem") });
    expect(() => dockerOptionsFor("ssh://h", undefined)).toThrow(/cannot read the Docker host/);
  });
});

describe("API versions", () => {
  it("compares numerically and adds newer fields only for newer engines", () => {
    expect(compareApiVersions("1.9", "1.41")).toBeLessThan(0);
    expect(compareApiVersions("1.44", "1.41")).toBeGreaterThan(0);
    const spec = { TaskTemplate: { ContainerSpec: { Healthcheck: { Interval: 10e9, StartPeriod: 5e9 } } } };
    expect(adaptSpecToApi(spec, "1.41")).toBe(spec);
    expect(adaptSpecToApi(spec, "1.44")).toMatchObject({ TaskTemplate: { ContainerSpec: { Healthcheck: { StartInterval: 2e9 } } } });
  });
});
