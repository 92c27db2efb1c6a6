import { SdxError } from "../errors/sdx-error.js";
import type { App, BuildSpec, Service, Target } from "../model/app.js";

/**
 * The registry part of a built image's name when no registry is configured and
 * the target's backend delivers images itself: a name for hosts' image lists,
 * never contacted (`.local` is not a public domain).
 */
export const LOCAL_IMAGE_REGISTRY = "sdx.local";

/** Options for {@link repositoryFor}. */
export interface RepositoryForOptions {
  /** The target's backend delivers images itself: without a registry the name is `sdx.local/<app>-<service>`. @default false */
  readonly delivered?: boolean;
}

/**
 * Where a service's image is pushed: its own `build.repository` (or the
 * repository of its `image`), else `<registry>/<app>-<service>` with the
 * target's registry, else the app's; for a target that delivers images, else
 * `sdx.local/<app>-<service>`.
 */
export function repositoryFor(app: App, svc: Service, spec: BuildSpec, target: Target | undefined, options: RepositoryForOptions = {}): string {
  if (spec.repository) return spec.repository;
  const registry = target?.registry ?? app.build?.registry ?? (options.delivered ? LOCAL_IMAGE_REGISTRY : undefined);
  if (registry === undefined) {
    throw new SdxError("SDX_BUILD_NO_REGISTRY", `service "${svc.name}" is built, but nothing says where to push its image`, {
      fault: "user", path: `services.${svc.name}.build.repository`,
      hint: "Set `build: { registry: ghcr.io/acme }` at the top of the app, `registry:` on the target, or `build.repository` on the service.",
    });
  }
  return `${registry}/${app.name}-${svc.name}`;
}
