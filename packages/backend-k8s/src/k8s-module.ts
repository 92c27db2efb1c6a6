// @sdx/backend-k8s/module: the Kubernetes backend as an inversify module. A
// subpath of its own, so that importing the backend never loads inversify.
import { backendModule, type ContainerModule } from "@sdx/sdk/di";
import { K8sBackend, type K8sBackendOptions } from "./k8s-backend.js";

/**
 * Registers the Kubernetes backend (kind `kubernetes`) with these options, for
 * containers built by hand: `createSdxContainer({ builtins: false, modules: [k8sModule()] })`.
 * The default container already registers it: a second registration of the
 * kind is rejected.
 */
export function k8sModule(options: K8sBackendOptions = {}): ContainerModule {
  return backendModule(new K8sBackend(options));
}
