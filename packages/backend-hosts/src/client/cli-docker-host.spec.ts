import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { isSdxError, type SdxError } from "@sdx/sdk";
import type { HostSpec } from "../hosts-target.js";
import {
  RUN_ARGV_LIMIT, argvBytes, createDockerHost, dockerRunArgv, healthShellCommand, isStrictlyUnder, lastLine,
  parseAuditLog, parseContainers, parseLoadOutput, tryParseHostInfo,
} from "./cli-docker-host.js";
import type { ContainerSpec } from "./docker-host.js";
import type { ExecOptions, ExecResult, HostConnection } from "./host-connection.js";

// Captured from the hosts testenv (Docker 20.10 engine, docker CLI 28): see the fixtures' container names.
const INSPECT = readFileSync(new URL("./__fixtures__/docker-inspect-containers.json", import.meta.url), "utf8");
const INFO = readFileSync(new URL("./__fixtures__/docker-info.json", import.meta.url), "utf8");
const RUN_HELP = "\nRun 'docker run --help' for more information\n";

const host: HostSpec = { name: "web-1", address: "10.0.0.1", user: "root", port: 22, labels: {}, capacity: "on-demand" };

const fullSpec: ContainerSpec = {
  name: "shop-web-1a2b3c-0",
  image: "registry.example.com/shop/web@sha256:" + "a".repeat(64),
  labels: { "sdx.dev/app": "shop", "sdx.dev/service": "web" },
  env: { NODE_ENV: "production", GREETING: "hello, world" },
  envFiles: ["/var/lib/sdx/shop/secrets/web.env"],
  entrypoint: ["/usr/bin/tini", "--"],
  command: ["node", "server.js"],
  ports: [{ host: 8080, container: 80, protocol: "tcp" }, { host: 5353, container: 53, protocol: "udp" }],
  mounts: [
    { source: "/var/lib/sdx/shop/files/web/config.json", target: "/etc/web/config.json", readOnly: true },
    { source: "/var/lib/sdx/shop/volumes/a,b", target: "/data", readOnly: false },
    { target: "/tmp/cache", readOnly: false },
  ],
  network: "shop",
  aliases: ["web", "web.shop"],
  health: { test: ["wget", "-q", "-O-", "http://127.0.0.1:80/it's"], intervalSeconds: 10, timeoutSeconds: 3, retries: 3, startPeriodSeconds: 5 },
  cpuLimitMillis: 250,
  memoryLimitMiB: 256,
  restart: "unless-stopped",
  user: "1000:1000",
};

/** One command the fake host received. `line` is the argv (exec) or the program's args (script) joined by spaces. */
interface Call { kind: "exec" | "script"; argv: readonly string[]; program?: string; line: string; stdin?: string; options: ExecOptions }

const ok = (stdout = ""): ExecResult => ({ code: 0, stdout, stderr: "" });
const fail = (code: number, stderr: string, stdout = ""): ExecResult => ({ code, stdout, stderr });
const isProbe = (c: Call): boolean => c.program?.includes("docker version") === true;

/** A HostConnection that answers from `respond`, for fault injection; the engine probe answers `probe` unless `respond` does. */
function fakeConnection(respond: (c: Call) => ExecResult | undefined, probe: ExecResult = ok()): HostConnection & { calls: Call[] } {
  const calls: Call[] = [];
  const answer = async (c: Call): Promise<ExecResult> => {
    const s = c.options.stdin;
    if (typeof s === "string") c.stdin = s;
    else if (s instanceof Uint8Array) c.stdin = Buffer.from(s).toString("utf8");
    calls.push(c);
    const r = respond(c) ?? (isProbe(c) ? probe : undefined);
    if (!r) throw new Error(`unexpected command: ${c.program ?? ""} ${c.line}`);
    return r;
  };
  return {
    host,
    calls,
    exec: (argv, options = {}) => answer({ kind: "exec", argv, line: argv.join(" "), options }),
    script: (program, args, options = {}) => answer({ kind: "script", argv: args, program, line: args.join(" "), options }),
    close: () => undefined,
  };
}

async function rejection(p: Promise<unknown>): Promise<SdxError> {
  const e: unknown = await p.then(() => undefined, (x: unknown) => x);
  if (!isSdxError(e)) throw new Error(`expected an SdxError, got ${String(e)}`);
  return e;
}

