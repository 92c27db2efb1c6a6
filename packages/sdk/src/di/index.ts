// @sdx/sdk/di: the inversify composition root for embedders. Kept out of the
// main entry so that `import "@sdx/sdk"` (and the CLI) never loads inversify.
export * from "./create-sdx-container.js";
export * from "./tokens.js";
// The type a backend's `<kind>-module.ts` returns, so backends need no inversify dependency of their own.
export type { ContainerModule } from "inversify";
