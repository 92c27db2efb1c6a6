import type { DockerHost, ObservedContainer } from "../client/docker-host.js";

/** Clock and poll period for waits, replaceable so tests need not sleep. */
export interface WaitSeams {
  /** @default Date.now */
  readonly now?: () => number;
  /** @default setTimeout-based */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** @default 1000 */
  readonly pollMs?: number;
  /** Seconds a container without a health check must run without restarting to count as up. @default 3 */
  readonly settleSeconds?: number;
}

/** How waiting for one container ended. */
export type WaitOutcome =
  | { readonly kind: "serving" }
  | { readonly kind: "failed"; readonly reason: string }
  | { readonly kind: "timed-out"; readonly reason: string }
  | { readonly kind: "aborted" };

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

/**
 * Waits until a container serves: healthy when it has a health check, else
 * running for `settleSeconds` without a restart. Fails at once when it exits,
 * turns unhealthy or restarts (a crash loop under `unless-stopped`), with the
 * exit code, the last health check output or the last log lines as reason.
 */
export async function waitServing(host: DockerHost, id: string, timeoutSeconds: number, seams: WaitSeams = {}, signal?: AbortSignal): Promise<WaitOutcome> {
  const now = seams.now ?? Date.now;
  const sleep = seams.sleep ?? defaultSleep;
  const poll = seams.pollMs ?? 1000;
  const settle = (seams.settleSeconds ?? 3) * 1000;
  const deadline = now() + timeoutSeconds * 1000;
  let runningSince: number | undefined;
  let last: ObservedContainer | undefined;
  for (;;) {
    if (signal?.aborted) return { kind: "aborted" };
    const c = await host.inspectContainer(id, signal);
    if (!c) return { kind: "failed", reason: `container ${id.slice(0, 12)} disappeared from host ${host.host.name}` };
    last = c;
    const failure = await failureOf(host, c, signal);
    if (failure) return { kind: "failed", reason: failure };
    if (c.state === "running") {
      if (c.health === "healthy") return { kind: "serving" };
      if (c.health === undefined) {
        runningSince ??= now();
        if (now() - runningSince >= settle) return { kind: "serving" };
      }
    } else runningSince = undefined;
    if (now() >= deadline) {
      return { kind: "timed-out", reason: `${c.name} on ${host.host.name} was still ${describe(last)} after ${timeoutSeconds}s` };
    }
    await sleep(poll, signal);
  }
}

function describe(c: ObservedContainer): string {
  return c.health ? `${c.state} (${c.health})` : c.state;
}

async function failureOf(host: DockerHost, c: ObservedContainer, signal?: AbortSignal): Promise<string | undefined> {
  const where = `${c.name} on ${host.host.name}`;
  if (c.error) return `${where} could not start: ${c.error}`;
  const exited = c.state === "exited" || c.state === "dead";
  if (exited || c.restartCount > 0) {
    const tail = (await host.logs(c.id, 5, signal).catch(() => "")).trim();
    const how = exited ? `exited with code ${c.exitCode}` : `restarted ${c.restartCount} time(s) (crash loop; last exit code ${c.exitCode})`;
    return `${where} ${how}${tail ? `; last output: ${tail.split("\n").slice(-3).join(" | ")}` : ""}`;
  }
  if (c.health === "unhealthy") {
    const out = c.healthLog.at(-1)?.trim();
    return `${where} is unhealthy: its health check failed${out ? ` (${out.slice(0, 200)})` : ""}`;
  }
  return undefined;
}
