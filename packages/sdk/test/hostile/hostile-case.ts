/**
 * The bad-input corpus under test/fixtures/hostile/<case>/: each case holds its
 * input files, a `case.json` (what it is, how to set it up) and an
 * `expect.json` (per command: exit code, error code, path). This module loads
 * cases, materialises them in a temporary directory (symlinks, FIFOs, sockets
 * and large files that git cannot or should not store are made here), runs the
 * real CLI on them (in-process, or in a child process for inputs that could
 * hang, exit or exhaust memory) and checks what the user sees.
 */
import { execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "../../src/cli/run-cli.js";

/** Root of the corpus. */
export const HOSTILE_DIR = fileURLToPath(new URL("../fixtures/hostile/", import.meta.url));

/** One step that prepares a case's directory at test time. */
export type SetupStep =
  | { readonly symlink: string; readonly to: string }
  | { readonly fifo: string }
  | { readonly dir: string }
  | { readonly socket: string }
  | { readonly file: string; readonly bytes: number }
  /** A file kept in git under another name, e.g. a config module that must not type-check with the test sources. */
  | { readonly copy: string; readonly to: string }
  | { readonly generate: string; readonly kind: GeneratorKind; readonly count?: number; readonly bytes?: number; readonly depth?: number; readonly target?: string };

/** Inputs too large or too repetitive to keep in git, generated at test time. */
export type GeneratorKind = "labels" | "env" | "services" | "compose-services" | "deep" | "huge-image" | "huge-name" | "padded" | "inline-content";

/** `case.json`. */
export interface CaseSpec {
  readonly description: string;
  readonly group: string;
  /** The app file, relative to the case directory, or an absolute path such as /dev/zero. @default the first of sdx.yaml, sdx.json, sdx.config.ts, compose.yaml, score.yaml */
  readonly app?: string;
  readonly setup?: readonly SetupStep[];
  /** The whole environment the CLI sees (nothing is inherited). @default {} */
  readonly env?: Readonly<Record<string, string>>;
  /** Run in a child process: the input could hang, exit or exhaust the process. @default false */
  readonly isolate?: boolean;
  /** Strings that must appear in no output and no written file (e.g. the content of a host file). @default [] */
  readonly forbid?: readonly string[];
}

/** What one command must do. `code` may list alternatives where more than one agreed code is right. */
export interface Outcome {
  readonly exit: number;
  readonly code?: string | readonly string[];
  readonly path?: string;
  readonly pathPrefix?: string | readonly string[];
  /** A case-insensitive pattern the matching diagnostic's message (or the output) must match. */
  readonly message?: string;
  /** Text that must appear in the human-readable output (e.g. the flag named in a usage error). */
  readonly mention?: string;
  /** The command line, with {app} and {dir} placeholders. @default per command (validate, plan --offline, import) */
  readonly argv?: readonly string[];
  /** With exit 0: the plan's revision must equal that of this other file of the case (the same app written another way). */
  readonly sameRevisionAs?: string;
}

/** An expectation: one outcome, or any of several (where the issue allows "a clear error or the right value"). */
export type Expectation = Outcome | { readonly anyOf: readonly Outcome[] };

/** A loaded case. */
export interface HostileCase {
  readonly name: string;
  readonly spec: CaseSpec;
  readonly expect: Readonly<Record<string, Expectation>>;
}

/** Every case of the corpus, sorted by name. */
export function loadCases(): HostileCase[] {
  return readdirSync(HOSTILE_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => ({
      name,
      spec: JSON.parse(readFileSync(join(HOSTILE_DIR, name, "case.json"), "utf8")) as CaseSpec,
      expect: JSON.parse(readFileSync(join(HOSTILE_DIR, name, "expect.json"), "utf8")) as Record<string, Expectation>,
    }));
}

const APP_CANDIDATES = ["sdx.yaml", "sdx.json", "sdx.config.ts", "compose.yaml", "score.yaml"];

/** A case copied to a fresh temporary directory and set up. */
export interface Materialized {
  readonly dir: string;
  readonly app: string;
  readonly cleanup: () => Promise<void>;
}

/** Copies a case to a temporary directory (outside the repository, so `../..` leaves it) and runs its setup steps. */
export async function materialize(c: HostileCase, root: string): Promise<Materialized> {
  const dir = join(root, c.name);
  mkdirSync(dir, { recursive: true });
  cpSync(join(HOSTILE_DIR, c.name), dir, { recursive: true, filter: (src) => !/[\\/](case|expect)\.json$/.test(src) });
  const servers: Server[] = [];
  for (const step of c.spec.setup ?? []) {
    if ("symlink" in step) symlinkSync(step.to, join(dir, step.symlink));
    else if ("fifo" in step) execFileSync("mkfifo", [join(dir, step.fifo)]);
    else if ("dir" in step) mkdirSync(join(dir, step.dir), { recursive: true });
    else if ("socket" in step) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => server.once("error", reject).listen(join(dir, step.socket), resolve));
      servers.push(server);
    } else if ("file" in step) writeFileSync(join(dir, step.file), Buffer.alloc(step.bytes, "a"));
    else if ("copy" in step) cpSync(join(dir, step.copy), join(dir, step.to));
    else writeFileSync(join(dir, step.generate), generate(step));
  }
  const app = c.spec.app === undefined ? join(dir, APP_CANDIDATES.find((n) => existsSync(join(dir, n))) ?? "sdx.yaml")
    : c.spec.app.startsWith("/") ? c.spec.app : join(dir, c.spec.app);
  return {
    dir, app,
    cleanup: async () => {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}

const TARGET = "targets:\n  k8s: { kind: kubernetes, namespace: hostile }\n";

function generate(step: Extract<SetupStep, { generate: string }>): string {
  const n = step.count ?? 0;
  const lines = (f: (i: number) => string): string => Array.from({ length: n }, (_, i) => f(i)).join("\n");
  switch (step.kind) {
    case "labels":
      return `name: hostile\nlabels:\n${lines((i) => `  key-${i}: value-${i}`)}\nservices:\n  web:\n    image: nginx:1.27\n${TARGET}`;
    case "env":
      return `name: hostile\nservices:\n  web:\n    image: nginx:1.27\n    env:\n${lines((i) => `      VAR_${i}: value-${i}`)}\n${TARGET}`;
    case "services":
      return `name: hostile\nservices:\n${lines((i) => `  s${i}:\n    image: nginx:1.27\n    replicas: 2\n    ports: [8080]`)}\n${TARGET}`;
    case "compose-services":
      return `services:\n${lines((i) => `  s${i}:\n    image: nginx:1.27\n    environment:\n      LEVEL: info\n    ports: ["8080"]`)}\n`;
    case "deep": {
      const d = step.depth ?? 0;
      return `name: hostile\nservices:\n  web:\n    image: nginx:1.27\n    labels:\n      deep: ${"[".repeat(d)}x${"]".repeat(d)}\n${TARGET}`;
    }
    case "huge-image":
      return `name: hostile\nservices:\n  web:\n    image: "${"a:".repeat((step.bytes ?? 0) / 2)}!"\n${TARGET}`;
    case "huge-name":
      return `name: ${"a".repeat(step.bytes ?? 0)}\nservices:\n  web:\n    image: nginx:1.27\n${TARGET}`;
    case "padded":
      return `name: hostile\nservices:\n  web:\n    image: nginx:1.27\n${TARGET}${`# ${"padding ".repeat(12)}\n`.repeat(Math.ceil((step.bytes ?? 0) / 100))}`;
    case "inline-content": {
      const target = step.target === "swarm" ? "targets:\n  swarm: { kind: swarm }\n" : TARGET;
      return `name: hostile\nservices:\n  web:\n    image: nginx:1.27\n    files:\n      - path: /etc/app/big.txt\n        content: "${"a".repeat(step.bytes ?? 0)}"\n${target}`;
    }
    default: {
      const never: never = step.kind;
      throw new Error(`unknown generator ${String(never)}`);
    }
  }
}

/** What one CLI run produced. */
export interface RunResult {
  readonly exit: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time of the command itself (not the child's Node start-up). */
  readonly ms: number;
  /**
   * CPU time of the process running the command, over the same span. The time
   * bound is on CPU so that a loaded machine does not fail a case; a hang that
   * uses no CPU is caught by the wall-time bound.
   */
  readonly cpuMs: number;
  /** In-process: growth of the V8 heap, sampled while the command ran. Child: peak resident set. */
  readonly memoryMiB: number;
  readonly memoryKind: "heap-growth" | "peak-rss";
  /** Set when the child had to be killed. */
  readonly killed?: boolean;
}

const BASE_ENV = { SDX_RESOLVE_IMAGES: "0" };

/** Runs the CLI in this process, as run-cli.spec.ts does, measuring time and heap growth. */
export async function runInProcess(argv: readonly string[], env: Readonly<Record<string, string>>): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  const before = process.memoryUsage().heapUsed;
  let peak = before;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().heapUsed); }, 20);
  const started = performance.now();
  const startedCpu = process.cpuUsage();
  let exit: number;
  try {
    exit = await runCli(argv, {
      stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; },
      interactive: false, confirm: async () => false, env: { ...BASE_ENV, ...env },
    });
  } finally {
    clearInterval(sampler);
  }
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(startedCpu);
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  return { exit, stdout, stderr, ms, cpuMs: (cpu.user + cpu.system) / 1000, memoryMiB: (peak - before) / 2 ** 20, memoryKind: "heap-growth" };
}

