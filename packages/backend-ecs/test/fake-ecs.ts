/**
 * An in-memory ECS + SSM + Application Auto Scaling + CloudWatch Logs account
 * behind the {@link EcsPort}, for fault-injection tests. Responses use the AWS
 * API's shapes (Service.deployments with rolloutState, TaskDefinition with
 * revision and registeredAt, DescribeParameters metadata, ScalableTarget) and
 * failures go through the real error mapping (ClusterNotFoundException,
 * ServiceNotFoundException, ParameterAlreadyExists, ...). CreateService honours
 * `clientToken` as ECS does. A deployment takes a few DescribeServices polls
 * to complete, so a deploy cut short leaves it IN_PROGRESS with two
 * deployments, as on AWS.
 */
import type { Cluster, Deployment, Service, TaskDefinition } from "@aws-sdk/client-ecs";
import type { ScalableTarget, ScalingPolicy } from "@aws-sdk/client-application-auto-scaling";
import type { LogGroup } from "@aws-sdk/client-cloudwatch-logs";
import type { EcsPort, EcsTags, ParameterInfo, PutParameterInput } from "../src/client/ecs-port.js";
import { mapEcsError } from "../src/client/map-ecs-error.js";

type Obj = Record<string, unknown>;
const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const clone = <T>(x: T): T => structuredClone(x);
const awsError = (name: string, message: string, operation: string, status = 400): Error =>
  mapEcsError(Object.assign(new Error(message), { name, $fault: status >= 500 ? "server" : "client", $metadata: { httpStatusCode: status } }), { operation, target: "ecs", region: REGION });


interface Svc {
  service: Service;
  clientToken?: string;
  /** Polls left before the PRIMARY deployment has all its tasks running. */
  pending: number;
}

export class FakeEcs implements EcsPort {
  readonly clusters = new Map<string, Cluster>();
  readonly services = new Map<string, Svc>();
  readonly taskDefs = new Map<string, { td: TaskDefinition; tags: EcsTags }>();
  readonly logGroups: LogGroup[] = [];
  readonly params = new Map<string, { info: ParameterInfo; value: string; tags: Record<string, string> }>();
  readonly scalable = new Map<string, ScalableTarget>();
  readonly policies = new Map<string, ScalingPolicy>();
  #revisions = new Map<string, number>();
  #n = 0;

  /** @param rolloutPolls DescribeServices polls (plans' included) a deployment takes to complete. */
  constructor(readonly rolloutPolls = 3) {}

