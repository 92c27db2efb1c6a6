import { SdxError, type App, type ChoosePolicy, type Service } from "@sdx/sdk";
import type { Arch } from "../catalog/price-catalog.js";

/** How one service's replicas split between on-demand and spot capacity. */
export interface ReplicaPlan {
  readonly service: string;
  readonly cpuMillis: number;
  readonly memoryMiB: number;
  readonly arch: Arch;
  readonly replicas: number;
  readonly onDemand: number;
  readonly spot: number;
  /** Ephemeral volumes per replica, in MiB. */
  readonly ephemeralMiB: number;
  /** Persistent volumes are not priced; noted in assumptions. */
  readonly persistentVolumes: number;
  /** The scale range when autoscaled. */
  readonly autoscale?: { readonly min: number; readonly max: number };
}

/** Options for {@link planReplicas}. */
export interface PlanReplicasOptions {
  /** The target offers spot capacity. */
  readonly spotAvailable: boolean;
  readonly policy?: Pick<ChoosePolicy, "allowSpot" | "minOnDemandShare">;
  /** Price autoscaled services at their minimum or maximum replicas. @default "min" */
  readonly at?: "min" | "max";
  /** Put every replica on on-demand capacity (the spot-fallback case). @default false */
  readonly allOnDemand?: boolean;
}

/**
 * Splits each service's replicas between on-demand and spot, from
 * `placement.spot` and `placement.minOnDemand`, the target's spot offer and the
 * policy: `never` → all on-demand; `prefer` → max(minOnDemand, ⌈share × replicas⌉)
 * on-demand and the rest on spot when spot is available and allowed;
 * `only` → all on spot (a policy that forbids spot rejects it later, in `choose`).
 *
 * @throws SdxError `SDX_PRICING` (fault `user`) when a spot-only service meets a target without spot.
 */
export function planReplicas(app: App, target: string, options: PlanReplicasOptions): ReplicaPlan[] {
  const allowSpot = options.policy?.allowSpot ?? true;
  const share = Math.min(1, Math.max(0, options.policy?.minOnDemandShare ?? 0));
  return app.services.map((s) => {
    const replicas = replicaCount(s, options.at ?? "min");
    let onDemand: number;
    switch (s.placement.spot) {
      case "never":
        onDemand = replicas;
        break;
      case "prefer":
        onDemand = options.allOnDemand || !options.spotAvailable || !allowSpot
          ? replicas
          : Math.min(replicas, Math.max(s.placement.minOnDemand, Math.ceil(share * replicas - 1e-9)));
        break;
      case "only":
        if (!options.spotAvailable) {
          throw new SdxError("SDX_PRICING", `service ${s.name} is spot-only (placement.spot: only) but target ${target} has no spot capacity`, {
            fault: "user",
            hint: `Set pricing.spot: true on target ${target} if it has spot capacity, or placement.spot: prefer on ${s.name}.`,
            path: `services.${s.name}.placement.spot`,
          });
        }
        onDemand = options.allOnDemand ? replicas : 0;
        break;
      default:
        return assertNever(s.placement.spot);
    }
    return {
      service: s.name,
      cpuMillis: s.resources.cpuMillis,
      memoryMiB: s.resources.memoryMiB,
      arch: s.placement.arch,
      replicas,
      onDemand,
      spot: replicas - onDemand,
      ephemeralMiB: s.volumes.filter((v) => v.kind === "ephemeral").reduce((n, v) => n + (v.sizeMiB ?? 0), 0),
      persistentVolumes: s.volumes.filter((v) => v.kind === "persistent").length,
      ...(s.scale.kind === "auto" ? { autoscale: { min: s.scale.min, max: s.scale.max } } : {}),
    };
  });
}

/** Replicas priced for a service: fixed count, or the autoscaling bound. */
export function replicaCount(s: Service, at: "min" | "max"): number {
  switch (s.scale.kind) {
    case "fixed":
      return s.scale.replicas;
    case "auto":
      return at === "min" ? s.scale.min : s.scale.max;
    default:
      return assertNever(s.scale);
  }
}

function assertNever(x: never): never {
  throw new Error(`unhandled ${JSON.stringify(x)}`);
}
