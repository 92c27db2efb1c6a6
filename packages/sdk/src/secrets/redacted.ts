import { inspect } from "node:util";

const SHOWN = "[redacted]";

/**
 * A secret value that refuses to be printed: JSON, string conversion and
 * `util.inspect` all show `[redacted]`. Only {@link Redacted.reveal} gives the
 * value, and only backend clients call it, right before sending.
 */
export class Redacted {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The secret itself. Call only at the point of sending it to a backend. */
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return SHOWN;
  }
  toString(): string {
    return SHOWN;
  }
  [inspect.custom](): string {
    return SHOWN;
  }
}

/** True for a {@link Redacted} value. */
export function isRedacted(v: unknown): v is Redacted {
  return v instanceof Redacted;
}

/** A deep copy of `v` with every {@link Redacted} replaced by its value, for the wire only. */
export function revealDeep<T>(v: T): T {
  if (v instanceof Redacted) return v.reveal() as T;
  if (Array.isArray(v)) return v.map((x) => revealDeep(x)) as T;
  if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = revealDeep(x);
    return out as T;
  }
  return v;
}