const CHILD = fileURLToPath(new URL("./run-cli-child.mjs", import.meta.url));
/**
 * The sources use TypeScript that type stripping alone cannot run (parameter
 * properties), so the child transforms types, as vitest does. The heap cap makes
 * a runaway allocation fail fast instead of swapping the machine.
 */
const CHILD_NODE_FLAGS = ["--conditions=sdx-source", "--experimental-transform-types", "--disable-warning=ExperimentalWarning", "--max-old-space-size=1024"];

/** Runs the CLI in a child Node (the same binary, sources via the sdx-source condition), killed after `killAfterMs`. */
export function runInChild(argv: readonly string[], env: Readonly<Record<string, string>>, killAfterMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [...CHILD_NODE_FLAGS, CHILD, ...argv], {
      // The compile cache keeps the children's start-up (type transforms) cheap across cases.
      env: { ...BASE_ENV, ...env, NODE_COMPILE_CACHE: join(tmpdir(), "sdx-hostile-node-cache") }, stdio: ["ignore", "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let metrics = "";
    let killed = false;
    child.stdout!.setEncoding("utf8").on("data", (d: string) => { stdout += d; });
    child.stderr!.setEncoding("utf8").on("data", (d: string) => { stderr += d; });
    (child.stdio[3] as NodeJS.ReadableStream).setEncoding("utf8");
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (d: string) => { metrics += d; });
    const timer = setTimeout(() => { killed = true; child.kill("SIGKILL"); }, killAfterMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      let m: { ms?: number; cpuMs?: number; maxRssKiB?: number } = {};
      try {
        m = JSON.parse(metrics) as typeof m;
      } catch {
        // Killed, or crashed before exit handlers ran.
      }
      resolve({
        exit: code ?? (signal === "SIGKILL" ? 137 : 128), stdout, stderr,
        ms: m.ms ?? performance.now() - started, cpuMs: m.cpuMs ?? performance.now() - started, memoryMiB: (m.maxRssKiB ?? 0) / 1024, memoryKind: "peak-rss",
        ...(killed ? { killed } : {}),
      });
    });
  });
}