describe("dockerRunArgv", () => {
  it("builds the whole docker run command from a full spec, image last and then the command", () => {
    expect(dockerRunArgv(fullSpec)).toEqual([
      "docker", "run", "-d", "--name", "shop-web-1a2b3c-0",
      "--label", "sdx.dev/app=shop", "--label", "sdx.dev/service=web",
      "--env", "GREETING=hello, world", "--env", "NODE_ENV=production",
      "--env-file", "/var/lib/sdx/shop/secrets/web.env",
      "--restart", "unless-stopped",
      "-p", "8080:80/tcp", "-p", "5353:53/udp",
      "--mount", "type=bind,src=/var/lib/sdx/shop/files/web/config.json,dst=/etc/web/config.json,readonly",
      "--mount", 'type=bind,"src=/var/lib/sdx/shop/volumes/a,b",dst=/data',
      "--mount", "type=volume,dst=/tmp/cache",
      "--network", "shop", "--network-alias", "web", "--network-alias", "web.shop",
      "--health-cmd", "wget -q -O- 'http://127.0.0.1:80/it'\\''s'",
      "--health-interval", "10s", "--health-timeout", "3s", "--health-retries", "3", "--health-start-period", "5s",
      "--cpus", "0.25", "--memory", "256m", "--user", "1000:1000",
      "--entrypoint=/usr/bin/tini",
      "registry.example.com/shop/web@sha256:" + "a".repeat(64), "--", "node", "server.js",
    ]);
  });

  it("leaves out limits, user, health and entrypoint when the spec has none, and keeps the image's command when none is given", () => {
    const argv = dockerRunArgv({ ...fullSpec, entrypoint: undefined, command: undefined, health: undefined, cpuLimitMillis: undefined, memoryLimitMiB: undefined, user: undefined, restart: "no" } as unknown as ContainerSpec);
    for (const flag of ["--cpus", "--memory", "--user", "--health-cmd", "--entrypoint"]) expect(argv.join(" ")).not.toContain(flag);
    expect(argv.slice(-1)).toEqual([fullSpec.image]);
    expect(argv).toContain("no");
  });

  it("an empty entrypoint clears the image's one", () => {
    expect(dockerRunArgv({ ...fullSpec, entrypoint: [], command: ["sh"] })).toEqual(expect.arrayContaining(["--entrypoint=", fullSpec.image, "sh"]));
  });

  it("turns a health check argv into a string that /bin/sh -c splits back into exactly those arguments", () => {
    const test = ["printf", "[%s]", "a b", "it's", "$HOME", "`id`", 'say "hi"', "", "*"];
    const out = execFileSync("/bin/sh", ["-c", healthShellCommand(test)], { encoding: "utf8" });
    expect(out).toBe("[a b][it's][$HOME][`id`][say \"hi\"][][*]");
  });
});

