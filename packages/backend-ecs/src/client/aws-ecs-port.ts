import {
  ECSClient, CreateClusterCommand, CreateServiceCommand, DeleteClusterCommand, DeleteServiceCommand, DeregisterTaskDefinitionCommand,
  DescribeClustersCommand, DescribeServicesCommand, DescribeTaskDefinitionCommand, DescribeTasksCommand, ListServicesCommand,
  ListTaskDefinitionsCommand, ListTasksCommand, RegisterTaskDefinitionCommand, TagResourceCommand,
  UntagResourceCommand, UpdateServiceCommand, type Service, type Task,
} from "@aws-sdk/client-ecs";
import {
  ApplicationAutoScalingClient, DeregisterScalableTargetCommand, DescribeScalableTargetsCommand, DescribeScalingPoliciesCommand,
  PutScalingPolicyCommand, RegisterScalableTargetCommand, type ScalableTarget, type ScalingPolicy,
} from "@aws-sdk/client-application-auto-scaling";
import { CloudWatchLogsClient, CreateLogGroupCommand, DescribeLogGroupsCommand, type LogGroup } from "@aws-sdk/client-cloudwatch-logs";
import {
  SSMClient, AddTagsToResourceCommand, DeleteParameterCommand, DescribeParametersCommand, ListTagsForResourceCommand, PutParameterCommand,
} from "@aws-sdk/client-ssm";
import { randomUUID } from "node:crypto";
import { withRetry } from "@sdx/sdk";
import type { EcsTarget } from "../ecs-target.js";
import { comparableTaskDefinition } from "../plan/comparable.js";
import { TAG_DIGEST, TAG_REVISION, tagRecord } from "../render/ecs-names.js";
import { safeCredentialChain, type AwsCredentials } from "./aws-credentials.js";
import type { EcsPort, EcsTags, ParameterInfo, PutParameterInput } from "./ecs-port.js";
import { isNetworkError, isRetryableAwsError, mapEcsError } from "./map-ecs-error.js";

/** The AWS clients behind an {@link AwsEcsPort}, exposed so tests and embedders can add middleware. */
export interface AwsClients {
  readonly ecs: ECSClient;
  readonly autoscaling: ApplicationAutoScalingClient;
  readonly logs: CloudWatchLogsClient;
  readonly ssm: SSMClient;
}

/** Options for {@link AwsEcsPort}. */
export interface AwsEcsPortOptions {
  /** @default the safe default chain, see safeCredentialChain */
  readonly credentials?: AwsCredentials;
  /** Environment consulted for credentials. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Milliseconds to establish a connection. @default 3000 */
  readonly connectionTimeoutMs?: number;
  /** Retry network failures too (apply), not only throttling and 5xx. Plans fail fast instead. @default false */
  readonly retryNetwork?: boolean;
  /** Attempts per call for retryable failures. @default 5 */
  readonly attempts?: number;
  /** First backoff delay in ms. @default 200 */
  readonly baseDelayMs?: number;
  readonly signal?: AbortSignal;
  /** Called once with the new clients, e.g. to add middleware. */
  readonly configureClients?: (clients: AwsClients) => void;
}

/**
 * A copy of an AWS error whose message no longer contains `secret`. AWS
 * validation messages may quote the offending input, and PutParameter's input
 * is a secret value; the original error (and its message) is not kept as cause.
 */
function scrubbed(e: unknown, secret: string): unknown {
  if (typeof e !== "object" || e === null || secret === "") return e;
  const s = e as { name?: string; message?: string; code?: string; $fault?: string; $metadata?: unknown };
  const err = new Error((s.message ?? "").split(secret).join("[redacted]"));
  return Object.assign(err, { name: s.name ?? "Error", ...(s.code ? { code: s.code } : {}), ...(s.$fault ? { $fault: s.$fault } : {}), ...(s.$metadata ? { $metadata: s.$metadata } : {}) });
}