/** Command lines per command label; JSON mode appends --json. */
export function argvFor(label: string, outcome: Outcome, app: string, dir: string, mode: "json" | "text"): string[] {
  const fill = (a: readonly string[]): string[] => a.map((s) => s.replaceAll("{app}", app).replaceAll("{dir}", dir));
  if (outcome.argv) return fill(mode === "json" ? [...outcome.argv, "--json"] : outcome.argv);
  switch (label) {
    case "validate":
      return fill(mode === "json" ? ["validate", "{app}", "--json"] : ["validate", "{app}"]);
    case "plan":
      return fill(mode === "json" ? ["plan", "{app}", "--offline", "--json"] : ["plan", "{app}", "--offline"]);
    case "import":
      return fill(mode === "json" ? ["import", "{app}", "--json"] : ["import", "{app}", "-o", "{dir}/imported-text.sdx.yaml"]);
    default:
      throw new Error(`command "${label}" needs an argv in expect.json`);
  }
}

/** A code and path found in `--json` output: diagnostics, check diagnostics and errors (with their carried diagnostics). */
export interface Finding {
  readonly code: string;
  readonly path?: string;
  readonly message?: string;
}

/** Every error-severity `{ code, path }` in a JSON document. */
export function findingsIn(json: unknown): Finding[] {
  const out: Finding[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    if (v === null || typeof v !== "object") return;
    const o = v as Record<string, unknown>;
    if (typeof o.code === "string" && /^SDX_/.test(o.code) && (o.severity === undefined || o.severity === "error")) {
      out.push({ code: o.code, ...(typeof o.path === "string" ? { path: o.path } : {}), ...(typeof o.message === "string" ? { message: o.message } : {}) });
    }
    for (const x of Object.values(o)) walk(x);
  };
  walk(json);
  return out;
}

