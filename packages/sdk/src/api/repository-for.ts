import { SdxError } from "../errors/sdx-error.js";
import type { App, BuildSpec, Service, Target } from "../model/app.js";

/**
 * Where a service's image is pushed: its own `build.repository` (or the
 * repository of its `image`), else `<registry>/<app>-<service>` with the
 * target's registry, else the app's.
 */
export function repositoryFor(app: App, svc: Service, spec: BuildSpec, target: Target | undefined): string {
  if (spec.repository) return spec.repository;
  const registry = target?.registry ?? app.build?.registry;
  if (registry === undefined) {
    throw new SdxError("SDX_BUILD_NO_REGISTRY", `service "${svc.name}" is built, but nothing says where to push its image`, {
      fault: "user", path: `services.${svc.name}.build.repository`,
      hint: "Set `build: { registry: ghcr.io/acme }` at the top of the app, `registry:` on the target, or `build.repository` on the service.",
    });
  }
  return `${registry}/${app.name}-${svc.name}`;
}
