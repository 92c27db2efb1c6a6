import { describe, expect, it } from "vitest";
import type { EcsTarget } from "../ecs-target.js";
import { AwsEcsPort, type AwsClients } from "./aws-ecs-port.js";

// The port's own behaviour, with the SSM client short-circuited by middleware (no network).
const target = { kind: "ecs", name: "ecs", region: "us-east-1", cluster: "shop", endpoint: "http://127.0.0.1:9" } as EcsTarget;
const credentials = { accessKeyId: "test", secretAccessKey: "test" };
const respond = (fn: () => unknown) => (c: AwsClients) => {
  (c.ssm.middlewareStack as { add: (mw: unknown, o: unknown) => void }).add(
    () => async () => ({ output: fn() }),
    { step: "initialize", name: "sdxTestResponder" },
  );
};

describe("AwsEcsPort SSM calls", () => {
  it("keeps a secret value out of the error when AWS quotes it back", async () => {
    const secret = "hunter2-very-secret";
    const port = new AwsEcsPort(target, {
      credentials, attempts: 1,
      configureClients: respond(() => {
        throw Object.assign(new Error(`1 validation error detected: Value '${secret}' at 'value' failed to satisfy constraint`), { name: "ValidationException", $fault: "client", $metadata: { httpStatusCode: 400 } });
      }),
    });
    const err = await port.putParameter({ Name: "/sdx/shop/shop/api/db-password", Value: secret, Type: "SecureString", Overwrite: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "SDX_BACKEND_REJECTED", fault: "user", message: expect.stringContaining("SSM rejected the request (ValidationException)") });
    expect((err as Error).message).toContain("Value '[redacted]'");
    expect(JSON.stringify(err)).not.toContain(secret);
    expect(String((err as Error).cause)).not.toContain(secret);
    expect((err as Error).message).not.toContain(secret);
    port.destroy();
  });

  it("passes on DescribeParameters metadata only, never a Value an emulator echoes", async () => {
    const port = new AwsEcsPort(target, {
      credentials,
      configureClients: respond(() => ({ Parameters: [{ Name: "/sdx/shop/shop/api/db-password", Type: "SecureString", Value: "kms:alias/aws/ssm:plaintext", Version: 3, Tier: "Standard", Description: "d" }] })),
    });
    expect(await port.describeParameters("/sdx/shop/shop")).toEqual([{ name: "/sdx/shop/shop/api/db-password", type: "SecureString", description: "d", tier: "Standard", version: 3 }]);
    port.destroy();
  });
});

/** Answers every ECS and SSM command with `fn(commandName, input)` (no network), recording the calls. */
const scripted = (fn: (command: string, input: Record<string, unknown>) => unknown, calls: { command: string; input: Record<string, unknown> }[]) => (c: AwsClients) => {
  for (const client of [c.ecs, c.ssm]) {
    (client.middlewareStack as { add: (mw: unknown, o: unknown) => void }).add(
      (_next: unknown, context: { commandName: string }) => async (args: { input: Record<string, unknown> }) => {
        calls.push({ command: context.commandName, input: args.input });
        return { output: fn(context.commandName, args.input) };
      },
      { step: "initialize", name: "sdxTestScript" },
    );
  }
};
const throttled = () => Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException", $fault: "client", $metadata: { httpStatusCode: 400 } });

describe("AwsEcsPort non-idempotent calls under throttling", () => {
  const td = {
    family: "shop-api", requiresCompatibilities: ["FARGATE"], networkMode: "awsvpc", cpu: "256", memory: "512",
    containerDefinitions: [{ name: "api", image: "busybox", essential: true }], tags: [{ key: "sdx:revision", value: "abc123" }],
  };

  it("CreateService retries with the same clientToken, so a lost response cannot create the service twice", async () => {
    const calls: { command: string; input: Record<string, unknown> }[] = [];
    let n = 0;
    const port = new AwsEcsPort(target, { credentials, baseDelayMs: 1, configureClients: scripted(() => { if (n++ === 0) throw throttled(); return { service: { serviceName: "api" } }; }, calls) });
    expect(await port.createService({ cluster: "shop", serviceName: "api" })).toEqual({ serviceName: "api" });
    const tokens = calls.filter((c) => c.command === "CreateServiceCommand").map((c) => c.input.clientToken);
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(tokens[1]).toBe(tokens[0]);
    port.destroy();
  });

  it("RegisterTaskDefinition looks before it retries, and takes the revision a lost attempt registered", async () => {
    const calls: { command: string; input: Record<string, unknown> }[] = [];
    const arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-api:8";
    const port = new AwsEcsPort(target, {
      credentials, baseDelayMs: 1,
      configureClients: scripted((command) => {
        // The first attempt registered revision 8, but its answer was lost (throttled on the way back).
        if (command === "RegisterTaskDefinitionCommand") throw throttled();
        return { taskDefinition: { ...td, tags: undefined, taskDefinitionArn: arn, revision: 8, registeredAt: new Date() }, tags: td.tags };
      }, calls),
    });
    const r = await port.registerTaskDefinition(td);
    expect(r.taskDefinitionArn).toBe(arn);
    expect(calls.map((c) => c.command)).toEqual(["RegisterTaskDefinitionCommand", "DescribeTaskDefinitionCommand"]);
    port.destroy();
  });

  it("RegisterTaskDefinition registers again when the latest revision is not this one", async () => {
    const calls: { command: string; input: Record<string, unknown> }[] = [];
    let registers = 0;
    const port = new AwsEcsPort(target, {
      credentials, baseDelayMs: 1,
      configureClients: scripted((command) => {
        if (command === "RegisterTaskDefinitionCommand") {
          if (registers++ === 0) throw throttled();
          return { taskDefinition: { ...td, taskDefinitionArn: "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-api:9" } };
        }
        // The latest revision is an older one with another image.
        return { taskDefinition: { ...td, containerDefinitions: [{ name: "api", image: "old" }], registeredAt: new Date() }, tags: td.tags };
      }, calls),
    });
    expect((await port.registerTaskDefinition(td)).taskDefinitionArn).toMatch(/:9$/);
    expect(calls.map((c) => c.command)).toEqual(["RegisterTaskDefinitionCommand", "DescribeTaskDefinitionCommand", "RegisterTaskDefinitionCommand"]);
    port.destroy();
  });

  it("a PutParameter create retried after a lost response finds its own digest tag instead of failing with ParameterAlreadyExists", async () => {
    const calls: { command: string; input: Record<string, unknown> }[] = [];
    const port = new AwsEcsPort(target, {
      credentials, baseDelayMs: 1,
      configureClients: scripted((command) => {
        if (command === "PutParameterCommand") throw throttled();
        return { TagList: [{ Key: "sdx:digest", Value: "d1" }] };
      }, calls),
    });
    expect(await port.putParameter({ Name: "/sdx/shop/shop/api/k", Value: "v", Type: "SecureString", Tags: [{ Key: "sdx:digest", Value: "d1" }] })).toEqual({});
    expect(calls.map((c) => c.command)).toEqual(["PutParameterCommand", "ListTagsForResourceCommand"]);
    port.destroy();
  });
});