/** Parses `--json` stdout; undefined when empty or not JSON. */
export function parseJson(stdout: string): unknown {
  if (stdout.trim() === "") return undefined;
  try {
    return JSON.parse(stdout) as unknown;
  } catch {
    return undefined;
  }
}

const codesOf = (o: Outcome): readonly string[] => (o.code === undefined ? [] : typeof o.code === "string" ? [o.code] : o.code);
const prefixesOf = (o: Outcome): readonly string[] => (o.pathPrefix === undefined ? [] : typeof o.pathPrefix === "string" ? [o.pathPrefix] : o.pathPrefix);

function pathMatches(o: Outcome, path: string | undefined): boolean {
  if (o.path !== undefined) return path === o.path;
  const prefixes = prefixesOf(o);
  return prefixes.length === 0 || (path !== undefined && prefixes.some((p) => path === p || path.startsWith(p)));
}

/** Why a JSON-mode and a text-mode run do not meet an outcome; empty when they do. */
export function mismatches(o: Outcome, json: RunResult, text: RunResult | undefined): string[] {
  const problems: string[] = [];
  if (json.exit !== o.exit) problems.push(`--json: exit ${json.exit}, expected ${o.exit}`);
  if (text && text.exit !== o.exit) problems.push(`text: exit ${text.exit}, expected ${o.exit}`);
  const parsed = parseJson(json.stdout);
  const findings = findingsIn(parsed);
  const codes = codesOf(o);
  const wantsPath = o.path !== undefined || prefixesOf(o).length > 0;
  if (codes.length > 0 || wantsPath) {
    const matching = findings.filter((f) => (codes.length === 0 || codes.includes(f.code)) && pathMatches(o, f.path));
    const allText = `${json.stdout}\n${json.stderr}\n${text?.stdout ?? ""}\n${text?.stderr ?? ""}`;
    // Usage errors are printed before any JSON exists: then the text must carry the code.
    const inText = findings.length === 0 && codes.some((c) => allText.includes(c)) && (!wantsPath || [o.path, ...prefixesOf(o)].some((p) => p !== undefined && allText.includes(p)));
    if (matching.length === 0 && !inText) {
      problems.push(`expected ${codes.length ? codes.join(" | ") : "an error"}${o.path !== undefined ? ` at ${o.path}` : prefixesOf(o).length ? ` under ${prefixesOf(o).join(" | ")}` : ""}; got ${findings.length ? findings.map((f) => `${f.code}${f.path ? ` at ${f.path}` : ""}`).join(", ") : `no JSON findings (stdout ${JSON.stringify(json.stdout.slice(0, 200))}, stderr ${JSON.stringify(json.stderr.slice(0, 300))})`}`);
    }
    if (o.message !== undefined && matching.length > 0 && !matching.some((f) => new RegExp(o.message!, "i").test(f.message ?? ""))) {
      problems.push(`expected the message to match /${o.message}/i; got ${matching.map((f) => JSON.stringify(f.message)).join(", ")}`);
    }
    if (text && codes.length > 0 && !codes.some((c) => `${text.stdout}${text.stderr}`.includes(c))) {
      problems.push(`text output does not name ${codes.join(" | ")}: ${JSON.stringify(`${text.stdout}${text.stderr}`.slice(0, 300))}`);
    }
  }
  if (o.mention !== undefined) {
    const human = text ? `${text.stdout}${text.stderr}` : `${json.stdout}${json.stderr}`;
    if (!human.includes(o.mention)) problems.push(`output does not mention ${o.mention}: ${JSON.stringify(human.slice(0, 300))}`);
  }
  return problems;
}

