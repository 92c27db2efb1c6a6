import type { Cluster, Service, Task, TaskDefinition } from "@aws-sdk/client-ecs";
import type { ScalableTarget, ScalingPolicy } from "@aws-sdk/client-application-auto-scaling";
import type { LogGroup } from "@aws-sdk/client-cloudwatch-logs";

/** ECS tags as the API spells them. */
export type EcsTags = { key: string; value: string }[];

/**
 * The thin I/O port over the three AWS clients this backend uses. Shapes are
 * the AWS API's own, so fakes in unit tests speak real response formats.
 * Implementations map failures to SdxError and retry throttling/5xx themselves.
 */
export interface EcsPort {
  describeClusters(names: string[]): Promise<{ clusters: Cluster[]; missing: string[] }>;
  createCluster(input: Record<string, unknown>): Promise<Cluster>;
  deleteCluster(name: string): Promise<void>;

  /** Service ARNs in the cluster (all pages). */
  listServices(cluster: string): Promise<string[]>;
  /** Describes services with TAGS, batching ten per call as the API allows. */
  describeServices(cluster: string, names: string[]): Promise<{ services: Service[]; missing: string[] }>;
  createService(input: Record<string, unknown>): Promise<Service>;
  updateService(input: Record<string, unknown>): Promise<Service>;
  deleteService(cluster: string, name: string): Promise<void>;
  tagResource(arn: string, tags: EcsTags): Promise<void>;
  untagResource(arn: string, keys: string[]): Promise<void>;

  describeTaskDefinition(ref: string): Promise<{ taskDefinition: TaskDefinition; tags: EcsTags }>;
  registerTaskDefinition(input: Record<string, unknown>): Promise<TaskDefinition>;
  deregisterTaskDefinition(arn: string): Promise<void>;
  /** ACTIVE revisions of exactly this family, newest first (all pages). */
  listTaskDefinitions(family: string): Promise<string[]>;

  /** Task ARNs of a service with the given desired status. */
  listTasks(cluster: string, service: string, desiredStatus: "RUNNING" | "STOPPED"): Promise<string[]>;
  describeTasks(cluster: string, arns: string[]): Promise<Task[]>;

  describeLogGroups(prefix: string): Promise<LogGroup[]>;
  createLogGroup(name: string, tags: Record<string, string>): Promise<void>;

  describeScalableTargets(resourceIds: string[]): Promise<ScalableTarget[]>;
  describeScalingPolicies(policyNames: string[]): Promise<ScalingPolicy[]>;
  registerScalableTarget(input: Record<string, unknown>): Promise<void>;
  putScalingPolicy(input: Record<string, unknown>): Promise<void>;
  deregisterScalableTarget(resourceId: string): Promise<void>;
}
