import { SdxError } from "../errors/sdx-error.js";
import type { BackendProvider } from "../di/tokens.js";
import { didYouMean } from "../util/did-you-mean.js";
import { reservedTargetSettings } from "../model/app-schema.js";
import type { Backend, TargetKindSpec } from "./backend.js";

/**
 * Target kind → backend, loaded lazily. Rejects duplicate kinds instead of
 * letting the last registration silently win, and answers unknown kinds with
 * did-you-mean.
 */
export class BackendRegistry {
  readonly #providers = new Map<string, BackendProvider>();
  readonly #loaded = new Map<string, Promise<Backend>>();
  #targetKinds: Promise<ReadonlyMap<string, TargetKindSpec>> | undefined;

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
          checkTargetKind(kind, backend.target);
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

  /**
   * Every registered kind's target spec, by kind in registration order: what
   * validation, path resolution and `sdx schema` dispatch through. Loads each
   * provider's light `loadTarget` (else its backend) once; a failure is
   * retried on the next call.
   */
  targetKinds(): Promise<ReadonlyMap<string, TargetKindSpec>> {
    this.#targetKinds ??= Promise.all([...this.#providers.values()].map(async (p) => {
      const spec = p.loadTarget ? await p.loadTarget() : (await this.get(p.kind)).target;
      checkTargetKind(p.kind, spec);
      return [p.kind, spec] as const;
    })).then((entries) => new Map(entries) as ReadonlyMap<string, TargetKindSpec>).catch((e: unknown) => {
      this.#targetKinds = undefined;
      throw e;
    });
    return this.#targetKinds;
  }
}

/** A backend's target spec must exist, serve the kind it is registered for, and leave the common fields to the sdk. */
function checkTargetKind(kind: string, spec: TargetKindSpec | undefined): void {
  const hint = "This is a defect in the backend package: report it to its authors.";
  if (!spec || typeof spec.normalize !== "function" || !spec.settings) {
    throw new SdxError("SDX_INTERNAL", `the backend for target kind "${kind}" declares no target spec (Backend.target)`, { hint });
  }
  if (spec.kind !== kind) throw new SdxError("SDX_INTERNAL", `the target spec registered for "${kind}" is for kind "${spec.kind}"`, { hint });
  const reserved = reservedTargetSettings(spec);
  if (reserved.length > 0) {
    throw new SdxError("SDX_INTERNAL", `the "${kind}" target spec declares ${reserved.map((k) => `"${k}"`).join(", ")}, which every target has`, { hint });
  }
}
