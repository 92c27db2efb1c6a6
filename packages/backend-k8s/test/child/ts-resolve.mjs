// Lets a plain `node` child process run the TypeScript sources, as vitest does:
// `node --experimental-transform-types --conditions=sdx-source --import ./ts-resolve.mjs script.ts`.
// Source files import siblings as `./x.js`; when no such .js exists, the .ts is used.
import { registerHooks } from "node:module";

registerHooks({
  resolve(specifier, context, next) {
    try {
      return next(specifier, context);
    } catch (e) {
      if (e?.code === "ERR_MODULE_NOT_FOUND" && /^\.{1,2}\/.*\.js$/.test(specifier)) return next(specifier.replace(/\.js$/, ".ts"), context);
      throw e;
    }
  },
});