  #key(cluster: string, name: string): string {
    return `${cluster}|${name.split("/").pop()}`;
  }

  #resolveTd(ref: string, operation: string): string {
    if (this.taskDefs.has(ref) && this.taskDefs.get(ref)!.td.status === "ACTIVE") return ref;
    const [family, rev] = ref.includes("task-definition/") ? ref.split("task-definition/")[1]!.split(":") : ref.split(":");
    const revs = [...this.taskDefs.values()].filter((t) => t.td.family === family && t.td.status === "ACTIVE" && (rev === undefined || String(t.td.revision) === rev));
    const latest = revs.sort((a, b) => (b.td.revision ?? 0) - (a.td.revision ?? 0))[0];
    if (!latest) throw awsError("ClientException", `Unable to describe task definition ${ref}.`, operation);
    return latest.td.taskDefinitionArn!;
  }

  #deployment(taskDefinition: string, desiredCount: number): Deployment {
    return { id: `ecs-svc/${++this.#n}`, status: "PRIMARY", taskDefinition, desiredCount, pendingCount: desiredCount, runningCount: 0, failedTasks: 0, rolloutState: "IN_PROGRESS", createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, this.#n)) };
  }

  /** One poll of time for a service's rollout. */
  #advance(s: Svc): void {
    if (s.pending <= 0) return;
    if (--s.pending > 0) return;
    const svc = s.service;
    const primary = svc.deployments!.find((d) => d.status === "PRIMARY")!;
    primary.desiredCount = svc.desiredCount;
    primary.runningCount = svc.desiredCount;
    primary.pendingCount = 0;
    primary.rolloutState = "COMPLETED";
    svc.deployments = [primary];
    svc.runningCount = svc.desiredCount;
    svc.pendingCount = 0;
    svc.taskDefinition = primary.taskDefinition;
  }

  async describeClusters(names: string[]) {
    const clusters = names.map((n) => this.clusters.get(n)).filter((c): c is Cluster => c !== undefined);
    return { clusters: clone(clusters), missing: names.filter((n) => !this.clusters.has(n)) };
  }

  async createCluster(input: Obj) {
    const name = String(input.clusterName);
    // CreateCluster is idempotent on AWS: an existing cluster comes back as it is.
    const c = this.clusters.get(name) ?? { clusterName: name, clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${name}`, status: "ACTIVE", tags: clone(input.tags as Cluster["tags"]) };
    this.clusters.set(name, c);
    return clone(c);
  }

  async deleteCluster(name: string) {
    if ([...this.services.keys()].some((k) => k.startsWith(`${name}|`))) throw awsError("ClusterContainsServicesException", "The cluster cannot be deleted while services are active.", "DeleteCluster");
    this.clusters.delete(name);
  }

  async listServices(cluster: string) {
    return [...this.services.entries()].filter(([k]) => k.startsWith(`${cluster}|`)).map(([, s]) => s.service.serviceArn!);
  }

  async describeServices(cluster: string, names: string[]) {
    if (!this.clusters.has(cluster)) throw awsError("ClusterNotFoundException", "Cluster not found.", "DescribeServices");
    const services: Service[] = [];
    const missing: string[] = [];
    for (const n of names) {
      const s = this.services.get(this.#key(cluster, n));
      if (!s) {
        missing.push(n);
        continue;
      }
      this.#advance(s);
      services.push(clone(s.service));
    }
    return { services, missing };
  }

  async createService(input: Obj) {
    const cluster = String(input.cluster);
    if (!this.clusters.has(cluster)) throw awsError("ClusterNotFoundException", "Cluster not found.", "CreateService");
    const name = String(input.serviceName);
    const existing = this.services.get(this.#key(cluster, name));
    if (existing) {
      // The same clientToken is the same request: ECS answers with the service it created.
      if (input.clientToken !== undefined && existing.clientToken === input.clientToken) return clone(existing.service);
      throw awsError("InvalidParameterException", "Creation of service was not idempotent.", "CreateService");
    }
    const td = this.#resolveTd(String(input.taskDefinition), "CreateService");
    const { cluster: _c, clientToken: _t, taskDefinition: _td, ...rest } = input;
    const desired = Number(input.desiredCount ?? 0);
    const service: Service = {
      ...(clone(rest) as Service),
      serviceArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${cluster}/${name}`,
      clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${cluster}`,
      status: "ACTIVE", taskDefinition: td, desiredCount: desired, runningCount: 0, pendingCount: desired,
      deployments: [this.#deployment(td, desired)], events: [],
    };
    this.services.set(this.#key(cluster, name), { service, ...(input.clientToken ? { clientToken: String(input.clientToken) } : {}), pending: this.rolloutPolls });
    return clone(service);
  }

  async updateService(input: Obj) {
    const cluster = String(input.cluster);
    const s = this.services.get(this.#key(cluster, String(input.service)));
    if (!s) throw awsError("ServiceNotFoundException", "Service not found.", "UpdateService");
    const svc = s.service;
    const td = input.taskDefinition === undefined ? svc.taskDefinition! : this.#resolveTd(String(input.taskDefinition), "UpdateService");
    const strategyChanged = input.capacityProviderStrategy !== undefined && JSON.stringify(input.capacityProviderStrategy) !== JSON.stringify(svc.capacityProviderStrategy);
    for (const k of ["capacityProviderStrategy", "deploymentConfiguration", "networkConfiguration", "loadBalancers", "healthCheckGracePeriodSeconds", "propagateTags", "enableECSManagedTags"] as const) {
      if (input[k] !== undefined) (svc as Obj)[k] = clone(input[k]);
    }
    if (input.desiredCount !== undefined) svc.desiredCount = Number(input.desiredCount);
    const primary = svc.deployments!.find((d) => d.status === "PRIMARY")!;
    if (td !== primary.taskDefinition || input.forceNewDeployment === true || strategyChanged) {
      // A new deployment: the old one drains as ACTIVE until the new one completes.
      primary.status = "ACTIVE";
      svc.deployments = [this.#deployment(td, svc.desiredCount ?? 0), ...svc.deployments!];
      svc.taskDefinition = td;
      s.pending = this.rolloutPolls;
    } else if (svc.desiredCount !== primary.desiredCount) {
      // A scale keeps the deployment (and its rolloutState); the counts catch up.
      primary.desiredCount = svc.desiredCount;
      s.pending = this.rolloutPolls;
    }
    return clone(svc);
  }

  async deleteService(cluster: string, name: string) {
    this.services.delete(this.#key(cluster, name));
  }

  #byArn(arn: string): Svc | undefined {
    return [...this.services.values()].find((s) => s.service.serviceArn === arn);
  }

  async tagResource(arn: string, tags: EcsTags) {
    const s = this.#byArn(arn);
    if (!s) throw awsError("InvalidParameterException", "The specified resource could not be found.", "TagResource");
    const rest = (s.service.tags ?? []).filter((t) => !tags.some((x) => x.key === t.key));
    s.service.tags = [...rest, ...clone(tags)];
  }

  async untagResource(arn: string, keys: string[]) {
    const s = this.#byArn(arn);
    if (s) s.service.tags = (s.service.tags ?? []).filter((t) => !keys.includes(t.key ?? ""));
  }

  async describeTaskDefinition(ref: string) {
    const t = this.taskDefs.get(this.taskDefs.has(ref) ? ref : this.#resolveTd(ref, "DescribeTaskDefinition"))!;
    return { taskDefinition: clone(t.td), tags: clone(t.tags) };
  }

  async registerTaskDefinition(input: Obj) {
    const family = String(input.family);
    const revision = (this.#revisions.get(family) ?? 0) + 1;
    this.#revisions.set(family, revision);
    const { tags, ...rest } = input;
    const td: TaskDefinition = {
      ...(clone(rest) as TaskDefinition), taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:${revision}`,
      revision, status: "ACTIVE", compatibilities: ["EC2", "FARGATE"], registeredAt: new Date(),
    };
    this.taskDefs.set(td.taskDefinitionArn!, { td, tags: clone((tags ?? []) as EcsTags) });
    return clone(td);
  }

  async deregisterTaskDefinition(arn: string) {
    const t = this.taskDefs.get(arn);
    if (t) t.td.status = "INACTIVE";
  }

  async listTaskDefinitions(family: string) {
    return [...this.taskDefs.values()].filter((t) => t.td.family === family && t.td.status === "ACTIVE").sort((a, b) => (b.td.revision ?? 0) - (a.td.revision ?? 0)).map((t) => t.td.taskDefinitionArn!);
  }

  async listTasks() {
    return [];
  }

  async describeTasks() {
    return [];
  }

  async describeLogGroups(prefix: string) {
    return clone(this.logGroups.filter((g) => g.logGroupName?.startsWith(prefix)));
  }

  async createLogGroup(name: string) {
    if (!this.logGroups.some((g) => g.logGroupName === name)) this.logGroups.push({ logGroupName: name, arn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}` });
  }

  async describeParameters(path: string) {
    return [...this.params.values()].filter((p) => p.info.name.startsWith(`${path}/`)).map((p) => clone(p.info));
  }

  async listParameterTags(name: string) {
    const p = this.params.get(name);
    return p ? { ...p.tags } : undefined;
  }

  async putParameter(input: PutParameterInput) {
    const p = this.params.get(input.Name);
    if (p && !input.Overwrite) throw awsError("ParameterAlreadyExists", "The parameter already exists. To overwrite this request value, set the overwrite option in the request to true.", "PutParameter");
    if (input.Overwrite && input.Tags) throw awsError("ValidationException", "Invalid request: tags and overwrite can't be used together.", "PutParameter");
    const version = (p?.info.version ?? 0) + 1;
    const info: ParameterInfo = { name: input.Name, type: input.Type, tier: input.Tier ?? "Standard", version, ...(input.Description !== undefined ? { description: input.Description } : {}), ...(input.KeyId ? { keyId: input.KeyId } : {}) };
    this.params.set(input.Name, { info, value: input.Value, tags: p?.tags ?? Object.fromEntries((input.Tags ?? []).map((t) => [t.Key, t.Value])) });
    return { version };
  }

  async addParameterTags(name: string, tags: Readonly<Record<string, string>>) {
    const p = this.params.get(name);
    if (!p) throw awsError("InvalidResourceId", "The resource ID is not valid.", "AddTagsToResource");
    Object.assign(p.tags, tags);
  }

  async deleteParameter(name: string) {
    this.params.delete(name);
  }

  async describeScalableTargets(resourceIds: string[]) {
    return resourceIds.map((id) => this.scalable.get(id)).filter((t): t is ScalableTarget => t !== undefined).map(clone);
  }

  async describeScalingPolicies(policyNames: string[]) {
    return [...this.policies.values()].filter((p) => policyNames.includes(p.PolicyName ?? "")).map(clone);
  }

  async registerScalableTarget(input: Obj) {
    const id = String(input.ResourceId);
    this.scalable.set(id, { ServiceNamespace: "ecs", ResourceId: id, ScalableDimension: "ecs:service:DesiredCount", MinCapacity: Number(input.MinCapacity), MaxCapacity: Number(input.MaxCapacity), RoleARN: "", CreationTime: new Date() });
  }

  async putScalingPolicy(input: Obj) {
    const id = String(input.ResourceId);
    if (!this.scalable.has(id)) throw awsError("ObjectNotFoundException", "No scalable target registered for service namespace: ecs", "PutScalingPolicy");
    this.policies.set(id, { PolicyName: String(input.PolicyName), PolicyARN: `arn:aws:autoscaling:${REGION}:${ACCOUNT}:scalingPolicy:${id}`, ServiceNamespace: "ecs", ResourceId: id, ScalableDimension: "ecs:service:DesiredCount", PolicyType: "TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration: clone(input.TargetTrackingScalingPolicyConfiguration as never), CreationTime: new Date() });
  }

  async deregisterScalableTarget(resourceId: string) {
    if (!this.scalable.delete(resourceId)) throw awsError("ObjectNotFoundException", "No scalable target found.", "DeregisterScalableTarget");
    this.policies.delete(resourceId);
  }

  /** Deployments whose task definition reads an SSM parameter that no longer exists. */
  danglingReferences(): string[] {
    const out: string[] = [];
    for (const { service } of this.services.values()) {
      for (const d of service.deployments ?? []) {
        const td = this.taskDefs.get(d.taskDefinition ?? "")?.td;
        for (const c of td?.containerDefinitions ?? []) {
          for (const sec of c.secrets ?? []) {
            const name = sec.valueFrom?.includes(":parameter") ? sec.valueFrom.slice(sec.valueFrom.indexOf(":parameter") + ":parameter".length) : undefined;
            if (name?.startsWith("/sdx/") && !this.params.has(name)) out.push(`${service.serviceName} ${d.status} deployment reads removed parameter ${name}`);
          }
        }
      }
    }
    return out;
  }

  /** Everything not tagged as `app`'s, for "nothing foreign was touched" checks. */
  foreign(app: string): unknown {
    const tagged = (tags: readonly { key?: string; value?: string }[] | undefined): boolean => (tags ?? []).some((t) => t.key === "sdx:app" && t.value === app);
    return clone({
      services: [...this.services.values()].filter((s) => !tagged(s.service.tags)).map((s) => s.service),
      taskDefs: [...this.taskDefs.values()].filter((t) => !tagged(t.tags)),
      params: [...this.params.values()].filter((p) => p.tags["sdx:app"] !== app),
      scalable: [...this.scalable.values()].filter((t) => ![...this.services.values()].some((s) => tagged(s.service.tags) && t.ResourceId?.endsWith(`/${s.service.serviceName}`))),
    });
  }
}
