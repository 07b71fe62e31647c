// The one step that builds what a proxy routes requests with: the balancers over a member table (shared by
// every worker thread, or private to a check), then the route table over those balancers. The route table
// only refers to the balancers it is given; it never reaches the shared member state itself.
//
//   config ──▶ compileBalancers(config, members) ──▶ compileRoutes(config, { balancers }) ──▶ RouteTable
//                   ▲ MemberTable: the primary's SharedArrayBuffer (workers), or MemberTable.unshared
import { compileBalancers } from '../balancer/compile-balancers.js';
import { MemberTable } from '../balancer/member-table.js';
import type { Config } from '../config/schema.js';
import { backendTlsReader } from '../routing/backend-tls.js';
import { IssueList } from '../routing/compile-issues.js';
import { compileRoutes, type RouteTable } from '../routing/route-table.js';

export interface ComposeOptions {
  /** Member state shared across threads; default: a private table, initialised from the config. */
  readonly members?: MemberTable;
  /** Reads a CA file (default: fs.readFileSync as UTF-8). */
  readonly readFile?: (path: string) => string;
  /** Clock of the balancers (tests). */
  readonly now?: () => number;
}

/** Compiles balancers and routes; throws RouteCompileError listing every problem of both. */
export function composeRoutes(config: Config, opts: ComposeOptions = {}): RouteTable {
  const issues = new IssueList();
  const tls = backendTlsReader(issues.report, opts.readFile);
  const balancers = compileBalancers(config, opts.members ?? MemberTable.unshared(config), {
    report: issues.report,
    tlsFor: (_origin, where) => tls(config.defaults.tls, where),
    ...(opts.now !== undefined && { now: opts.now }),
  });
  return compileRoutes(config, { balancers, issues, tls });
}
