/**
 * Unit parsing for the authoring format. Each parser returns a number or an
 * error message; callers turn the message into a diagnostic with a path.
 */

/** A parse outcome: the value, or why it failed. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string; readonly hint: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (message: string, hint: string): Parsed<never> => ({ ok: false, message, hint });

/** CPU as cores (`0.5`, `"2"`) or millicores (`"500m"`) → millicores. */
export function parseCpu(input: string | number): Parsed<number> {
  const hint = 'Write cores like 0.5 or 2, or millicores like "500m".';
  if (typeof input === "number") {
    if (!Number.isFinite(input) || input <= 0) return fail(`cpu must be a positive number of cores, got ${input}`, hint);
    return ok(Math.round(input * 1000));
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(m?)\s*$/.exec(input);
  if (!m) return fail(`cannot read cpu "${input}"`, hint);
  const n = Number(m[1]);
  const millis = m[2] === "m" ? n : n * 1000;
  if (millis <= 0) return fail(`cpu must be positive, got "${input}"`, hint);
  return ok(Math.round(millis));
}

const MEMORY_UNITS: Readonly<Record<string, number>> = {
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40,
  K: 1e3, k: 1e3, M: 1e6, G: 1e9, T: 1e12,
  KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40,
  KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12,
};

/**
 * Memory or disk size with a unit (`512Mi`, `1Gi`, `1G`, `256MB`) → MiB, rounded up.
 * A bare number is refused: "512" could mean bytes or megabytes and a wrong
 * guess is an outage.
 */
export function parseMemory(input: string | number): Parsed<number> {
  const hint = 'Add a unit: "512Mi", "1Gi" (binary) or "1G" (decimal).';
  if (typeof input === "number") return fail(`memory "${input}" has no unit`, hint);
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)?\s*$/.exec(input);
  if (!m) return fail(`cannot read memory "${input}"`, hint);
  if (m[2] === undefined) return fail(`memory "${input}" has no unit`, hint);
  const factor = MEMORY_UNITS[m[2]];
  if (factor === undefined) return fail(`unknown memory unit "${m[2]}" in "${input}"`, `Use one of Ki, Mi, Gi, Ti, K, M, G, T.`);
  const bytes = Number(m[1]) * factor;
  if (bytes <= 0) return fail(`memory must be positive, got "${input}"`, hint);
  return ok(Math.ceil(bytes / 2 ** 20 - 1e-9));
}

/**
 * A quantity of data (`2Gi`, `500Mi`, `10G`) → GiB, to the MiB above, for
 * `usage:` hints; `what` names it in messages. Zero is allowed, with or
 * without a unit (it cannot be misread); any other bare number is refused, as
 * for memory.
 */
export function parseSizeGiB(input: string | number, what: string): Parsed<number> {
  const hint = `Write a size like "2Gi" or "500Mi" (binary) or "10G" (decimal), or 0.`;
  if (typeof input === "number") {
    if (input === 0) return ok(0);
    if (!Number.isFinite(input)) return fail(`cannot read ${what} ${input}`, hint);
    if (input < 0) return fail(`${what} must not be negative, got ${input}`, hint);
    return fail(`${what} "${input}" has no unit`, hint);
  }
  const m = /^\s*(-?)(\d+(?:\.\d+)?)\s*([A-Za-z]+)?\s*$/.exec(input);
  if (!m) return fail(`cannot read ${what} "${input}"`, hint);
  if (m[1] === "-" && Number(m[2]) !== 0) return fail(`${what} must not be negative, got "${input}"`, hint);
  if (Number(m[2]) === 0) return ok(0);
  if (m[3] === undefined) return fail(`${what} "${input}" has no unit`, hint);
  const factor = MEMORY_UNITS[m[3]];
  if (factor === undefined) return fail(`unknown unit "${m[3]}" in ${what} "${input}"`, "Use one of Ki, Mi, Gi, Ti, K, M, G, T.");
  return ok(Math.ceil((Number(m[2]) * factor) / 2 ** 20 - 1e-9) / 1024);
}

/** Duration (`10s`, `1m30s`, `500ms`, `2h`, or a number of seconds) → seconds. */
export function parseDuration(input: string | number): Parsed<number> {
  const hint = 'Write a duration like "10s", "1m30s" or "2m".';
  if (typeof input === "number") {
    if (!Number.isFinite(input) || input < 0) return fail(`duration must not be negative, got ${input}`, hint);
    return ok(input);
  }
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  const s = input.trim();
  if (s === "") return fail("duration is empty", hint);
  let total = 0;
  let pos = 0;
  re.lastIndex = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const n = Number(m[1]);
    total += m[2] === "ms" ? n / 1000 : m[2] === "s" ? n : m[2] === "m" ? n * 60 : n * 3600;
    pos = re.lastIndex;
  }
  if (pos !== s.length) return fail(`cannot read duration "${input}"`, hint);
  return ok(total);
}

/** Formats millicores the way people write them: `250m`, `1`, `1.5`. */
export function formatCpu(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : millis < 1000 ? `${millis}m` : String(millis / 1000);
}

/** Formats MiB as `512Mi` or `2Gi`. */
export function formatMemory(mib: number): string {
  return mib % 1024 === 0 ? `${mib / 1024}Gi` : `${mib}Mi`;
}
