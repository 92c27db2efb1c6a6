// @sdx/backend-ecs: deploys sdx apps to AWS ECS on Fargate.
import type { Backend } from "@sdx/sdk";
import { EcsBackend } from "./ecs-backend.js";

export { EcsBackend, type EcsBackendOptions } from "./ecs-backend.js";
export { ecsTargetSpec, type EcsTarget } from "./ecs-target.js";
// The AWS client port (and the AWS SDK behind it) is at "@sdx/backend-ecs/aws", loaded only when AWS is contacted.
export type { AwsClients, AwsEcsPortOptions } from "./client/aws-ecs-port.js";
export type { EcsPort, EcsTags, ParameterInfo, PutParameterInput } from "./client/ecs-port.js";
export type { AwsCredentials } from "./client/aws-credentials.js";
export { renderEcs, renderTaskDefinition, renderService, renderScaling, healthCommand, capacityStrategy, deploymentConfiguration, isSecretArn, isStoredBySdx, renderParameters, secretValueFrom, INIT_IMAGE, INIT_CONTAINER } from "./render/render-ecs.js";
export { checkEcs } from "./check-ecs.js";
export { planEcs, sizeDiagnostics } from "./plan/plan-ecs.js";
export { applyEcs } from "./apply/apply-ecs.js";
export { waitForRollouts, stoppedReasons, systemClock, type Clock, type RolloutWatch, type WaitForRolloutsOptions } from "./apply/wait-rollouts.js";
export { mapEcsError, isRetryableAwsError } from "./client/map-ecs-error.js";
export {
  FARGATE_CPU_TIERS, fargateSize, billedFargateSize, isValidFargateSize, nearestFargateSize, roundUpFargate, formatFargateSize,
  type FargateCpuTier, type FargateSize, type FargateTaskSize,
} from "./render/fargate-size.js";
export { familyName, logGroupName, ownershipTags, parameterName, parameterPath, TAG_DIGEST, SECRET_DIGEST_LABEL } from "./render/ecs-names.js";

/** The backend the sdk's default container loads for `kind: ecs` targets. */
export function createBackend(): Backend {
  return new EcsBackend();
}
