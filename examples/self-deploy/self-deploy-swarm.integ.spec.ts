import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { appendFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { requireTestenv } from "@sdx/sdk/testing";

// The whole loop on real engines: the program builds its own image from its own
// directory (no Docker), pushes it to the test registry, deploys it to the Swarm
// test engine, which pulls it by digest and runs it; the replicas answer over HTTP.
const swarm = requireTestenv("swarm");
const registry = requireTestenv("registry");
const here = dirname(fileURLToPath(import.meta.url));
// A copy under the repository (so `@sdx/sdk` still resolves) for the code changes.
const copy = join(here, ".work", `swarm-${process.pid}`);
const up = swarm.env !== undefined && registry.env !== undefined;
const env = up
  ? {
      ...process.env,
      // Each run pushes to its own path, so "the first deploy uploads" holds on a reused registry.
      SELF_DEPLOY_REGISTRY: `${registry.env!.SDX_REGISTRY_ADDR}/it-${process.pid}`,
      SELF_DEPLOY_BASE: registry.env!.SDX_REGISTRY_BASE_IMAGE!,
      SELF_DEPLOY_DOCKER_HOST: swarm.env!.SDX_SWARM_DOCKER_HOST!,
    }
  : process.env;
const run = (dir: string, ...args: string[]) => spawnSync(process.execPath, [join(dir, "server.js"), ...args], { encoding: "utf8", env, timeout: 280_000 });
const docker = (...args: string[]) => spawnSync("docker", ["-H", swarm.env!.SDX_SWARM_DOCKER_HOST!, ...args], { encoding: "utf8" });
const deploy = (dir: string) => run(dir, "--deploy", "--target", "swarm", "--targets", "swarm", "--replicas", "3");
const builtImage = (stdout: string): string => /^web → (\S+@sha256:[0-9a-f]{64})/m.exec(stdout)?.[1] ?? "";

/** What every running replica answers on GET /, asked from inside the engine's network namespace. */
function replicas(): { image: string; revision: string; host: string }[] {
  const ports = docker("ps", "--filter", "label=com.docker.swarm.service.name=self-deploy_web", "--format", "{{.Ports}}").stdout
    .split("\n").flatMap((l) => { const m = /:(\d+)->8080\/tcp/.exec(l); return m ? [Number(m[1])] : []; });
  return ports.map((port) => {
    const r = spawnSync("ip", ["netns", "exec", swarm.env!.SDX_SWARM_NETNS!, process.execPath, "-e",
      `fetch("http://127.0.0.1:${port}/").then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(e); process.exit(1); })`], { encoding: "utf8", timeout: 15_000 });
    if (r.status !== 0) throw new Error(`replica on port ${port} did not answer: ${r.stderr}`);
    return JSON.parse(r.stdout) as { image: string; revision: string; host: string };
  });
}
const serviceVersion = (): number => Number(docker("service", "inspect", "self-deploy_web", "--format", "{{.Version.Index}}").stdout.trim());

describe.skipIf(!up)("self-deploy builds itself and runs on the Swarm test engine", () => {
  afterAll(() => {
    run(here, "--destroy", "--target", "swarm", "--targets", "swarm");
    rmSync(copy, { recursive: true, force: true });
  });

  let first = "";
  it("node server.js --deploy --target swarm --replicas 3: builds its own image, pushes it, deploys it by digest, waits and exits 0", () => {
    const r = deploy(here);
    expect(r.stderr).toContain("✓ web rolled out");
    expect(r.status, r.stderr).toBe(0);
    first = builtImage(r.stdout);
    expect(first).toMatch(new RegExp(`^${env.SELF_DEPLOY_REGISTRY!.replace(/\./g, "\\.")}/self-deploy-web@sha256:[0-9a-f]{64}$`));
    expect(r.stdout).toMatch(/web → \S+ \(\d+ blob\(s\) uploaded\)/);
    expect(r.stdout).toMatch(/deploy of revision [0-9a-f]{12} to swarm: succeeded/);
    // The engine runs the digest, pulled from the registry (it was never loaded by hand).
    expect(docker("service", "inspect", "self-deploy_web", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}").stdout.trim()).toBe(first);
    const answers = replicas();
    expect(answers).toHaveLength(3);
    for (const a of answers) {
      expect(a.image).toBe(first);
      expect(a.revision).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
    expect(new Set(answers.map((a) => a.host)).size).toBe(3);
  });

  it("a second run uploads nothing and changes nothing", () => {
    const version = serviceVersion();
    const r = deploy(here);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`web → ${first} (unchanged, nothing uploaded)`);
    expect(r.stdout).toContain("swarm already runs revision");
    expect(serviceVersion()).toBe(version);
  });

  it("the same source in another directory builds to the same digest; a one-line change gives a new digest and a rolling update", () => {
    mkdirSync(copy, { recursive: true });
    for (const f of ["server.js", "package.json"]) cpSync(join(here, f), join(copy, f));
    const same = deploy(copy);
    expect(same.status, same.stderr).toBe(0);
    expect(builtImage(same.stdout)).toBe(first);
    expect(same.stdout).toContain("already runs revision");

    const version = serviceVersion();
    appendFileSync(join(copy, "server.js"), "// a one-line change\n");
    const changed = deploy(copy);
    expect(changed.status, changed.stderr).toBe(0);
    const second = builtImage(changed.stdout);
    expect(second).not.toBe(first);
    expect(second).not.toBe("");
    expect(changed.stderr).toContain("✓ web rolled out");
    expect(serviceVersion()).toBeGreaterThan(version);
    const answers = replicas();
    expect(answers.map((a) => a.image)).toEqual([second, second, second]);
    first = second;
  });

  it("a broken change (its health check fails) is rolled back and exits 1; the replicas keep serving the previous image", () => {
    const src = readFileSync(join(copy, "server.js"), "utf8");
    const broken = src.replace(`if (req.url === "/healthz") return void res.writeHead(200,`, `if (req.url === "/healthz") return void res.writeHead(500,`);
    expect(broken).not.toBe(src);
    writeFileSync(join(copy, "server.js"), broken);
    const r = deploy(copy);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(1);
    expect(`${r.stdout}${r.stderr}`).toMatch(/roll(ed|ing) back|rollback/);
    expect(builtImage(r.stdout)).not.toBe(first);
    expect(docker("service", "inspect", "self-deploy_web", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}").stdout.trim()).toBe(first);
    expect(replicas().map((a) => a.image)).toEqual([first, first, first]);
  });
});