describe("parsing docker's JSON", () => {
  const byName = new Map(parseContainers(INSPECT).map((c) => [c.name, c]));

  it("maps docker inspect of a running healthy container: name without slash, labels, image and ID, health with its last outputs", () => {
    const web = byName.get("sdxd-fx-web")!;
    expect(web).toMatchObject({
      name: "sdxd-fx-web", image: "sdx-busybox:latest", state: "running", health: "healthy", exitCode: 0, restartCount: 0,
      labels: { "sdx.dev/app": "sdxd-fx", "sdx.dev/service": "web" },
      healthLog: ["sdx-busybox", "sdx-busybox", "sdx-busybox"],
    });
    expect(web.id).toMatch(/^[0-9a-f]{64}$/);
    expect(web.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(web.startedAt).toMatch(/^20\d\d-/);
    expect(web.finishedAt).toBeUndefined();
    expect(web.error).toBeUndefined();
  });

  it("lists the host paths bind-mounted into a container, not its anonymous volumes (garbage collection keeps those files)", () => {
    // The recorded web container has one anonymous volume and no bind mount.
    expect(byName.get("sdxd-fx-web")!.mounts).toEqual([]);
    const [c] = parseContainers(JSON.stringify([{
      Id: "a".repeat(64), Name: "/x", Image: `sha256:${"b".repeat(64)}`, State: { Status: "running" },
      Mounts: [
        { Type: "bind", Source: "/var/lib/sdx/app/services/api/secret-token-0123456789abcdef", Destination: "/run/secrets/token" },
        { Type: "volume", Name: "c".repeat(64), Source: `/var/lib/docker/volumes/${"c".repeat(64)}/_data`, Destination: "/cache" },
      ],
    }]));
    expect(c!.mounts).toEqual(["/var/lib/sdx/app/services/api/secret-token-0123456789abcdef"]);
  });

  it("reports an unhealthy container's last three check outputs, a failed start's error, and an exited container's code", () => {
    expect(byName.get("sdxd-fx-unh")).toMatchObject({ state: "running", health: "unhealthy", healthLog: ["not ready yet", "not ready yet", "not ready yet"] });
    const bad = byName.get("sdxd-fx-bad")!;
    expect(bad).toMatchObject({ state: "created", exitCode: 127, healthLog: [] });
    expect(bad.error).toContain('exec: "/nonexistent"');
    expect(bad.health).toBeUndefined();
    expect(bad.startedAt).toBeUndefined();
    expect(byName.get("sdxd-fx-port")!.error).toContain("port is already allocated");
    const exited = byName.get("sdxd-fx-exit")!;
    expect(exited).toMatchObject({ state: "exited", exitCode: 3 });
    expect(exited.finishedAt).toMatch(/^20\d\d-/);
  });

  it("maps docker info: engine ID, CPUs in millicores, memory in MiB, Docker's arch names to Go's", () => {
    expect(tryParseHostInfo(INFO)).toEqual({ engineId: "EPM2:5A37:5N6Z:YAWB:ELFJ:QSMV:TU3W:LHEO:AOI5:3MTW:55NS:V4TJ", cpuMillis: 2000, memoryMiB: 24105, arch: "amd64", serverVersion: "20.10.24+dfsg1" });
    const arm = { ...JSON.parse(INFO), Architecture: "aarch64" } as Record<string, unknown>;
    expect(tryParseHostInfo(JSON.stringify(arm))?.arch).toBe("arm64");
    // What the CLI prints when it cannot reach its engine: an info object with an empty ID.
    expect(tryParseHostInfo(JSON.stringify({ ...arm, ID: "" }))).toBeUndefined();
    expect(tryParseHostInfo("")).toBeUndefined();
  });

  it("reads docker load's output: tagged images by name, untagged ones by ID, other lines ignored", () => {
    const id = "sha256:" + "c".repeat(64);
    expect(parseLoadOutput(`The image sdx-busybox:latest already exists, renaming the old one with ID sha256:${"b".repeat(64)} to empty string\nLoaded image: sdx-busybox:latest\n`))
      .toEqual({ ids: [], names: ["sdx-busybox:latest"] });
    expect(parseLoadOutput(`Loaded image ID: ${id}\n`)).toEqual({ ids: [id], names: [] });
  });

  it("reads the audit log oldest first and skips lines that are not entries", () => {
    const a = { at: "2026-01-01T00:00:00Z", action: "deploy", outcome: "started", app: "shop", by: "a@b" };
    const b = { ...a, outcome: "succeeded", revision: "0123456789ab" };
    expect(parseAuditLog(`${JSON.stringify(a)}\n{"at":"torn\n\n42\n${JSON.stringify(b)}\n`)).toEqual([a, b]);
  });

  it("shows docker's last useful stderr line, not its --help trailer", () => {
    expect(lastLine(`docker: Error response from daemon: Conflict. The container name "/x" is already in use.${RUN_HELP}`)).toBe('docker: Error response from daemon: Conflict. The container name "/x" is already in use.');
  });
});

describe("isStrictlyUnder", () => {
  it.each([
    ["/var/lib/sdx/shop/files/a", "/var/lib/sdx/shop", true],
    ["/var/lib/sdx/shop//files/", "/var/lib/sdx/shop/", true],
    ["/var/lib/sdx/shop", "/var/lib/sdx/shop", false],
    ["/var/lib/sdx/shop/", "/var/lib/sdx/shop", false],
    ["/var/lib/sdx/shop/../other", "/var/lib/sdx/shop", false],
    ["/var/lib/sdx/shopping/a", "/var/lib/sdx/shop", false],
    ["relative/a", "/var/lib/sdx/shop", false],
    ["/etc/passwd", "/", false],
  ])("%s under %s: %s", (p, d, want) => expect(isStrictlyUnder(p, d)).toBe(want));
});

describe("CliDockerHost over a faulty connection", () => {
  it("a name taken (exit 125, and the name inspects to a container) is SDX_BACKEND_CONFLICT naming the host and docker run", async () => {
    const conn = fakeConnection((c) => {
      if (c.argv[1] === "run") return fail(125, `docker: Error response from daemon: Conflict. The container name "/shop-web-1a2b3c-0" is already in use by container "x".${RUN_HELP}`);
      if (c.line.startsWith("docker container inspect")) return ok(INSPECT.replace("/sdxd-fx-web", "/shop-web-1a2b3c-0"));
      return undefined;
    });
    const e = await rejection(createDockerHost(conn).run(fullSpec));
    expect(e.code).toBe("SDX_BACKEND_CONFLICT");
    expect(e.fault).toBe("user");
    expect(e.message).toContain("host web-1 (10.0.0.1)");
    expect(e.message).toContain("docker run");
    expect(e.details).toMatchObject({ stderr: expect.stringContaining("is already in use") });
    expect(e.hint).toMatch(/another deploy/i);
  });

  it("a refused request (exit 125, no such name, engine up) is SDX_BACKEND_REJECTED with docker's last line", async () => {
    const conn = fakeConnection((c) => {
      if (c.argv[1] === "run") return fail(125, `unknown flag: --bogus\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n${RUN_HELP}`);
      if (c.line.startsWith("docker container inspect")) return fail(1, "Error: No such object: shop-web-1a2b3c-0\n", "[]\n");
      return undefined;
    });
    const e = await rejection(createDockerHost(conn).run(fullSpec));
    expect(e.code).toBe("SDX_BACKEND_REJECTED");
    expect(e.fault).toBe("user");
    expect(e.message).toBe("docker run of shop-web-1a2b3c-0 on host web-1 (10.0.0.1) was refused: Usage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]");
  });

  it("an engine that does not answer is SDX_BACKEND_UNREACHABLE, a host without docker SDX_BACKEND_UNSUPPORTED", async () => {
    const down = fakeConnection((c) => (c.argv[1] === "run" ? fail(125, "docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n") : c.line.startsWith("docker container inspect") ? fail(1, "Cannot connect") : undefined), fail(69, ""));
    const e = await rejection(createDockerHost(down).run(fullSpec));
    expect(e.code).toBe("SDX_BACKEND_UNREACHABLE");
    expect(e.message).toContain("host web-1 (10.0.0.1)");
    expect(e.hint).toContain("systemctl start docker");

    const none = fakeConnection((c) => (c.argv[0] === "docker" ? fail(127, "sh: 1: docker: not found\n") : undefined), fail(127, ""));
    const u = await rejection(createDockerHost(none).info());
    expect(u.code).toBe("SDX_BACKEND_UNSUPPORTED");
    expect(u.message).toContain("docker info");
    expect(u.details).toMatchObject({ stderr: "sh: 1: docker: not found" });
  });

  it("a container created but unable to start (exit 127, ID printed) is rejected with Docker's reason and removed again", async () => {
    const id = "ae3130a70f0425b3fd0ff67bbc945cc1518146fbda609c14c011703ea9e1d140";
    const conn = fakeConnection((c) => {
      if (c.argv[1] === "run") return fail(127, `docker: Error response from daemon: failed to create shim task: OCI runtime create failed${RUN_HELP}`, `${id}\n`);
      if (c.line === `docker container inspect -- ${id}`) return ok(JSON.stringify((JSON.parse(INSPECT) as { Id: string }[]).filter((x) => x.Id === id)));
      if (c.line === `docker rm -f -v -- ${id}`) return ok(`${id}\n`);
      return undefined;
    });
    const e = await rejection(createDockerHost(conn).run(fullSpec));
    expect(e.code).toBe("SDX_BACKEND_REJECTED");
    // Docker's own reason from State.Error, not the CLI's shortened line.
    expect(e.message).toContain('could not start: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/nonexistent"');
    expect(e.details).toMatchObject({ containerError: expect.stringContaining("no such file or directory") });
    expect(conn.calls.map((c) => c.line)).toContain(`docker rm -f -v -- ${id}`);
  });

  it("returns the new container's ID", async () => {
    const id = "f".repeat(64);
    const conn = fakeConnection((c) => (c.argv[1] === "run" ? ok(`${id}\n`) : undefined));
    await expect(createDockerHost(conn).run(fullSpec)).resolves.toBe(id);
    expect(conn.calls[0]!.argv).toEqual(dockerRunArgv(fullSpec));
  });

  it("moves env values into a private temp env file sent on stdin when the command line would pass the limit; multi-line values stay on argv", async () => {
    const env: Record<string, string> = { MULTI: "line1\nline2" };
    for (let i = 0; i < 200; i++) env[`VAR_${i}`] = "x".repeat(400);
    const spec = { ...fullSpec, env };
    expect(argvBytes(dockerRunArgv(spec))).toBeGreaterThan(RUN_ARGV_LIMIT);
    const conn = fakeConnection((c) => (c.kind === "script" && c.program?.includes("mktemp") ? ok(`${"e".repeat(64)}\n`) : undefined));
    await expect(createDockerHost(conn).run(spec)).resolves.toBe("e".repeat(64));
    const call = conn.calls[0]!;
    expect(argvBytes(call.argv)).toBeLessThan(RUN_ARGV_LIMIT);
    expect(call.argv).toContain("MULTI=line1\nline2");
    expect(call.argv.join(" ")).not.toContain("VAR_0=");
    expect(call.stdin).toContain(`VAR_0=${"x".repeat(400)}\nVAR_1=`);
    expect(call.argv.slice(0, 3)).toEqual(["-d", "--name", spec.name]);
    expect(call.argv.at(-1)).toBe("server.js");
  });

  it("a failed pull is SDX_BACKEND_ERROR with the host, the subcommand and docker's last line", async () => {
    const conn = fakeConnection((c) => (c.argv[1] === "pull" ? fail(1, "Error response from daemon: manifest for r/x@sha256:00 not found: manifest unknown: manifest unknown\n") : undefined));
    const e = await rejection(createDockerHost(conn).pull("r/x@sha256:00"));
    expect(e.code).toBe("SDX_BACKEND_ERROR");
    expect(e.message).toBe("docker pull on host web-1 (10.0.0.1) failed (exit 1): Error response from daemon: manifest for r/x@sha256:00 not found: manifest unknown: manifest unknown");
    expect(e.details).toMatchObject({ host: "web-1", address: "10.0.0.1", subcommand: "pull", exitCode: 1, image: "r/x@sha256:00" });
    expect(e.hint).toContain("docker login");
  });

  it("inspect of a missing container is undefined while the engine answers, and an error when it does not", async () => {
    const missing = (c: Call): ExecResult | undefined => (c.line.startsWith("docker container inspect") ? fail(1, "Error: No such object: x\n", "[]\n") : undefined);
    await expect(createDockerHost(fakeConnection(missing)).inspectContainer("x")).resolves.toBeUndefined();
    const e = await rejection(createDockerHost(fakeConnection(missing, fail(69, "Cannot connect to the Docker daemon\n"))).inspectContainer("x"));
    expect(e.code).toBe("SDX_BACKEND_UNREACHABLE");
  });

  it("stop and remove of a container that is gone succeed; a remove that fails on an existing container throws", async () => {
    const gone = fakeConnection((c) => (c.argv[1] === "stop" ? fail(1, "Error response from daemon: No such container: x\n") : c.line.startsWith("docker container inspect") ? fail(1, "", "[]") : undefined));
    await expect(createDockerHost(gone).stop("x", 10)).resolves.toBeUndefined();
    expect(gone.calls[0]!.line).toBe("docker stop -t 10 -- x");
    const stuck = fakeConnection((c) => (c.argv[1] === "rm" ? fail(1, "Error response from daemon: removal of container x is already in progress\n") : c.line.startsWith("docker container inspect") ? ok(INSPECT) : undefined));
    const e = await rejection(createDockerHost(stuck).remove("x"));
    expect(e.code).toBe("SDX_BACKEND_ERROR");
    expect(e.message).toContain("docker rm on host web-1 (10.0.0.1) failed");
  });

  it("lists containers by the app label and by exact names, then inspects them all at once", async () => {
    const ids = parseContainers(INSPECT).map((c) => c.id);
    const conn = fakeConnection((c) => {
      if (c.program?.startsWith("docker ps")) return ok(`${ids.slice(0, 3).join("\n")}\n${ids.slice(2).join("\n")}\n`);
      if (c.line.startsWith("docker container inspect")) return ok(INSPECT);
      return undefined;
    });
    const got = await createDockerHost(conn).listContainers("sdxd-fx", ["sdxd-fx-port", "web.1", "bad name"]);
    expect(got.map((c) => c.name).sort()).toEqual(["sdxd-fx-bad", "sdxd-fx-exit", "sdxd-fx-port", "sdxd-fx-unh", "sdxd-fx-web"]);
    expect(conn.calls[0]!.argv).toEqual(["label=sdx.dev/app=sdxd-fx", "--filter", "name=^/sdxd-fx-port$", "--filter", "name=^/web\\.1$"]);
    // Each ID once, in one inspect.
    expect(conn.calls[1]!.argv).toEqual(["docker", "container", "inspect", "--", ...ids]);
  });

  it("another holder of the lock (exit 75) is SDX_BACKEND_CONFLICT naming the app, the host and the holder", async () => {
    const conn = fakeConnection((c) => (c.program?.includes("flock") ? fail(75, "bob@ci-runner-7\n") : undefined));
    const e = await rejection(createDockerHost(conn).lock("/var/lib/sdx", "shop", "alice@laptop"));
    expect(e.code).toBe("SDX_BACKEND_CONFLICT");
    expect(e.fault).toBe("user");
    expect(e.message).toBe("another deploy of shop holds the lock on host web-1 (10.0.0.1) (bob@ci-runner-7)");
    expect(e.hint).toMatch(/wait/i);
    expect(conn.calls[0]!.argv).toEqual(["/var/lib/sdx/shop", "alice@laptop"]);
  });

  it("holds the lock until release ends the remote command's stdin", async () => {
    let ended = false;
    const conn: HostConnection = {
      host,
      exec: () => Promise.reject(new Error("unexpected")),
      script: (_p, _a, o = {}) => new Promise((resolve) => {
        const stdin = o.stdin as Readable;
        setTimeout(() => o.onStdout?.(Buffer.from("lock")), 5);
        setTimeout(() => o.onStdout?.(Buffer.from("ed\n")), 10);
        stdin.on("end", () => { ended = true; resolve(ok()); }).resume();
      }),
      close: () => undefined,
    };
    const release = await createDockerHost(conn).lock("/var/lib/sdx", "shop", "alice@laptop");
    expect(ended).toBe(false);
    await release();
    expect(ended).toBe(true);
  });

  it("writes each file through stdin, never on the command line, and refuses removals outside the directory without running anything", async () => {
    const conn = fakeConnection((c) => (c.program?.includes("mv -f") ? ok() : undefined));
    const d = createDockerHost(conn);
    await d.writeFiles([{ path: "/var/lib/sdx/shop/secrets/db", content: "s3cr3t-value", mode: 0o400 }]);
    expect(conn.calls[0]!.argv).toEqual(["/var/lib/sdx/shop/secrets/db", "400"]);
    expect(conn.calls[0]!.stdin).toBe("s3cr3t-value");
    expect(JSON.stringify(conn.calls[0]!.argv) + conn.calls[0]!.program).not.toContain("s3cr3t");

    const e = await rejection(d.removePaths(["/var/lib/sdx/shop/files", "/var/lib/sdx/shop/../other"], "/var/lib/sdx/shop"));
    expect(e.code).toBe("SDX_INTERNAL");
    expect(e.message).toContain("/var/lib/sdx/shop/../other");
    expect(conn.calls).toHaveLength(1);
  });

  it("load returns the IDs of untagged images and resolves tagged ones with docker image inspect", async () => {
    const id = "sha256:" + "1".repeat(64);
    const conn = fakeConnection((c) => {
      if (c.line === "docker load") return ok(`Loaded image: sdxd/x:1\nLoaded image ID: ${id}\n`);
      if (c.line === "docker image inspect -- sdxd/x:1") return ok(JSON.stringify([{ Id: "sha256:" + "2".repeat(64) }]));
      return undefined;
    });
    await expect(createDockerHost(conn).load(Readable.from([]))).resolves.toEqual([id, "sha256:" + "2".repeat(64)]);
  });

  it("refuses to remove a network that still has containers attached, as a conflict naming them", async () => {
    const conn = fakeConnection((c) => {
      if (c.line === "docker network rm shop") return fail(1, "Error response from daemon: error while removing network: network shop id 1 has active endpoints\n");
      if (c.line === "docker network inspect -- shop") return ok(JSON.stringify([{ Name: "shop", Containers: { abc: { Name: "stranger" } } }]));
      return undefined;
    });
    const e = await rejection(createDockerHost(conn).removeNetwork("shop"));
    expect(e.code).toBe("SDX_BACKEND_CONFLICT");
    expect(e.message).toContain("stranger");
    expect(e.message).toContain("host web-1 (10.0.0.1)");
  });
});
