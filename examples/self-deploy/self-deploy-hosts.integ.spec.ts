import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { requireTestenv } from "@sdx/sdk/testing";

// The whole loop on plain hosts: the program builds its own image (no Docker on this
// machine), pushes it to the test registry, and deploys it over SSH to the two hosts of
// scripts/testenv/hosts.sh, whose Docker Engines pull it by digest; every replica answers
// over HTTP on its host's address with the image it runs.
const hosts = requireTestenv("hosts");
const registry = requireTestenv("registry");
const here = dirname(fileURLToPath(import.meta.url));
const copy = join(here, ".work", `hosts-${process.pid}`);
const up = hosts.env !== undefined && registry.env !== undefined;
const addrs = (hosts.env?.SDX_HOSTS ?? "").split(",");
const env = up
  ? {
      ...process.env,
      SELF_DEPLOY_REGISTRY: `${registry.env!.SDX_REGISTRY_ADDR}/it-hosts-${process.pid}`,
      SELF_DEPLOY_BASE: registry.env!.SDX_REGISTRY_BASE_IMAGE!,
      SELF_DEPLOY_HOSTS: hosts.env!.SDX_HOSTS!,
      SELF_DEPLOY_SSH_KEY: hosts.env!.SDX_HOSTS_KEY!,
      SELF_DEPLOY_KNOWN_HOSTS: hosts.env!.SDX_HOSTS_KNOWN_HOSTS!,
    }
  : process.env;
const run = (dir: string, ...args: string[]) => spawnSync(process.execPath, [join(dir, "server.js"), ...args], { encoding: "utf8", env, timeout: 280_000 });
const deploy = (dir: string) => run(dir, "--deploy", "--target", "hosts", "--targets", "hosts", "--replicas", "2");
const builtImage = (stdout: string): string => /^web → (\S+@sha256:[0-9a-f]{64})/m.exec(stdout)?.[1] ?? "";

/** What each host's replica answers on GET / at the host's own address. */
async function replicas(): Promise<{ image: string; revision: string; host: string }[]> {
  return Promise.all(addrs.map(async (a) => (await (await fetch(`http://${a}:8080/`, { signal: AbortSignal.timeout(5000), headers: { connection: "close" } })).json()) as { image: string; revision: string; host: string }));
}

describe.skipIf(!up)("self-deploy builds itself and runs on plain hosts over SSH", () => {
  afterAll(() => {
    run(here, "--destroy", "--target", "hosts", "--targets", "hosts");
    rmSync(copy, { recursive: true, force: true });
  });

  let first = "";
  it("node server.js --deploy --target hosts --replicas 2: builds, pushes, deploys by digest to both hosts, exits 0", async () => {
    const r = deploy(here);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    first = builtImage(r.stdout);
    expect(first).toMatch(/self-deploy-web@sha256:[0-9a-f]{64}$/);
    expect(r.stdout).toMatch(/deploy of revision [0-9a-f]{12} to hosts: succeeded/);
    const answers = await replicas();
    expect(answers.map((a) => a.image)).toEqual([first, first]);
    for (const a of answers) expect(a.revision).toMatch(/^sha256:[0-9a-f]{64}$/);
    // One container per host: two hosts, two different container hostnames.
    expect(new Set(answers.map((a) => a.host)).size).toBe(2);
  });

  it("a second run uploads nothing and changes nothing", () => {
    const r = deploy(here);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`web → ${first} (unchanged, nothing uploaded)`);
    expect(r.stdout).toContain("hosts already runs revision");
  });

  it("a broken change is rolled back on every host and exits 1; the previous image keeps serving", async () => {
    mkdirSync(copy, { recursive: true });
    for (const f of ["server.js", "package.json"]) cpSync(join(here, f), join(copy, f));
    const src = readFileSync(join(copy, "server.js"), "utf8");
    const broken = src.replace(`if (req.url === "/healthz") return void res.writeHead(200,`, `if (req.url === "/healthz") return void res.writeHead(500,`);
    expect(broken).not.toBe(src);
    writeFileSync(join(copy, "server.js"), broken);
    const r = deploy(copy);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(1);
    expect(`${r.stdout}${r.stderr}`).toMatch(/roll(ed|ing) back|rollback/);
    expect((await replicas()).map((a) => a.image)).toEqual([first, first]);
  });

  it("images: stream deploys with no registry at all: the image goes over SSH into docker load on each host", async () => {
    expect(run(here, "--destroy", "--target", "hosts", "--targets", "hosts").status).toBe(0);
    // Neither host has the image any more, and the registry named is one nobody can reach.
    for (const sock of (hosts.env!.SDX_HOSTS_DOCKER_SOCKS ?? "").split(",")) {
      const ids = spawnSync("docker", ["-H", `unix://${sock}`, "images", "--format", "{{.Repository}} {{.ID}}"], { encoding: "utf8" }).stdout
        .split("\n").filter((l) => l.includes("self-deploy-web")).map((l) => l.split(" ")[1]!);
      if (ids.length) expect(spawnSync("docker", ["-H", `unix://${sock}`, "rmi", "-f", ...new Set(ids)]).status).toBe(0);
    }
    const streamed = spawnSync(process.execPath, [join(here, "server.js"), "--deploy", "--target", "hosts", "--targets", "hosts", "--replicas", "2"], {
      encoding: "utf8", timeout: 280_000, env: { ...env, SELF_DEPLOY_IMAGES: "stream", SELF_DEPLOY_REGISTRY: "127.0.0.1:9/unreachable" },
    });
    expect(streamed.status, `${streamed.stdout}\n${streamed.stderr}`).toBe(0);
    const image = builtImage(streamed.stdout);
    expect(image).toMatch(/^127\.0\.0\.1:9\/unreachable\/self-deploy-web@sha256:[0-9a-f]{64}$/);
    expect(streamed.stdout).toMatch(/web → \S+ \(0 blob\(s\) uploaded\)/);
    expect((await replicas()).map((a) => a.image)).toEqual([image, image]);
  });
});
