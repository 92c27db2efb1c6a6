import { spawn } from "node:child_process";
import { statSync } from "node:fs";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { SdxError } from "../errors/sdx-error.js";
import { LIMITS } from "../model/limits.js";
import type { ConfigModuleFrame } from "./config-module-loader.js";

/** Options for {@link loadConfigModule}. */
export interface LoadConfigModuleOptions {
  /** How long the module may take to produce the app. @default env SDX_CONFIG_TIMEOUT_MS, else LIMITS.configTimeoutMs (10 s) */
  readonly timeoutMs?: number;
  /** Read for `SDX_CONFIG_TIMEOUT_MS`. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Stops the child process; the promise then rejects with `SDX_ABORTED`. */
  readonly signal?: AbortSignal;
}

// Beside this file: config-module-loader.ts under the test runner (Node strips the types), .js once built.
const LOADER = fileURLToPath(new URL(`./config-module-loader${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

const HINT = "The module must `export default defineApp({...})` (or a function returning the app); type-only TypeScript is supported (no enums or namespaces).";

/**
 * Evaluates an `sdx.config.ts` / `.js` / `.mjs` module in a child Node process
 * (the same Node binary) and returns its default export as plain data. A child,
 * not an `import()`: a module that calls `process.exit()`, throws late, never
 * settles or hogs memory would otherwise end or hang the caller. The child's
 * stdout and stderr go to this process's stderr, so output such as
 * `validate --json` stays clean.
 *
 * @throws SdxError `SDX_LOAD` (fault `user`, with the file in the message and a
 * hint) when the module throws, exits early or with a non-zero code, calls
 * `process.exit`, takes longer than the timeout, exports something that is not
 * JSON data, or exports more than `LIMITS.appFileBytes` of it; `SDX_ABORTED`
 * when `signal` aborts; `SDX_USAGE` for a bad `SDX_CONFIG_TIMEOUT_MS`.
 */
export async function loadConfigModule(file: string, options: LoadConfigModuleOptions = {}): Promise<unknown> {
  // The CLI reads `plugins:` before it loads the app: one evaluation of an unchanged
  // module serves both, so the user's code (and its side effects) runs once.
  const st = statSync(file, { throwIfNoEntry: false });
  const key = st ? `${file}\0${st.ino}\0${st.size}\0${st.mtimeMs}\0${st.ctimeMs}` : undefined;
  const known = key === undefined ? undefined : evaluated.get(key);
  if (known !== undefined) return structuredClone(known);
  const doc = await evaluate(file, options);
  if (key !== undefined) evaluated.set(key, doc);
  return structuredClone(doc);
}

/** Successful evaluations in this process, by file identity and modification time. */
const evaluated = new Map<string, unknown>();

async function evaluate(file: string, options: LoadConfigModuleOptions): Promise<unknown> {
  const timeoutMs = options.timeoutMs ?? configTimeout(options.env ?? process.env);
  const fail = (message: string, hint: string, cause?: unknown): SdxError =>
    new SdxError("SDX_LOAD", message, { fault: "user", hint, ...(cause === undefined ? {} : { cause }), details: { file } });
  if (options.signal?.aborted) throw aborted(file);

  return await new Promise<unknown>((resolvePromise, rejectPromise) => {
    const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", LOADER, file], {
      stdio: ["ignore", 2, 2, "pipe"],
      windowsHide: true,
    });
    const chunks: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    const finish = (err: SdxError | undefined, value?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      if (err) rejectPromise(err);
      else resolvePromise(value);
    };
    const timer = setTimeout(() => {
      finish(fail(`${file} did not produce the app within ${formatMs(timeoutMs)}`,
        `A config module must return the app promptly (no servers, no waiting on timers); if it really needs longer, set SDX_CONFIG_TIMEOUT_MS (now ${timeoutMs}).`));
    }, timeoutMs);
    const onAbort = (): void => finish(aborted(file));
    options.signal?.addEventListener("abort", onAbort, { once: true });

    const channel = child.stdio[3] as NodeJS.ReadableStream;
    channel.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > LIMITS.appFileBytes) {
        finish(fail(`${file} exported more than ${LIMITS.appFileBytes / 1024 / 1024} MiB of app data`, "An app is a few kilobytes; do not export generated bulk data."));
        return;
      }
      chunks.push(chunk);
    });
    channel.on("error", () => undefined); // the child's death is reported through "close"
    child.on("error", (e) => finish(fail(`cannot start Node to load ${file}`, "Check that the Node.js binary running sdx can be executed.", e)));
    child.on("close", (code, signal) => {
      if (settled) return;
      const frame = parseFrame(Buffer.concat(chunks).toString("utf8"));
      const how = signal ? `was killed by ${signal}` : `exited with code ${String(code)}`;
      if (frame?.ok === false) {
        switch (frame.kind) {
          case "exit":
            return finish(fail(`${file} called process.exit(${frame.code ?? 0}) while loading`, "A config module must not exit the process; export the app instead."));
          case "serialize":
            return finish(fail(`${file}: the exported app is not plain data (${frame.message})`, "Export strings, numbers, booleans, arrays and plain objects only: no functions, BigInts or cycles."));
          case "throw":
            return finish(fail(`cannot load ${file}: ${frame.message}`, HINT));
          default:
            return finish(fail(`cannot load ${file}`, HINT));
        }
      }
      if (!frame) return finish(fail(`${file} ${how} before producing the app`, `${HINT} It must not call process.exit() or crash; its output above may say why.`));
      // A late throw or exit after the result was written is still a failure.
      if (code !== 0 || signal) return finish(fail(`${file} ${how} after producing the app`, "Something in the module failed after loading (a timer or a rejected promise?); its output above may say why."));
      finish(undefined, frame.value);
    });
  });
}

function parseFrame(text: string): ConfigModuleFrame | undefined {
  if (text === "") return undefined;
  try {
    const f = JSON.parse(text) as unknown;
    return f !== null && typeof f === "object" && typeof (f as { ok?: unknown }).ok === "boolean" ? (f as ConfigModuleFrame) : undefined;
  } catch {
    return undefined;
  }
}

function configTimeout(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env.SDX_CONFIG_TIMEOUT_MS;
  if (raw === undefined || raw.trim() === "") return LIMITS.configTimeoutMs;
  const n = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(n) || n <= 0) {
    throw new SdxError("SDX_USAGE", `SDX_CONFIG_TIMEOUT_MS must be a positive whole number of milliseconds, got ${JSON.stringify(raw)}`, {
      fault: "user", hint: `Unset it for the default (${LIMITS.configTimeoutMs} ms) or set e.g. SDX_CONFIG_TIMEOUT_MS=30000.`,
    });
  }
  return n;
}

function aborted(file: string): SdxError {
  return new SdxError("SDX_ABORTED", `loading ${file} was aborted`, { fault: "user", hint: "Run the command again." });
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
