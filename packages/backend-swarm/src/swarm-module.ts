// @sdx/backend-swarm/module: the Swarm backend as an inversify module. A
// subpath of its own, so that importing the backend never loads inversify.
import { backendModule, type ContainerModule } from "@sdx/sdk/di";
import { SwarmBackend, type SwarmBackendOptions } from "./swarm-backend.js";

/**
 * Registers the Docker Swarm backend (kind `swarm`) with these options, for
 * containers built by hand: `createSdxContainer({ builtins: false, modules: [swarmModule()] })`.
 * The default container already registers it: a second registration of the
 * kind is rejected.
 */
export function swarmModule(options: SwarmBackendOptions = {}): ContainerModule {
  return backendModule(new SwarmBackend(options));
}
