/**
 * Files an app names are read only from inside its directory, only when they
 * are regular files, and only up to the target backend's size limit — through
 * loadApp, validate(), plan() and the CLI, as a user would meet them.
 */
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { tmpdir } from "node:os";
import { backendModule, createSdxContainer } from "@sdx/sdk/di";
import { diagnosticsOf, loadApp, plan, validate, type Diagnostic } from "@sdx/sdk";
import { runCli } from "../src/cli/run-cli.js";
import { createMemoryBackend } from "./memory-backend.js";
import { builtinTargetKinds } from "@sdx/sdk/testing";

// The built-in backends' target kinds: validation knows no kind by itself.
const targetKinds = await builtinTargetKinds();

const OUTSIDE_CONTENT = "HOST-ONLY-CONTENT-7f3a";
const IMAGE = "nginx:1.27@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

/** <root>/app holds sdx.yaml (written per test) and page.html; <root>/outside holds a file the app must not read. */
function workspace() {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "sdx-files-")));
  const app = join(root, "app");
  const outside = join(root, "outside");
  mkdirSync(app);
  mkdirSync(outside);
  writeFileSync(join(app, "page.html"), "<h1>hi</h1>\n");
  writeFileSync(join(outside, "secret.txt"), OUTSIDE_CONTENT);
  const write = (yaml: string): string => {
    const file = join(app, "sdx.yaml");
    writeFileSync(file, yaml);
    return file;
  };
  return { root, app, outside, write };
}

/** An app with one service `web` whose first file or secret comes from `from`. */
const withFile = (from: string, target = "{ kind: swarm }") =>
  `name: shop\nservices:\n  web:\n    image: ${IMAGE}\n    files:\n      - { path: /www/x, fromFile: ${JSON.stringify(from)} }\ntargets:\n  t: ${target}\n`;
const withSecret = (from: string, target = "{ kind: swarm }") =>
  `name: shop\nservices:\n  web:\n    image: ${IMAGE}\n    secrets:\n      key: { fromFile: ${JSON.stringify(from)}, asFile: /run/secrets/key }\ntargets:\n  t: ${target}\n`;

const errorsOf = (ds: readonly Diagnostic[]) => ds.filter((d) => d.severity === "error").map((d) => ({ code: d.code, path: d.path }));

