// @sdx/backend-hosts/module: the hosts backend as an inversify module. A
// subpath of its own, so that importing the backend never loads inversify.
import { backendModule, type ContainerModule } from "@sdx/sdk/di";
import { HostsBackend, type HostsBackendOptions } from "./hosts-backend.js";

/**
 * Registers the hosts backend (kind `hosts`) with these options, for
 * containers built by hand: `createSdxContainer({ builtins: false, modules: [hostsModule()] })`.
 * The default container already registers it: a second registration of the
 * kind is rejected.
 */
export function hostsModule(options: HostsBackendOptions = {}): ContainerModule {
  return backendModule(new HostsBackend(options));
}
