// Importers from Compose and Score into the sdx.yaml authoring format.
export * from "./import-result.js";
export * from "./import-compose.js";
export * from "./import-score.js";
export * from "./import-app.js";
export * from "./detect-import-format.js";
export * from "./to-sdx-yaml.js";
export { interpolateComposeString, type InterpolateComposeStringResult } from "./compose-interpolate.js";
