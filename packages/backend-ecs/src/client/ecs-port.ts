import type { Cluster, Service, Task, TaskDefinition } from "@aws-sdk/client-ecs";
import type { ScalableTarget, ScalingPolicy } from "@aws-sdk/client-application-auto-scaling";
import type { LogGroup } from "@aws-sdk/client-cloudwatch-logs";

/** What sdx reads of an SSM parameter: metadata only, never the value. */
export interface ParameterInfo {
  readonly name: string;
  readonly type?: string;
  readonly description?: string;
  readonly keyId?: string;
  readonly tier?: string;
  readonly version?: number;
}

/** PutParameter input as sdx sends it; `Value` is the revealed secret, for the wire only. */
export interface PutParameterInput {
  readonly Name: string;
  readonly Value: string;
  readonly Type: string;
  readonly Description?: string;
  readonly Tier?: string;
  readonly KeyId?: string;
  /** AWS refuses Tags together with Overwrite: creates send tags, updates tag separately. */
  readonly Overwrite?: boolean;
  readonly Tags?: readonly { Key: string; Value: string }[];
}

/** ECS tags as the API spells them. */
export type EcsTags = { key: string; value: string }[];

/**
 * The thin I/O port over the four AWS clients this backend uses (ECS,
 * Application Auto Scaling, CloudWatch Logs, SSM). Shapes are
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

  /** SSM parameters under `path` (recursive, all pages), metadata only: DescribeParameters returns no values. */
  describeParameters(path: string): Promise<ParameterInfo[]>;
  /** Tags of one SSM parameter by name; undefined when it no longer exists. */
  listParameterTags(name: string): Promise<Record<string, string> | undefined>;
  /** PutParameter. Error messages are scrubbed of the value. */
  putParameter(input: PutParameterInput): Promise<{ version?: number }>;
  /** AddTagsToResource on one parameter (adds or overwrites keys). */
  addParameterTags(name: string, tags: Readonly<Record<string, string>>): Promise<void>;
  /** DeleteParameter; a parameter already gone is not an error. */
  deleteParameter(name: string): Promise<void>;

  describeScalableTargets(resourceIds: string[]): Promise<ScalableTarget[]>;
  describeScalingPolicies(policyNames: string[]): Promise<ScalingPolicy[]>;
  registerScalableTarget(input: Record<string, unknown>): Promise<void>;
  putScalingPolicy(input: Record<string, unknown>): Promise<void>;
  deregisterScalableTarget(resourceId: string): Promise<void>;
}
