/**
 * Child-process entry point of {@link loadConfigModule}: `node config-module-loader.js <file>`.
 * Imports the config module, evaluates its default export (a value, a promise,
 * or a function returning either) and writes one JSON frame to fd 3:
 * `{"ok":true,"value":…}` or `{"ok":false,"kind":…,"message":…}`. Then it
 * exits at once, so timers or handles the module left open cannot keep it
 * alive. Only erasable TypeScript here: under the test runner it runs as a
 * `.ts` file through Node's type stripping; published, it runs from dist/.
 */
import { Socket } from "node:net";
import { pathToFileURL } from "node:url";

/** One frame on fd 3, the only thing the parent trusts. */
export type ConfigModuleFrame =
  | { readonly ok: true; readonly value?: unknown }
  | { readonly ok: false; readonly kind: "throw" | "exit" | "serialize"; readonly message: string; readonly code?: number };

class ExitCalled extends Error {
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(`process.exit(${exitCode}) was called`);
    this.exitCode = exitCode;
  }
}

const exit = process.exit.bind(process);
// A module that calls process.exit() while loading fails loudly instead of passing as an empty success.
process.exit = ((code?: number | string | null) => {
  throw new ExitCalled(Number(code ?? 0));
}) as typeof process.exit;

const channel = new Socket({ fd: 3, readable: false, writable: true });
let sent = false;

function send(frame: ConfigModuleFrame): void {
  if (sent) return;
  sent = true;
  let text: string;
  try {
    text = JSON.stringify(frame, plainData);
  } catch (e) {
    text = JSON.stringify({ ok: false, kind: "serialize", message: messageOf(e) } satisfies ConfigModuleFrame);
  }
  channel.end(text, () => exit(0));
}

/** JSON.stringify replacer that refuses what JSON would drop or mangle silently. */
function plainData(_key: string, v: unknown): unknown {
  if (typeof v === "function" || typeof v === "symbol" || typeof v === "bigint") throw new TypeError(`a ${typeof v} is not plain data`);
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const proto = Object.getPrototypeOf(v) as object | null;
    if (proto !== Object.prototype && proto !== null) throw new TypeError(`a ${(v as { constructor?: { name?: string } }).constructor?.name ?? "class instance"} is not plain data`);
  }
  return v;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function failed(e: unknown): void {
  if (e instanceof ExitCalled) send({ ok: false, kind: "exit", message: e.message, code: e.exitCode });
  else send({ ok: false, kind: "throw", message: messageOf(e) });
}

// A throw from a timer or a rejected promise nobody handles fails the load, whenever it happens before the result is sent.
process.on("uncaughtException", failed);
process.on("unhandledRejection", failed);

async function main(file: string): Promise<void> {
  try {
    const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
    // A function is called; a promise (or what the function returns) is awaited.
    const value: unknown = await (typeof mod.default === "function" ? (mod.default as () => unknown)() : mod.default);
    // Let timers already due and rejections already made surface before calling it a success.
    await new Promise((r) => setTimeout(r, 0));
    await new Promise((r) => setImmediate(r));
    send(value === undefined ? { ok: true } : { ok: true, value });
  } catch (e) {
    failed(e);
  }
}

await main(process.argv[2] ?? "");
