// @sdx/backend-ecs/module: the ECS backend as an inversify module. A subpath
// of its own, so that importing the backend never loads inversify.
import { backendModule, type ContainerModule } from "@sdx/sdk/di";
import { EcsBackend, type EcsBackendOptions } from "./ecs-backend.js";

/**
 * Registers the AWS ECS/Fargate backend (kind `ecs`) with these options, for
 * containers built by hand: `createSdxContainer({ builtins: false, modules: [ecsModule()] })`.
 * The default container already registers it: a second registration of the
 * kind is rejected.
 */
export function ecsModule(options: EcsBackendOptions = {}): ContainerModule {
  return backendModule(new EcsBackend(options));
}
