import { SdxError } from "../errors/sdx-error.js";
import type { BackendProvider } from "../di/tokens.js";
import { didYouMean } from "../util/did-you-mean.js";
import type { Backend } from "./backend.js";

/**
 * Target kind → backend, loaded lazily. Rejects duplicate kinds instead of
 * letting the last registration silently win, and answers unknown kinds with
 * did-you-mean.
 */
export class BackendRegistry {
  readonly #providers = new Map<string, BackendProvider>();
  readonly #loaded = new Map<string, Promise<Backend>>();

  constructor(providers: readonly BackendProvider[]) {
    for (const p of providers) {
      if (this.#providers.has(p.kind)) {
        throw new SdxError("SDX_DUPLICATE_BACKEND", `two backends are registered for target kind "${p.kind}"`, {
          fault: "user", hint: "Register each kind once; to replace a built-in backend, build a container without it (createSdxContainer({ builtins: false }) from @sdx/sdk/di)." });
      }
      this.#providers.set(p.kind, p);
    }
  }

  /** Every registered kind, in registration order. */
  kinds(): string[] {
    return [...this.#providers.keys()];
  }

  has(kind: string): boolean {
    return this.#providers.has(kind);
  }

  /** The backend for `kind`, loading its module on first use. */
  get(kind: string): Promise<Backend> {
    const p = this.#providers.get(kind);
    if (!p) {
      const s = didYouMean(kind, this.kinds());
      return Promise.reject(new SdxError("SDX_UNKNOWN_BACKEND", `no backend is registered for target kind "${kind}"`, {
        fault: "user", hint: s.length ? `Did you mean "${s[0]}"?` : `Registered kinds: ${this.kinds().join(", ") || "none"}.` }));
    }
    let b = this.#loaded.get(kind);
    if (!b) {
      b = Promise.resolve()
        .then(() => p.load())
        .then((backend) => {
          if (backend.kind !== kind) throw new SdxError("SDX_INTERNAL", `backend registered for "${kind}" says it serves "${backend.kind}"`);
          return backend;
        })
        .catch((e: unknown) => {
          this.#loaded.delete(kind);
          throw e;
        });
      this.#loaded.set(kind, b);
    }
    return b;
  }
}
