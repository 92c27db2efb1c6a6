import { effectiveRollout, type Service } from "@sdx/sdk";

/**
 * A Deployment's `spec.strategy`. `Recreate` for `strategy: recreate`, and for
 * one replica with a persistent volume unless the app asked for a surge
 * ({@link effectiveRollout}): a second pod would share the data directory, and
 * on another node it could not even mount the ReadWriteOnce claim. Pure.
 */
export function deploymentStrategy(svc: Service): Record<string, unknown> {
  const rollout = effectiveRollout(svc);
  return rollout.strategy === "recreate"
    ? { type: "Recreate" }
    : { type: "RollingUpdate", rollingUpdate: { maxSurge: rollout.maxSurge, maxUnavailable: rollout.maxUnavailable } };
}