/** Problems every run must be free of, whatever the expectation. */
export function invariantViolations(r: RunResult, mode: "json" | "text", limits: { cpuMs: number; wallMs: number; memoryMiB: number }, forbid: readonly string[]): string[] {
  const problems: string[] = [];
  const all = `${r.stdout}\n${r.stderr}`;
  if (r.killed) problems.push(`killed after hanging (${Math.round(r.ms)} ms)`);
  if (/^\s+at (?:async )?(?:\S+ \()?(?:file:|node:|\/|<anonymous>)/m.test(all)) problems.push("a stack trace is printed");
  if (all.includes("SDX_INTERNAL")) problems.push("reported as SDX_INTERNAL");
  if (!r.killed && r.cpuMs > limits.cpuMs) problems.push(`used ${Math.round(r.cpuMs)} ms of CPU (limit ${limits.cpuMs} ms)`);
  if (!r.killed && r.ms > limits.wallMs) problems.push(`took ${Math.round(r.ms)} ms (wall-time limit ${limits.wallMs} ms)`);
  if (r.memoryMiB > limits.memoryMiB) problems.push(`${r.memoryKind} ${Math.round(r.memoryMiB)} MiB (limit ${limits.memoryMiB} MiB)`);
  if (mode === "json") {
    if (r.exit === 0 && parseJson(r.stdout) === undefined) problems.push(`exit 0 without a JSON document on stdout: ${JSON.stringify(r.stdout.slice(0, 200))}`);
    else if (r.stdout.trim() !== "" && parseJson(r.stdout) === undefined) problems.push(`--json stdout is not JSON: ${JSON.stringify(r.stdout.slice(0, 200))}`);
  }
  for (const f of forbid) if (all.includes(f)) problems.push(`output contains the forbidden text ${JSON.stringify(f)}`);
  return problems;
}

/** Files written into a case directory by the run (e.g. an imported sdx.yaml), for the forbidden-text scan. */
export function writtenFiles(dir: string, before: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && !before.has(p)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Every regular file under a directory now. */
export function filesNow(dir: string): Set<string> {
  return new Set(writtenFiles(dir, new Set()));
}

/** A temporary root for materialised cases, outside the repository. */
export function makeRoot(): { root: string; remove: () => void } {
  const root = mkdtempSync(join(tmpdir(), "sdx-hostile-"));
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

