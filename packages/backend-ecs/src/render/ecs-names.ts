import { boundedName, ownershipLabels } from "@sdx/sdk";

/** Resource kinds this backend renders, in apply order (deletes run in reverse). Parameters precede the task definitions that reference them. */
export const ECS_KIND_ORDER = ["cluster", "log-group", "ssm-parameter", "task-definition", "service", "scaling"] as const;

/** One of {@link ECS_KIND_ORDER}. */
export type EcsKind = (typeof ECS_KIND_ORDER)[number];

/** The ECS-style ownership tag keys the issue asks for, next to the sdk's standard labels. */
export const TAG_APP = "sdx:app";
export const TAG_SERVICE = "sdx:service";
export const TAG_REVISION = "sdx:revision";
/** Tag on an sdx-stored SSM parameter: the 16-hex digest of the value it holds, so plans compare without decrypting. */
export const TAG_DIGEST = "sdx:digest";
/** Docker label prefix on a container: `sdx.dev/secret-digest.<secret>` = digest, so a changed value makes a new revision. */
export const SECRET_DIGEST_LABEL = "sdx.dev/secret-digest.";

/** Task-definition family of a service (ECS allows 255 letters, digits, '-' and '_'). */
export const familyName = (app: string, service: string): string => boundedName(`${app}-${service}`, 255);

/** Log group every service of an app writes to. */
export const logGroupName = (app: string): string => `/sdx/${app}`;

/**
 * SSM path under which sdx stores one app's env/file secrets on one cluster. The
 * cluster is part of it because parameters are per account and region, not per
 * cluster: staging and prod clusters of the same app must not overwrite (or, on
 * destroy, delete) each other's values.
 */
export const parameterPath = (app: string, cluster: string): string => `/sdx/${app}/${cluster}`;

/** Name of the SecureString parameter holding one secret: `/sdx/<app>/<cluster>/<service>/<secret>`. */
export const parameterName = (app: string, cluster: string, service: string, secret: string): string => `${parameterPath(app, cluster)}/${service}/${secret}`;

/** Application Auto Scaling resource id of an ECS service. */
export const scalingResourceId = (cluster: string, service: string): string => `service/${cluster}/${service}`;

/** Name of the target-tracking policy sdx puts on a service. */
export const scalingPolicyName = (app: string, service: string): string => boundedName(`sdx-${app}-${service}-cpu`, 256);

/** Tags on every object sdx creates: the sdk's ownership labels plus the `sdx:*` keys. */
export function ownershipTags(app: string, service?: string, revision?: string): Record<string, string> {
  return {
    ...ownershipLabels(app, service, revision),
    [TAG_APP]: app,
    ...(service === undefined ? {} : { [TAG_SERVICE]: service }),
    ...(revision === undefined ? {} : { [TAG_REVISION]: revision }),
  };
}

/** ECS `[{key, value}]` tags as a record. */
export function tagRecord(tags: readonly { key?: string | undefined; value?: string | undefined }[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.key !== undefined) out[t.key] = t.value ?? "";
  return out;
}

/** A record as ECS `[{key, value}]` tags, sorted by key so renders are stable. */
export function tagList(tags: Readonly<Record<string, string>>): { key: string; value: string }[] {
  return Object.keys(tags).sort().map((key) => ({ key, value: tags[key]! }));
}

/** The family in a task-definition ARN or `family:revision` reference. */
export function familyOf(ref: string): string {
  const tail = ref.includes("task-definition/") ? ref.slice(ref.indexOf("task-definition/") + "task-definition/".length) : ref;
  return tail.split(":")[0]!;
}
