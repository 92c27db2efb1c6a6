// Lets a `node --conditions=sdx-source --experimental-transform-types` child run the sdk's TypeScript
// sources (as vitest does): Node transforms the types, and this maps the sources'
// `./x.js` import specifiers to the `./x.ts` files that exist. Test-only.
import { registerHooks } from "node:module";

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (e) {
      const relative = specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("file:");
      if (relative && specifier.endsWith(".js")) return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
      throw e;
    }
  },
});
