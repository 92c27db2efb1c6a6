import { spawn } from "node:child_process";
import { SdxError, throwIfAborted } from "../errors/sdx-error.js";

/** How npm is started: a program and leading arguments, e.g. `["npm"]` or `[process.execPath, "/path/npm-cli.js"]`. */
export type NpmCommand = string | readonly string[];

/** Options for {@link runNpm}. */
export interface RunNpmOptions {
  /** @default "npm" (found on PATH) */
  readonly command?: NpmCommand;
  readonly args: readonly string[];
  readonly cwd: string;
  /** Environment of npm. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
  /** Error code on failure, e.g. `SDX_BUILD_DEPENDENCIES`. */
  readonly code: string;
  /** What was being done, for the message, e.g. "npm ci". */
  readonly what: string;
  /** What to do next when npm fails on the user's input. */
  readonly hint: string;
}

/** What npm printed. */
export interface NpmOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/** Most of npm's output kept for an error: enough for its own summary and log path. */
const TAIL_BYTES = 8 * 1024;
const STDOUT_BYTES = 4 * 1024 * 1024;

/**
 * npm error codes that mean the network or the registry failed rather than the
 * app's package.json or lockfile (npm prints them in `--json` mode as `error.code`).
 */
const BACKEND_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH", "EPROTO", "E429", "E500", "E502", "E503", "E504"]);

/**
 * npm settings a surrounding `npm run`/`npm test` exports that would point the
 * child at the wrong project or change what it installs.
 */
const INHERITED_NPM = /^npm_config_(?:local_prefix|prefix|global|global_prefix|workspaces?|include_workspace_root|omit|include|production|dry_run|package_lock_only|global_style|install_strategy|legacy_bundling|json|ignore_scripts|os|cpu|libc)$/i;

/** npm's environment: the caller's, without settings inherited from an enclosing npm run. */
export function npmEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !INHERITED_NPM.test(k)) out[k] = v;
  out["npm_config_update_notifier"] = "false";
  return out;
}

/** Masks credentials npm may echo (URLs with user info, `_authToken=`, `Authorization` values). */
export function redactNpmOutput(text: string): string {
  return text
    .replace(/(\/\/)[^/\s:@]+:[^/\s@]+@/g, "$1***@")
    .replace(/(_authToken|_auth|_password|token)(\s*[=:]\s*)[^\s"',]+/gi, "$1$2***")
    .replace(/(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, "$1 ***");
}

function tail(text: string, bytes = TAIL_BYTES): string {
  return text.length <= bytes ? text : `…${text.slice(text.length - bytes)}`;
}

/** The `error.code` npm prints in `--json` mode, when there is one. */
function npmErrorCode(stdout: string): string | undefined {
  try {
    const j = JSON.parse(stdout) as { error?: { code?: unknown } };
    return typeof j.error?.code === "string" ? j.error.code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs npm and resolves with its output; rejects with `options.code` (fault
 * `backend` for network and registry failures, `user` otherwise) carrying the
 * tail of npm's stderr, credentials masked, or with `SDX_ABORTED` when
 * `signal` fires (npm is then killed).
 */
export function runNpm(options: RunNpmOptions): Promise<NpmOutput> {
  throwIfAborted(options.signal);
  const argv = typeof options.command === "string" ? [options.command] : [...(options.command ?? ["npm"])];
  const [cmd, ...pre] = argv;
  if (cmd === undefined) throw new SdxError("SDX_USAGE", "npmCommand is empty", { fault: "user", hint: 'Pass the npm program, e.g. "npm".' });
  return new Promise<NpmOutput>((resolvePromise, reject) => {
    const child = spawn(cmd, [...pre, ...options.args], {
      cwd: options.cwd, env: npmEnv(options.env ?? process.env), stdio: ["ignore", "pipe", "pipe"],
      ...(options.signal ? { signal: options.signal } : {}), killSignal: "SIGTERM",
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => {
      if (stdout.length < STDOUT_BYTES) stdout += c;
    });
    child.stderr.setEncoding("utf8").on("data", (c: string) => {
      stderr = tail(stderr + c, TAIL_BYTES * 2);
    });
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (options.signal?.aborted === true || e.name === "AbortError") {
        reject(new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user", cause: options.signal?.reason }));
        return;
      }
      reject(new SdxError(options.code, `${options.what}: could not start ${JSON.stringify(cmd)} (${e.code ?? "error"})`, {
        fault: "user", cause: e, hint: "Install npm (it comes with Node.js) and make sure it is on PATH, or pass npmCommand.", details: { command: cmd },
      }));
    });
    child.on("close", (exitCode, signal) => {
      if (options.signal?.aborted === true) {
        reject(new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user", cause: options.signal.reason }));
        return;
      }
      if (exitCode === 0) {
        resolvePromise({ stdout, stderr });
        return;
      }
      const npmCode = npmErrorCode(stdout);
      const shown = redactNpmOutput(tail(stderr.trim())).trim();
      const lines = shown.split("\n").filter((l) => l.trim() !== "");
      const brief = lines.slice(-12).join("\n");
      reject(new SdxError(options.code, `${options.what} failed (${signal ? `killed by ${signal}` : `exit ${exitCode}`}${npmCode ? `, ${npmCode}` : ""})${brief ? `:\n${brief}` : ""}`, {
        fault: npmCode !== undefined && BACKEND_CODES.has(npmCode) ? "backend" : "user",
        hint: options.hint,
        details: { exitCode, ...(signal ? { signal } : {}), ...(npmCode ? { npmCode } : {}), stderr: shown },
      }));
    });
  });
}