describe("loadApp: files and secrets stay inside the app directory", () => {
  it("refuses ../ traversal, an absolute path, a symlink and a symlinked directory leading outside, with the path of the key", async () => {
    const { app, outside, write } = workspace();
    symlinkSync(join(outside, "secret.txt"), join(app, "link.txt"));
    symlinkSync(outside, join(app, "shared"));
    for (const from of ["../outside/secret.txt", "../../../../../../../../../../etc/passwd", join(outside, "secret.txt"), "link.txt", "shared/secret.txt"]) {
      const r = await loadApp(write(withFile(from)), { targetKinds, env: {} });
      expect(r.app, from).toBeUndefined();
      expect(errorsOf(r.diagnostics), from).toEqual([{ code: "SDX_PATH_OUTSIDE_APP", path: "services.web.files[0].fromFile" }]);
      const d = r.diagnostics[0]!;
      expect(d.message).toContain(JSON.stringify(from));
      expect(d.hint).toContain("--allow-outside");
      expect(d.line, "located in the app file").toBe(6);
      expect(JSON.stringify(r)).not.toContain(OUTSIDE_CONTENT);
    }
  });

  it("refuses the same for secrets.*.fromFile, at validate time, without reading the secret", async () => {
    const { write } = workspace();
    const r = await loadApp(write(withSecret("../outside/secret.txt")), { targetKinds, env: {} });
    expect(errorsOf(r.diagnostics)).toEqual([{ code: "SDX_PATH_OUTSIDE_APP", path: "services.web.secrets.key.fromFile" }]);
    expect(JSON.stringify(r)).not.toContain(OUTSIDE_CONTENT);
  });

  it("refuses /proc/self/environ, /dev/zero and a FIFO as file or secret, at once", { timeout: 10_000 }, async () => {
    const { app, write } = workspace();
    execFileSync("mkfifo", [join(app, "pipe")]);
    const started = Date.now();
    for (const from of ["/proc/self/environ", "/dev/zero", "pipe"]) {
      const f = await loadApp(write(withFile(from)), { targetKinds, env: {}, allowOutside: ["/proc", "/dev"] });
      expect(errorsOf(f.diagnostics), from).toEqual([{ code: "SDX_FILE_NOT_REGULAR", path: "services.web.files[0].fromFile" }]);
      const s = await loadApp(write(withSecret(from)), { targetKinds, env: {} });
      expect(errorsOf(s.diagnostics), from).toEqual([{ code: "SDX_FILE_NOT_REGULAR", path: "services.web.secrets.key.fromFile" }]);
    }
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("refuses NUL bytes and invalid UTF-8 in a config file", async () => {
    const { app, write } = workspace();
    writeFileSync(join(app, "bin.dat"), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0x01]));
    writeFileSync(join(app, "latin1.txt"), Buffer.from("caf\xe9", "latin1"));
    for (const from of ["bin.dat", "latin1.txt"]) {
      expect(errorsOf((await loadApp(write(withFile(from)), { targetKinds, env: {} })).diagnostics), from).toEqual([{ code: "SDX_INVALID_ENCODING", path: "services.web.files[0].fromFile" }]);
    }
  });

  it("reads from a directory the caller allowed, and only that one", async () => {
    const { root, write } = workspace();
    const r = await loadApp(write(withFile("../outside/secret.txt")), { targetKinds, env: {}, allowOutside: ["../outside"] });
    expect(r.diagnostics).toEqual([]);
    expect(r.app!.services[0]!.files[0]!.content).toBe(OUTSIDE_CONTENT);
    mkdirSync(join(root, "other"));
    writeFileSync(join(root, "other", "x"), "x");
    expect(errorsOf((await loadApp(write(withFile("../other/x")), { targetKinds, env: {}, allowOutside: ["../outside"] })).diagnostics)).toEqual([{ code: "SDX_PATH_OUTSIDE_APP", path: "services.web.files[0].fromFile" }]);
  });

  it("a Compose env_file outside the directory is not read into the app", async () => {
    const { app } = workspace();
    const file = join(app, "compose.yaml");
    writeFileSync(file, `services:\n  web:\n    image: ${IMAGE}\n    env_file: ../outside/secret.txt\n`);
    writeFileSync(join(app, "..", "outside", "secret.txt"), `LEAK=${OUTSIDE_CONTENT}\n`);
    const r = await loadApp(file, { targetKinds, env: {} });
    expect(JSON.stringify(r)).not.toContain(OUTSIDE_CONTENT);
  });

  it("refuses a FIFO and /dev/zero as the app file itself, without hanging", { timeout: 10_000 }, async () => {
    const { app } = workspace();
    execFileSync("mkfifo", [join(app, "sdx.yaml")]);
    await expect(loadApp(join(app, "sdx.yaml"), { targetKinds })).rejects.toMatchObject({ code: "SDX_FILE_NOT_REGULAR", fault: "user" });
    await expect(loadApp("/dev/zero", { targetKinds })).rejects.toMatchObject({ code: "SDX_FILE_NOT_REGULAR" });
    await expect(loadApp(join(app, "missing.yaml"), { targetKinds })).rejects.toMatchObject({ code: "SDX_LOAD", fault: "user" });
  });
});

/** A file of `n` bytes in the app directory. */
const sized = (dir: string, name: string, n: number): string => {
  writeFileSync(join(dir, name), "a".repeat(n));
  return name;
};

