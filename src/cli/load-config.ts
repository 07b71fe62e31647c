// Loads a config file and checks everything that can be checked before anything binds: the schema, the
// listener addresses, and the route table (regexes compile, backend URLs parse, CA files read).
import { loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { compileRoutes, RouteCompileError } from '../routing/route-table.js';

export function loadAndCheckConfig(file: string): Config {
  return loadConfigFile(file, {
    extraChecks: (config) => {
      try {
        compileRoutes(config);
        return [];
      } catch (err) {
        if (err instanceof RouteCompileError) return err.issues;
        throw err;
      }
    },
  });
}
