/**
 * Projections of Swarm objects onto the fields sdx manages, so that a rendered
 * spec and the engine's inspected spec compare equal when nothing changed: the
 * engine fills in defaults (Isolation, DNSConfig, StopGracePeriod, ForceUpdate,
 * Runtime…), replaces network names with IDs and adds secret/config IDs.
 */
type Obj = Record<string, unknown>;

const obj = (v: unknown): Obj => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function pick(o: unknown, keys: readonly string[]): Obj {
  const src = obj(o);
  const out: Obj = {};
  for (const k of keys) if (src[k] !== undefined) out[k] = src[k];
  return out;
}

/**
 * Drops what the engine treats as unset: undefined, null, "", 0, false, and
 * empty lists and objects, recursively. A change to or from a zero value still
 * shows, as the value appearing or disappearing.
 */
export function stripEmpty(v: unknown): unknown {
  if (Array.isArray(v)) {
    const a = v.map(stripEmpty).filter((x) => x !== undefined);
    return a.length ? a : undefined;
  }
  if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) {
      const s = stripEmpty(x);
      if (s !== undefined) out[k] = s;
    }
    return Object.keys(out).length ? out : undefined;
  }
  if (v === undefined || v === null || v === "" || v === 0 || v === false) return undefined;
  return v;
}

const UPDATE_KEYS = ["Parallelism", "Delay", "FailureAction", "Monitor", "MaxFailureRatio", "Order"] as const;

/** The fields of a ServiceSpec sdx sets, normalised. `networkNames` maps network IDs back to names. */
export function comparableService(spec: unknown, networkNames: ReadonlyMap<string, string> = new Map()): Obj {
  const s = obj(spec);
  const t = obj(s.TaskTemplate);
  const c = obj(t.ContainerSpec);
  const ep = obj(s.EndpointSpec);
  const out = {
    Name: s.Name,
    Labels: s.Labels,
    TaskTemplate: {
      ContainerSpec: {
        ...pick(c, ["Image", "Labels", "Command", "Args", "Env"]),
        Secrets: arr(c.Secrets).map((x) => pick(x, ["File", "SecretName"])),
        Configs: arr(c.Configs).map((x) => pick(x, ["File", "ConfigName"])),
        Mounts: arr(c.Mounts).map((x) => pick(x, ["Type", "Source", "Target", "ReadOnly", "TmpfsOptions", "VolumeOptions"])),
        // StartInterval is only sent to newer engines (see adaptSpecToApi), so it is not compared.
        Healthcheck: pick(c.Healthcheck, ["Test", "Interval", "Timeout", "Retries", "StartPeriod"]),
      },
      Resources: pick(t.Resources, ["Limits", "Reservations"]),
      RestartPolicy: pick(t.RestartPolicy, ["Condition", "Delay", "MaxAttempts", "Window"]),
      Placement: pick(t.Placement, ["Constraints", "Preferences"]),
      Networks: arr(t.Networks).map((n) => {
        const x = obj(n);
        const target = typeof x.Target === "string" ? (networkNames.get(x.Target) ?? x.Target) : x.Target;
        return { Target: target, Aliases: x.Aliases };
      }),
    },
    Mode: pick(s.Mode, ["Replicated", "Global"]),
    UpdateConfig: pick(s.UpdateConfig, UPDATE_KEYS),
    RollbackConfig: pick(s.RollbackConfig, UPDATE_KEYS),
    EndpointSpec: {
      // The engine reports an unset mode as "vip", its default.
      Mode: ep.Mode ?? "vip",
      Ports: arr(ep.Ports).map((p) => pick(p, ["Protocol", "TargetPort", "PublishedPort", "PublishMode"])),
    },
  };
  return (stripEmpty(out) as Obj | undefined) ?? {};
}

/**
 * Secrets and configs are immutable and content-named, so the name is all there
 * is to compare (ownership is checked separately, and relabelling an object
 * Swarm cannot change is not worth a new one).
 */
export function comparableObject(spec: unknown): Obj {
  return (stripEmpty(pick(spec, ["Name"])) as Obj | undefined) ?? {};
}

/** The network fields sdx sets; labels aside, as for secrets, since a network cannot be changed in place. */
export function comparableNetwork(n: unknown): Obj {
  return (stripEmpty(pick(n, ["Name", "Driver", "Attachable"])) as Obj | undefined) ?? {};
}
