import { boundedName, ownershipLabels } from "@sdx/sdk";

/** Resource kinds this backend renders, in apply order (deletes run in reverse). */
export const ECS_KIND_ORDER = ["cluster", "log-group", "task-definition", "service", "scaling"] as const;

/** One of {@link ECS_KIND_ORDER}. */
export type EcsKind = (typeof ECS_KIND_ORDER)[number];

/** The ECS-style ownership tag keys the issue asks for, next to the sdk's standard labels. */
export const TAG_APP = "sdx:app";
export const TAG_SERVICE = "sdx:service";
export const TAG_REVISION = "sdx:revision";

/** Task-definition family of a service (ECS allows 255 letters, digits, '-' and '_'). */
export const familyName = (app: string, service: string): string => boundedName(`${app}-${service}`, 255);

/** Log group every service of an app writes to. */
export const logGroupName = (app: string): string => `/sdx/${app}`;

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