const chunk = <T>(xs: readonly T[], n: number): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

/** {@link EcsPort} over the AWS SDK v3 clients. One instance per operation. */
export class AwsEcsPort implements EcsPort {
  readonly clients: AwsClients;
  readonly #target: EcsTarget;
  readonly #opts: AwsEcsPortOptions;

  constructor(target: EcsTarget, options: AwsEcsPortOptions = {}) {
    this.#target = target;
    this.#opts = options;
    const credentials = options.credentials ?? safeCredentialChain(options.env ?? process.env);
    const config = {
      region: target.region,
      ...(target.endpoint ? { endpoint: target.endpoint } : {}),
      ...(credentials ? { credentials } : {}),
      // sdx retries itself (bounded, jittered, abortable, testable); the SDK's own retry would multiply it.
      maxAttempts: 1,
      requestHandler: { connectionTimeout: options.connectionTimeoutMs ?? 3000, requestTimeout: 30_000 },
    };
    this.clients = { ecs: new ECSClient(config), autoscaling: new ApplicationAutoScalingClient(config), logs: new CloudWatchLogsClient(config), ssm: new SSMClient(config) };
    options.configureClients?.(this.clients);
  }

  /** Closes the clients' sockets. */
  destroy(): void {
    this.clients.ecs.destroy();
    this.clients.autoscaling.destroy();
    this.clients.logs.destroy();
    this.clients.ssm.destroy();
  }

