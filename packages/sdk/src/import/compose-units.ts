/**
 * Compose's units (byte values and durations, see the Compose specification's
 * "Specifying byte values" / "Specifying durations") turned into what sdx.yaml accepts.
 */

const MIB = 2 ** 20;

/**
 * A Compose byte value → bytes. Compose (docker/go-units `RAMInBytes`) reads
 * every unit as binary: `512m`, `512M`, `512MB` and `512MiB` all mean 512 × 2²⁰.
 * A bare number is bytes.
 */
export function parseComposeBytes(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) && v >= 0 ? v : undefined;
  if (typeof v !== "string") return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp])?i?b?\s*$/i.exec(v);
  if (!m) return undefined;
  const power = m[2] === undefined ? 0 : "kmgtp".indexOf(m[2].toLowerCase()) + 1;
  return Math.round(Number(m[1]) * 1024 ** power);
}

/** Bytes → an sdx memory quantity (`512Mi`, `1Gi`), rounded up to whole MiB; `exact` is false when rounding happened. */
export function bytesToSdxMemory(bytes: number): { value: string; exact: boolean } {
  const mib = Math.max(1, Math.ceil(bytes / MIB));
  const value = mib % 1024 === 0 ? `${mib / 1024}Gi` : `${mib}Mi`;
  return { value, exact: bytes === mib * MIB };
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ns: 1e-9, us: 1e-6, "µs": 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** A Compose duration (`1m30s`, `500ms`, `1h5m30s20ms`) → seconds. A bare number is read as seconds. */
export function parseComposeDuration(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) && v >= 0 ? v : undefined;
  if (typeof v !== "string") return undefined;
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  return pos === s.length && s !== "" ? total : undefined;
}

/**
 * Seconds → an sdx duration in whole seconds, at least `min`. Keeps the
 * source spelling when sdx reads it to the same whole number (`1m30s`).
 */
export function toSdxDuration(source: unknown, seconds: number, min: number): { value: string; exact: boolean } {
  const whole = Math.max(min, Math.ceil(seconds - 1e-9));
  const exact = whole === seconds;
  if (exact && typeof source === "string" && /^(\d+(h|m|s))+$/.test(source.trim())) return { value: source.trim(), exact };
  return { value: formatSeconds(whole), exact };
}

/** Whole seconds as `90s`, `5m` or `2h`. */
export function formatSeconds(s: number): string {
  if (s > 0 && s % 3600 === 0) return `${s / 3600}h`;
  if (s > 0 && s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

/** Compose `cpus` (`"0.5"`, `1.5`) → cores as a number, or undefined when it is not a positive number. */
export function parseComposeCpus(v: unknown): number | undefined {
  const n = typeof v === "number" ? v : typeof v === "string" && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}
