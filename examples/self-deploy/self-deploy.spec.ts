import { describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { validateApp } from "@sdx/sdk";
import { definition, parseSelfDeployArgs } from "./server.js";
import { builtinTargetKinds } from "@sdx/sdk/testing";

// The built-in backends' target kinds: validation knows no kind by itself.
const targetKinds = await builtinTargetKinds();

const server = fileURLToPath(new URL("./server.js", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [server, ...args], { encoding: "utf8", cwd: fileURLToPath(new URL(".", import.meta.url)) });

describe("self-deploy example", () => {
  it("carries a valid app definition for all three backends", () => {
    const { app, diagnostics } = validateApp(definition(), { targetKinds });
    expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(app!.targets.map((t) => t.kind)).toEqual(["kubernetes", "swarm", "hosts", "ecs"]);
    expect(validateApp(definition({ targets: ["k8s"] }), { targetKinds }).app!.targets.map((t) => t.name)).toEqual(["k8s"]);
  });

  it("parses its flags", () => {
    expect(parseSelfDeployArgs(["--deploy", "--target", "cheapest", "--replicas", "5"])).toMatchObject({ mode: "deploy", target: "cheapest", replicas: 5 });
    expect(parseSelfDeployArgs([])).toMatchObject({ mode: "serve", replicas: 2 });
    expect(() => parseSelfDeployArgs(["--replicas", "-1"])).toThrow(/--replicas/);
    expect(() => parseSelfDeployArgs(["--deploi"])).toThrow();
    for (const bad of ["", " ", "0x10", "1e3", "2.0", "+3"]) expect(() => parseSelfDeployArgs([`--replicas=${bad}`]), bad).toThrow(/--replicas/);
    for (const bad of ["", "0x50", "99999", "80.5"]) expect(() => parseSelfDeployArgs([`--port=${bad}`]), bad).toThrow(/--port/);
    expect(parseSelfDeployArgs(["--replicas", "0", "--port", "0"])).toMatchObject({ replicas: 0, port: 0 });
    expect(() => parseSelfDeployArgs(["--target="])).toThrow(/--target/);
  });

  it("has a revision that changes when its definition changes, and only then", () => {
    const a = run("--revision");
    const b = run("--revision");
    const c = run("--revision", "--replicas", "5");
    expect(a.status).toBe(0);
    expect(a.stdout).toMatch(/^[0-9a-f]{12}\n$/);
    expect(b.stdout).toBe(a.stdout);
    expect(c.stdout).not.toBe(a.stdout);
  });

  it("is built from its own directory, not a placeholder image", () => {
    const { app } = validateApp(definition(), { targetKinds });
    const web = app!.services[0]!;
    expect(web.build).toMatchObject({ context: ".", entry: "server.js", include: ["server.js", "package.json"], dependencies: "none" });
    expect(web.image.digest).toBeUndefined();
    expect(app!.build?.registry).toBe("ghcr.io/sdx-dev");
  });

  it("serves, with nothing but Node, the source revision and image sdx gives it", async () => {
    const child = spawn(process.execPath, [server, "--port", "0"], {
      stdio: ["ignore", "ignore", "pipe"],
      // Not even @sdx/sdk may be loaded to serve: the image carries no node_modules.
      env: { ...process.env, SDX_SOURCE_REVISION: "0123456789ab", SDX_IMAGE: "127.0.0.1:5000/self-deploy-web@sha256:" + "a".repeat(64), NODE_OPTIONS: "--import=data:text/javascript,import{registerHooks}from'node:module';registerHooks({resolve(s,c,n){if(s.startsWith('@sdx/'))throw(Error('sdx-loaded-while-serving'));return(n(s,c))}})" },
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let buf = "";
        child.stderr.on("data", (d: Buffer) => {
          buf += d.toString();
          const m = /listening on :(\d+)/.exec(buf);
          if (m) resolve(Number(m[1]));
        });
        child.on("exit", (code) => reject(new Error(`server exited ${code}: ${buf}`)));
      });
      const body = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { revision: string; image: string };
      expect(body).toMatchObject({ app: "self-deploy", revision: "0123456789ab", image: `127.0.0.1:5000/self-deploy-web@sha256:${"a".repeat(64)}` });
      expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).text()).toBe("ok\n");
    } finally {
      child.kill();
    }
  });

  it("plans offline with the cost table and the chosen target", () => {
    const r = run("--plan", "--offline", "--targets", "k8s,swarm");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/→\s+swarm\s+Docker Swarm\s/);
    expect(r.stdout).toContain("Chosen: swarm");
    expect(r.stdout).toContain("+ create  service self-deploy_web");
    // Offline, the source is not built (the base is not fetched): the plan says so.
    expect(r.stdout).toMatch(/build web: ghcr\.io\/sdx-dev\/self-deploy-web: will be built at deploy \(offline/);
  });
});
