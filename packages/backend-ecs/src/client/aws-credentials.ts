import { fromEnv } from "@aws-sdk/credential-provider-env";
import { fromIni } from "@aws-sdk/credential-provider-ini";
import { fromTokenFile } from "@aws-sdk/credential-provider-web-identity";
import type { ECSClientConfig } from "@aws-sdk/client-ecs";

/** A credential provider as the AWS clients take it. */
export type AwsCredentials = NonNullable<ECSClientConfig["credentials"]>;

type Provider = () => Promise<Awaited<ReturnType<Extract<AwsCredentials, (...a: never[]) => unknown>>>>;

/**
 * True when the caller allows the remote credential sources of the default
 * chain: the ECS/EKS container endpoint (set by AWS inside tasks), or the EC2
 * instance metadata service when AWS_EC2_METADATA_DISABLED is explicitly "false".
 */
export function remoteCredentialsAllowed(env: Readonly<Record<string, string | undefined>>): boolean {
  return Boolean(env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) || env.AWS_EC2_METADATA_DISABLED === "false";
}

/**
 * The AWS default credential chain without its remote links unless allowed
 * (see {@link remoteCredentialsAllowed}). The default chain ends at the EC2
 * instance metadata service (169.254.169.254): off AWS that costs a timeout
 * per call and, worse, sends a request to a non-loopback address. So sdx stops
 * at environment variables, shared config/credentials profiles (including SSO,
 * credential_process and role assumption) and web-identity token files, and
 * otherwise fails at once with CredentialsProviderError (mapped to SDX_BACKEND_AUTH).
 *
 * Returns undefined when the remote links are allowed: the SDK's own chain is used.
 */
export function safeCredentialChain(env: Readonly<Record<string, string | undefined>> = process.env): AwsCredentials | undefined {
  if (remoteCredentialsAllowed(env)) return undefined;
  const links: Provider[] = [fromEnv() as Provider, fromIni() as Provider, fromTokenFile() as Provider];
  return async () => {
    let last: unknown;
    for (const link of links) {
      try {
        return await link();
      } catch (e) {
        last = e;
        // Same rule as the SDK's chain: a link that says "not configured here" passes on; a real failure stops.
        if ((e as { tryNextLink?: boolean }).tryNextLink === false) throw e;
      }
    }
    const err = new Error(`Could not load AWS credentials from the environment, shared config files or a web identity token file (the instance metadata service is not consulted; set AWS_EC2_METADATA_DISABLED=false to allow it)`, { cause: last });
    err.name = "CredentialsProviderError";
    throw err;
  };
}
