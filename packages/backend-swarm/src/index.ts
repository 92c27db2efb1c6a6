// @sdx/backend-swarm: Docker Swarm backend (dockerode).
import type { Backend } from "@sdx/sdk";
import { SwarmBackend } from "./swarm-backend.js";

export { SwarmBackend, type SwarmBackendOptions } from "./swarm-backend.js";
export { swarmTargetSpec, type SwarmTarget } from "./swarm-target.js";
export { renderSwarm, SWARM_KINDS, type SwarmKind, type SwarmSettings } from "./render/render-swarm.js";
export { checkSwarm } from "./check-swarm.js";
export { healthTest } from "./render/health-test.js";
export { adaptSpecToApi } from "./render/adapt-spec-to-api.js";
export { serviceName, networkName, contentName, LABEL_STACK_NAMESPACE } from "./render/swarm-names.js";
export { comparableService } from "./plan/comparable-spec.js";
export { assessRollout, type RolloutState, type RolloutObservation } from "./apply/rollout-state.js";
// connectSwarm (and dockerode behind it) is at "@sdx/backend-swarm/client", so that
// loading the backend for pricing or an offline plan does not load it.
export type { ConnectSwarmOptions } from "./client/dockerode-swarm-client.js";
export { applySwarm, type ApplySwarmSeams } from "./apply/apply-swarm.js";
export { BASE_API_VERSION, MAX_API_VERSION } from "./client/api-version.js";
export type { SwarmClient } from "./client/swarm-client.js";

/** The entry point the sdk's container loads. */
export function createBackend(): Backend {
  return new SwarmBackend();
}
