import { SdxError, toSdxError } from "../errors/sdx-error.js";
import { emit, type EventListener } from "../events/sdx-event.js";
import { createRegistryClient } from "../image/registry-client.js";
import { defaultCredentialResolver } from "../image/registry-credentials.js";
import { registryOf } from "../image/resolve-image-digest.js";
import type { App, Service } from "../model/app.js";
import type { RegistryAccess } from "./build.js";

/** Options for {@link verifyImages}. */
export interface VerifyImagesOptions {
  readonly registry?: RegistryAccess;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly onEvent?: EventListener;
  readonly signal?: AbortSignal;
  /** Named in warnings. */
  readonly target?: string;
  /** Deadline for one image's check. @default 5000 */
  readonly timeoutMs?: number;
  /** Image references not to ask about (ones the caller is about to push). @default none */
  readonly skip?: ReadonlySet<string>;
}

/**
 * Asks each pinned image's registry whether the digest exists (a manifest
 * HEAD), before anything is changed: an orchestrator would otherwise accept
 * the object and fail later, pod by pod (KWOK never pulls at all). A registry
 * that answers "not found" refuses the deploy with `SDX_IMAGE_NOT_FOUND`
 * naming every missing image; one that cannot be reached or refuses access
 * only warns, since the nodes may have credentials or a mirror that sdx has not.
 */
export async function verifyImages(app: App, options: VerifyImagesOptions = {}): Promise<void> {
  const pinned = app.services.filter((s) => s.image.digest !== undefined && options.skip?.has(s.image.ref) !== true);
  if (pinned.length === 0) return;
  const client = createRegistryClient({
    ...(options.registry?.fetch ? { fetch: options.registry.fetch } : {}),
    ...(options.registry?.insecureHosts ? { insecureHosts: options.registry.insecureHosts } : {}),
    credentials: options.registry?.credentials ?? defaultCredentialResolver({ env: options.env ?? process.env }),
    requestTimeoutMs: options.timeoutMs ?? 5000,
    retries: 1,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const missing: Service[] = [];
  await Promise.all(pinned.map(async (s) => {
    const location = registryOf(s.image, options.registry?.insecureHosts ? { insecureHosts: options.registry.insecureHosts } : {});
    try {
      if ((await client.headManifest(location, s.image.digest!)) === undefined) missing.push(s);
    } catch (e) {
      const err = toSdxError(e, "SDX_REGISTRY_ERROR", "backend");
      if (err.code === "SDX_ABORTED") throw err;
      if (err.code === "SDX_IMAGE_NOT_FOUND") missing.push(s);
      else emit(options.onEvent, { kind: "log", ...(options.target ? { target: options.target } : {}), level: "warning", message: `could not check that ${s.image.ref} exists (${err.message}); deploying anyway` });
    }
  }));
  if (missing.length === 0) return;
  const first = missing[0]!;
  const list = missing.map((s) => `${s.name}: ${s.image.ref}`).join("; ");
  throw new SdxError("SDX_IMAGE_NOT_FOUND", `${missing.length === 1 ? "an image is" : `${missing.length} images are`} not in ${missing.length === 1 ? "its registry" : "their registries"}: ${list}; nothing was changed`, {
    fault: "user", path: `services.${first.name}.image`,
    hint: first.build !== undefined || first.env["SDX_IMAGE"] !== undefined ? "Run `sdx build` (or deploy again) to push it." : "Push the image, or correct the digest (it must be the manifest or index digest the registry reports).",
    details: { images: missing.map((s) => ({ service: s.name, image: s.image.ref })) },
  });
}
