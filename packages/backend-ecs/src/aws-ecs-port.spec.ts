import { describe, expect, it } from "vitest";
import type { EcsTarget } from "@sdx/sdk";
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
