// @sdx/backend-ecs/aws: the AWS SDK side of the backend, kept off the main entry so that
// loading the backend for an offline plan does not load the AWS SDK.
export { AwsEcsPort, type AwsClients, type AwsEcsPortOptions } from "./aws-ecs-port.js";
export { safeCredentialChain, remoteCredentialsAllowed, type AwsCredentials } from "./aws-credentials.js";