  async #call<T>(operation: string, fn: (abortSignal: AbortSignal | undefined) => Promise<T>, opts: { cluster?: string; ignore?: readonly string[]; service?: string; scrub?: string } = {}): Promise<T | undefined> {
    const signal = this.#opts.signal;
    try {
      return await withRetry(() => fn(signal), {
        attempts: this.#opts.attempts ?? 5,
        baseDelayMs: this.#opts.baseDelayMs ?? 200,
        retryable: (e) => isRetryableAwsError(e) || (this.#opts.retryNetwork === true && isNetworkError(e)),
        ...(signal ? { signal } : {}),
      });
    } catch (e) {
      if (opts.ignore?.includes((e as { name?: string }).name ?? "")) return undefined;
      throw mapEcsError(opts.scrub ? scrubbed(e, opts.scrub) : e, {
        operation, target: this.#target.name, region: this.#target.region,
        ...(opts.cluster ? { cluster: opts.cluster } : {}), ...(opts.service ? { service: opts.service } : {}), ...(this.#target.endpoint ? { endpoint: this.#target.endpoint } : {}),
      });
    }
  }

  async #must<T>(operation: string, fn: (abortSignal: AbortSignal | undefined) => Promise<T>, cluster?: string, service?: string): Promise<T> {
    return (await this.#call(operation, fn, { ...(cluster ? { cluster } : {}), ...(service ? { service } : {}) })) as T;
  }

  async describeClusters(names: string[]) {
    const r = await this.#must("DescribeClusters", (abortSignal) => this.clients.ecs.send(new DescribeClustersCommand({ clusters: names, include: ["TAGS"] }), { abortSignal }));
    // A deleted cluster lingers as INACTIVE; it cannot run services, so it counts as missing.
    const clusters = (r.clusters ?? []).filter((c) => c.status !== "INACTIVE");
    const found = new Set(clusters.map((c) => c.clusterName));
    return { clusters, missing: names.filter((n) => !found.has(n)) };
  }

  async createCluster(input: Record<string, unknown>) {
    const r = await this.#must("CreateCluster", (abortSignal) => this.clients.ecs.send(new CreateClusterCommand(input as never), { abortSignal }));
    return r.cluster ?? {};
  }

  async deleteCluster(name: string) {
    await this.#must("DeleteCluster", (abortSignal) => this.clients.ecs.send(new DeleteClusterCommand({ cluster: name }), { abortSignal }), name);
  }

  async listServices(cluster: string) {
    const out: string[] = [];
    let nextToken: string | undefined;
    do {
      const r = await this.#must("ListServices", (abortSignal) => this.clients.ecs.send(new ListServicesCommand({ cluster, ...(nextToken ? { nextToken } : {}), maxResults: 100 }), { abortSignal }), cluster);
      out.push(...(r.serviceArns ?? []));
      nextToken = r.nextToken;
    } while (nextToken);
    return out;
  }

  async describeServices(cluster: string, names: string[]) {
    const services: Service[] = [];
    const missing: string[] = [];
    for (const batch of chunk(names, 10)) {
      const r = await this.#must("DescribeServices", (abortSignal) => this.clients.ecs.send(new DescribeServicesCommand({ cluster, services: batch, include: ["TAGS"] }), { abortSignal }), cluster);
      // DeleteService leaves the service INACTIVE for a while; it is gone as far as sdx is concerned.
      services.push(...(r.services ?? []).filter((s) => s.status !== "INACTIVE"));
    }
    const found = new Set(services.map((s) => s.serviceName));
    for (const n of names) if (!found.has(n.split("/").pop())) missing.push(n);
    return { services, missing };
  }

  async createService(input: Record<string, unknown>) {
    // One token for every attempt: a retry after a lost response returns the service the first attempt created, instead of failing or creating twice.
    const clientToken = randomUUID();
    const r = await this.#must("CreateService", (abortSignal) => this.clients.ecs.send(new CreateServiceCommand({ ...input, clientToken } as never), { abortSignal }), input.cluster as string);
    return r.service ?? {};
  }

  async updateService(input: Record<string, unknown>) {
    const r = await this.#must("UpdateService", (abortSignal) => this.clients.ecs.send(new UpdateServiceCommand(input as never), { abortSignal }), input.cluster as string);
    return r.service ?? {};
  }

  async deleteService(cluster: string, name: string) {
    await this.#call("DeleteService", (abortSignal) => this.clients.ecs.send(new DeleteServiceCommand({ cluster, service: name, force: true }), { abortSignal }), { cluster, ignore: ["ServiceNotFoundException", "ServiceNotActiveException"] });
  }

  async tagResource(arn: string, tags: EcsTags) {
    await this.#must("TagResource", (abortSignal) => this.clients.ecs.send(new TagResourceCommand({ resourceArn: arn, tags }), { abortSignal }));
  }

  async untagResource(arn: string, keys: string[]) {
    await this.#must("UntagResource", (abortSignal) => this.clients.ecs.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: keys }), { abortSignal }));
  }

  async describeTaskDefinition(ref: string) {
    const r = await this.#must("DescribeTaskDefinition", (abortSignal) => this.clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: ref, include: ["TAGS"] }), { abortSignal }));
    return { taskDefinition: r.taskDefinition ?? {}, tags: (r.tags ?? []).map((t) => ({ key: t.key ?? "", value: t.value ?? "" })) };
  }

  async registerTaskDefinition(input: Record<string, unknown>) {
    // RegisterTaskDefinition has no client token: each call adds a revision. Before a retry, look whether
    // the failed attempt registered it after all (latest revision of the family, same content and sdx
    // revision tag, registered since this call began) and take that one instead of registering twice.
    const started = Date.now();
    let attempt = 0;
    const r = await this.#must("RegisterTaskDefinition", async (abortSignal) => {
      if (attempt++ > 0) {
        const landed = await this.#registeredMeanwhile(input, started, abortSignal);
        if (landed) return { taskDefinition: landed };
      }
      return this.clients.ecs.send(new RegisterTaskDefinitionCommand(input as never), { abortSignal });
    });
    return r.taskDefinition ?? {};
  }

  /** The family's latest revision when it is `input`, registered at or after `since` (a minute's clock skew allowed). */
  async #registeredMeanwhile(input: Record<string, unknown>, since: number, abortSignal: AbortSignal | undefined) {
    const want = tagRecord(input.tags as { key: string; value: string }[] | undefined)[TAG_REVISION];
    const latest = await this.clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: String(input.family), include: ["TAGS"] }), { abortSignal }).catch(() => undefined);
    const td = latest?.taskDefinition;
    if (!td || !want || tagRecord(latest.tags)[TAG_REVISION] !== want) return undefined;
    if ((td.registeredAt?.getTime() ?? 0) < since - 60_000) return undefined;
    const same = JSON.stringify(comparableTaskDefinition(td as Record<string, unknown>, input)) === JSON.stringify(comparableTaskDefinition(input));
    return same ? td : undefined;
  }

  async deregisterTaskDefinition(arn: string) {
    await this.#call("DeregisterTaskDefinition", (abortSignal) => this.clients.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn }), { abortSignal }));
  }

  async listTaskDefinitions(family: string) {
    const out: string[] = [];
    let nextToken: string | undefined;
    do {
      const r = await this.#must("ListTaskDefinitions", (abortSignal) =>
        this.clients.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status: "ACTIVE", sort: "DESC", ...(nextToken ? { nextToken } : {}) }), { abortSignal }));
      // familyPrefix is a prefix match: "shop-web" also lists "shop-web2".
      out.push(...(r.taskDefinitionArns ?? []).filter((a) => a.slice(a.lastIndexOf("/") + 1, a.lastIndexOf(":")) === family));
      nextToken = r.nextToken;
    } while (nextToken);
    return out;
  }

  async listTasks(cluster: string, service: string, desiredStatus: "RUNNING" | "STOPPED") {
    const r = await this.#call("ListTasks", (abortSignal) => this.clients.ecs.send(new ListTasksCommand({ cluster, serviceName: service, desiredStatus }), { abortSignal }), { cluster, ignore: ["ServiceNotFoundException"] });
    return r?.taskArns ?? [];
  }

  async describeTasks(cluster: string, arns: string[]) {
    const out: Task[] = [];
    for (const batch of chunk(arns, 100)) {
      const r = await this.#must("DescribeTasks", (abortSignal) => this.clients.ecs.send(new DescribeTasksCommand({ cluster, tasks: batch }), { abortSignal }), cluster);
      out.push(...(r.tasks ?? []));
    }
    return out;
  }

  async describeLogGroups(prefix: string) {
    const r = await this.#must("DescribeLogGroups", (abortSignal) => this.clients.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: prefix }), { abortSignal }));
    return (r.logGroups ?? []) as LogGroup[];
  }

  async createLogGroup(name: string, tags: Record<string, string>) {
    await this.#call("CreateLogGroup", (abortSignal) => this.clients.logs.send(new CreateLogGroupCommand({ logGroupName: name, tags }), { abortSignal }), { ignore: ["ResourceAlreadyExistsException"] });
  }

  async describeParameters(path: string) {
    const out: ParameterInfo[] = [];
    let NextToken: string | undefined;
    do {
      const r = await this.#must("DescribeParameters", (abortSignal) =>
        this.clients.ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: "Path", Option: "Recursive", Values: [path] }], MaxResults: 50, ...(NextToken ? { NextToken } : {}) }), { abortSignal }), undefined, "SSM");
      // Copy the metadata field by field: nothing else (an emulator may echo a Value) leaves the port.
      for (const p of r.Parameters ?? []) {
        if (!p.Name) continue;
        out.push({
          name: p.Name, ...(p.Type ? { type: p.Type } : {}), ...(p.Description !== undefined ? { description: p.Description } : {}),
          ...(p.KeyId ? { keyId: p.KeyId } : {}), ...(p.Tier ? { tier: p.Tier } : {}), ...(p.Version !== undefined ? { version: p.Version } : {}),
        });
      }
      NextToken = r.NextToken;
    } while (NextToken);
    return out;
  }

  async listParameterTags(name: string) {
    const r = await this.#call("ListTagsForResource", (abortSignal) => this.clients.ssm.send(new ListTagsForResourceCommand({ ResourceType: "Parameter", ResourceId: name }), { abortSignal }), { service: "SSM", ignore: ["InvalidResourceId"] });
    if (!r) return undefined;
    return Object.fromEntries((r.TagList ?? []).filter((t) => t.Key !== undefined).map((t) => [t.Key!, t.Value ?? ""]));
  }

  async putParameter(input: PutParameterInput) {
    // A create (no Overwrite) retried after a lost response would fail with ParameterAlreadyExists:
    // before a retry, a parameter already carrying this value's digest tag counts as written.
    const digest = input.Tags?.find((t) => t.Key === TAG_DIGEST)?.Value;
    let attempt = 0;
    const r = await this.#call("PutParameter", async (abortSignal) => {
      if (attempt++ > 0 && !input.Overwrite && digest) {
        const tags = await this.clients.ssm.send(new ListTagsForResourceCommand({ ResourceType: "Parameter", ResourceId: input.Name }), { abortSignal }).catch(() => undefined);
        if (tags?.TagList?.some((t) => t.Key === TAG_DIGEST && t.Value === digest)) return {} as { Version?: number };
      }
      return this.clients.ssm.send(new PutParameterCommand({ ...input, Tags: input.Tags ? [...input.Tags] : undefined } as never), { abortSignal });
    }, { service: "SSM", scrub: input.Value });
    return r?.Version === undefined ? {} : { version: r.Version };
  }

  async addParameterTags(name: string, tags: Readonly<Record<string, string>>) {
    const Tags = Object.keys(tags).sort().map((Key) => ({ Key, Value: tags[Key]! }));
    await this.#must("AddTagsToResource", (abortSignal) => this.clients.ssm.send(new AddTagsToResourceCommand({ ResourceType: "Parameter", ResourceId: name, Tags }), { abortSignal }), undefined, "SSM");
  }

  async deleteParameter(name: string) {
    await this.#call("DeleteParameter", (abortSignal) => this.clients.ssm.send(new DeleteParameterCommand({ Name: name }), { abortSignal }), { service: "SSM", ignore: ["ParameterNotFound"] });
  }

  async describeScalableTargets(resourceIds: string[]) {
    if (resourceIds.length === 0) return [];
    const out: ScalableTarget[] = [];
    for (const batch of chunk(resourceIds, 50)) {
      const r = await this.#must("DescribeScalableTargets", (abortSignal) => this.clients.autoscaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: "ecs", ResourceIds: batch }), { abortSignal }));
      out.push(...(r.ScalableTargets ?? []));
    }
    return out;
  }

  async describeScalingPolicies(policyNames: string[]) {
    if (policyNames.length === 0) return [];
    const out: ScalingPolicy[] = [];
    for (const batch of chunk(policyNames, 50)) {
      const r = await this.#must("DescribeScalingPolicies", (abortSignal) => this.clients.autoscaling.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: "ecs", PolicyNames: batch }), { abortSignal }));
      out.push(...(r.ScalingPolicies ?? []));
    }
    return out;
  }

  async registerScalableTarget(input: Record<string, unknown>) {
    await this.#must("RegisterScalableTarget", (abortSignal) => this.clients.autoscaling.send(new RegisterScalableTargetCommand(input as never), { abortSignal }));
  }

  async putScalingPolicy(input: Record<string, unknown>) {
    await this.#must("PutScalingPolicy", (abortSignal) => this.clients.autoscaling.send(new PutScalingPolicyCommand(input as never), { abortSignal }));
  }

  async deregisterScalableTarget(resourceId: string) {
    await this.#call("DeregisterScalableTarget", (abortSignal) =>
      this.clients.autoscaling.send(new DeregisterScalableTargetCommand({ ServiceNamespace: "ecs", ResourceId: resourceId, ScalableDimension: "ecs:service:DesiredCount" }), { abortSignal }), { ignore: ["ObjectNotFoundException"] });
  }
}