describe("backend size limits, at validate and plan time", () => {
  const planOffline = (file: string) => plan(file, { offline: true, estimate: false, env: {} });
  const planError = async (file: string) => {
    const e = await planOffline(file).then(() => undefined, (x: unknown) => x);
    expect(e, "plan should refuse").toBeDefined();
    return { code: (e as { code: string }).code, diagnostics: diagnosticsOf(e) };
  };

  it("Swarm: a file over 500 KiB is refused, naming the limit, the backend and the target; Kubernetes takes it", async () => {
    const { app, write } = workspace();
    const big = sized(app, "big.txt", 500 * 1024 + 1);
    const swarm = await planError(write(withFile(big)));
    expect(swarm.code).toBe("SDX_VALIDATION");
    expect(errorsOf(swarm.diagnostics)).toEqual([{ code: "SDX_FILE_TOO_LARGE", path: "services.web.files[0].fromFile" }]);
    expect(swarm.diagnostics[0]!.message).toMatch(/500 KiB/);
    expect(swarm.diagnostics[0]!.message).toContain("Docker Swarm");
    expect(swarm.diagnostics[0]!.message).toContain("a Swarm config");
    expect(swarm.diagnostics[0]).toMatchObject({ target: "t" });
    const v = await validate(write(withFile(big)), { env: {} });
    expect(v.app).toBeUndefined();
    expect(errorsOf(v.diagnostics)).toEqual([{ code: "SDX_FILE_TOO_LARGE", path: "services.web.files[0].fromFile" }]);
    // Exactly the limit is fine.
    writeFileSync(join(app, "big.txt"), "a".repeat(500 * 1024));
    expect((await planOffline(write(withFile(big)))).plans[0]!.plan.actions.some((a) => a.resource.kind === "config")).toBe(true);
    writeFileSync(join(app, "big.txt"), "a".repeat(600 * 1024));
    const k8s = await planOffline(write(withFile(big, "{ kind: kubernetes }")));
    expect(k8s.plans[0]!.plan.actions.some((a) => a.resource.kind === "ConfigMap")).toBe(true);
  });

  it("Kubernetes: the files of one service together over 1 MiB are refused at services.<svc>.files", async () => {
    const { app, write } = workspace();
    sized(app, "a.txt", 600 * 1024);
    sized(app, "b.txt", 600 * 1024);
    const yaml = `name: shop\nservices:\n  web:\n    image: ${IMAGE}\n    files:\n      - { path: /a, fromFile: a.txt }\n      - { path: /b, fromFile: b.txt }\ntargets:\n  t: { kind: kubernetes }\n`;
    const r = await planError(write(yaml));
    expect(errorsOf(r.diagnostics)).toEqual([{ code: "SDX_FILE_TOO_LARGE", path: "services.web.files" }]);
    expect(r.diagnostics[0]!.message).toContain("1 MiB");
    expect(r.diagnostics[0]!.message).toContain("one ConfigMap");
  });

  it("any file over the 1 MiB read cap is refused whatever the target", async () => {
    const { app, write } = workspace();
    const huge = sized(app, "huge.txt", 1024 * 1024 + 1);
    const r = await loadApp(write(withFile(huge, "{ kind: kubernetes }")), { targetKinds, env: {} });
    expect(errorsOf(r.diagnostics)).toEqual([{ code: "SDX_FILE_TOO_LARGE", path: "services.web.files[0].fromFile" }]);
    expect(r.diagnostics[0]!.message).toContain("1 MiB");
  });

  it("ECS: a secret over 4 KB (SSM Standard tier) and files over 40 KiB per task definition are refused", async () => {
    const { app, write } = workspace();
    const ecs = "{ kind: ecs, region: us-east-1, cluster: c }";
    const key = sized(app, "key.pem", 4097);
    const s = await planError(write(withSecret(key, ecs)));
    expect(errorsOf(s.diagnostics)).toEqual([{ code: "SDX_FILE_TOO_LARGE", path: "services.web.secrets.key.fromFile" }]);
    expect(s.diagnostics[0]!.message).toContain("4 KiB");
    expect(s.diagnostics[0]!.message).toContain("SSM");
    expect(errorsOf((await validate(write(withSecret(key, ecs)), { env: {} })).diagnostics)).toEqual([{ code: "SDX_FILE_TOO_LARGE", path: "services.web.secrets.key.fromFile" }]);
    const f = await planError(write(withFile(sized(app, "f.txt", 40 * 1024 + 1), ecs)));
    expect(errorsOf(f.diagnostics)).toEqual([{ code: "SDX_FILE_TOO_LARGE", path: "services.web.files" }]);
    expect(f.diagnostics[0]!.message).toContain("task definition");
    writeFileSync(join(app, "key.pem"), "k".repeat(4096));
    await expect(planOffline(write(withSecret(key, ecs)))).resolves.toBeDefined();
  });

  it("a third-party backend's sizeLimits apply the same way", async () => {
    const { app, write } = workspace();
    const mem = createMemoryBackend();
    const backend = { ...mem, capabilities: { ...mem.capabilities, sizeLimits: { file: { bytes: 10, holder: "a memory cell" } } } };
    const container = createSdxContainer({ builtins: false, modules: [backendModule(backend)] });
    sized(app, "eleven.txt", 11);
    const file = write(withFile("eleven.txt", "{ kind: memory, bucket: b }"));
    const e = await plan(file, { container, offline: true, env: {} }).then(() => undefined, (x: unknown) => x);
    expect(diagnosticsOf(e)).toMatchObject([{ code: "SDX_FILE_TOO_LARGE", path: "services.web.files[0].fromFile", message: expect.stringContaining("a memory cell, which holds at most 10 bytes") }]);
  });
});

