// @sdx/sdk/di: the inversify composition root for embedders. Kept out of the
// main entry so that `import "@sdx/sdk"` (and the CLI) never loads inversify.
export * from "./create-sdx-container.js";
export * from "./tokens.js";