describe("sdx CLI", () => {
  const run = async (argv: string[], env: Record<string, string> = {}) => {
    let stdout = "";
    let stderr = "";
    const code = await runCli(argv, { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, interactive: false, confirm: async () => false, env });
    return { code, stdout, stderr };
  };

  it("validate and plan exit 2 with the code and the path; nothing of the outside file is printed", async () => {
    const { write } = workspace();
    const file = write(withFile("../outside/secret.txt"));
    for (const argv of [["validate", file], ["plan", file, "--offline"], ["plan", file, "--offline", "--json"], ["validate", file, "--json"]]) {
      const r = await run(argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stdout + r.stderr, argv.join(" ")).toContain("SDX_PATH_OUTSIDE_APP");
      expect(r.stdout + r.stderr, argv.join(" ")).toContain("services.web.files[0].fromFile");
      expect(r.stdout + r.stderr).not.toContain(OUTSIDE_CONTENT);
    }
  });

  it("--allow-outside (repeatable) and SDX_ALLOW_OUTSIDE opt out; an empty one is a usage error", async () => {
    const { outside, write } = workspace();
    const file = write(withFile("../outside/secret.txt"));
    expect((await run(["validate", file, "--allow-outside", outside])).code).toBe(0);
    expect((await run(["validate", file, "--allow-outside", "/nonexistent", "--allow-outside", outside])).code).toBe(0);
    expect((await run(["validate", file], { SDX_ALLOW_OUTSIDE: `/nonexistent${delimiter}${outside}` })).code).toBe(0);
    const p = await run(["plan", file, "--offline", "--json", "--allow-outside", outside]);
    expect(p.code).toBe(0);
    const empty = await run(["validate", file, "--allow-outside", ""]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("--allow-outside");
  });

  it("a FIFO, /dev/zero or a missing path as app file: exit 2 at once", { timeout: 10_000 }, async () => {
    const { app } = workspace();
    execFileSync("mkfifo", [join(app, "fifo.yaml")]);
    for (const [path, code] of [[join(app, "fifo.yaml"), "SDX_FILE_NOT_REGULAR"], ["/dev/zero", "SDX_FILE_NOT_REGULAR"], [join(app, "nope.yaml"), "SDX_LOAD"]] as const) {
      for (const cmd of ["validate", "plan", "import"]) {
        const r = await run(cmd === "plan" ? [cmd, path, "--offline"] : [cmd, path]);
        expect(r.code, `${cmd} ${path}`).toBe(2);
        expect(r.stderr, `${cmd} ${path}`).toContain(code);
      }
    }
  });

  it("import refuses a Compose secret file outside the project and writes nothing", async () => {
    const { app } = workspace();
    const compose = join(app, "compose.yaml");
    writeFileSync(compose, `services:\n  web:\n    image: ${IMAGE}\n    secrets: [key]\nsecrets:\n  key: { file: ../outside/secret.txt }\n`);
    const r = await run(["import", compose]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("SDX_PATH_OUTSIDE_APP");
    expect(r.stderr).toMatch(/services\.web\.secrets\.[\w-]+\.fromFile/);
    expect(r.stdout + r.stderr).not.toContain(OUTSIDE_CONTENT);
    expect(existsSync(join(app, "sdx.yaml"))).toBe(false);
  });

  it("plan exits 2 for a file over the target backend's limit, naming it", async () => {
    const { app, write } = workspace();
    const r = await run(["plan", write(withFile(sized(app, "big.txt", 600 * 1024))), "--offline"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("SDX_FILE_TOO_LARGE");
    expect(r.stderr).toContain("services.web.files[0].fromFile");
    expect(r.stderr).toContain("500 KiB");
  });
});
