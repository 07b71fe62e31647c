#!/usr/bin/env node
// The `wspass` command: run, validate, demo. Parses arguments, loads config, and hands over to the
// server; no proxy logic lives here.
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/config-error.js';
import { createLogger } from '../log.js';
import { formatMembers } from '../balancer/format.js';
import type { MemberStatus } from '../balancer/registry.js';
import { adminBase, adminCall, adminJson } from './admin-client.js';
import { runDemo } from './demo-command.js';
import { loadAndCheckConfig } from './load-config.js';
import { runProxy } from './run-command.js';

const HELP = `wspass — a reverse proxy that tunnels WebSocket (and any HTTP/1.1 Upgrade) to backends

Usage:
  wspass run --config FILE [--workers N] [--log-level LEVEL]
                                       start the proxy (N worker threads; default: one per core)
  wspass validate --config FILE        check a config file; exit 0 when valid, 1 otherwise
  wspass reload (--config FILE | --admin URL)
                                       make a running wspass re-read its config (or: kill -HUP <pid>)
  wspass status (--config FILE | --admin URL)
                                       workers and counters of a running wspass, as JSON
  wspass members (--config FILE | --admin URL)
                                       balancer members: state, weight, open tunnels, health
  wspass member (--config FILE | --admin URL) --balancer NAME --member URL|ROUTE
                [--state active|standby|disabled|draining] [--weight N]
                                       change a member at runtime (draining: no new tunnels, open ones go on)
  wspass demo [--port N]               a demo echo backend with wspass in front of it
  wspass --help | --version

Config files are YAML or JSON; see the README for every option, and schema/wspass.schema.json.
Signals (run): SIGHUP reloads the config, SIGTERM/SIGINT drain and exit.
`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        'log-level': { type: 'string' },
        port: { type: 'string' },
        workers: { type: 'string', short: 'w' },
        admin: { type: 'string' },
        balancer: { type: 'string' },
        member: { type: 'string' },
        state: { type: 'string' },
        weight: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    process.stderr.write(`wspass: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) {
    process.stdout.write('wspass 0.1.0\n');
    return 0;
  }
  switch (command) {
    case 'validate': {
      if (!values.config) return usage('validate needs --config FILE');
      try {
        const config = loadAndCheckConfig(values.config);
        process.stdout.write(`${values.config}: valid (${config.routes.length} route(s))\n`);
        return 0;
      } catch (err) {
        return reportConfigError(err);
      }
    }
    case 'run': {
      if (!values.config) return usage('run needs --config FILE');
      let config;
      try {
        config = loadAndCheckConfig(values.config);
      } catch (err) {
        return reportConfigError(err);
      }
      const level = (values['log-level'] ?? config.log.level) as Parameters<typeof createLogger>[0];
      let workers: number | undefined;
      if (values.workers !== undefined) {
        workers = Number(values.workers);
        if (!Number.isInteger(workers) || workers < 1 || workers > 256) return usage('--workers takes a number from 1 to 256');
      }
      return runProxy(values.config, config, createLogger(level), { workers });
    }
    case 'reload':
    case 'status':
    case 'members':
    case 'member': {
      let base: string;
      try {
        base = adminBase(values.admin, values.config);
      } catch (err) {
        if (err instanceof ConfigError) return reportConfigError(err);
        return usage((err as Error).message);
      }
      if (command === 'reload') return adminCall(base, 'POST', '/reload');
      if (command === 'status') return adminCall(base, 'GET', '/status');
      if (command === 'members') {
        const list = await adminJson(base, 'GET', '/balancers');
        if (list === undefined) return 1;
        process.stdout.write(`${formatMembers(list as MemberStatus[])}\n`);
        return 0;
      }
      if (!values.balancer || !values.member) return usage('member needs --balancer NAME and --member URL|ROUTE');
      if (values.state === undefined && values.weight === undefined) return usage('member needs --state and/or --weight');
      const query = new URLSearchParams();
      if (values.state !== undefined) query.set('state', values.state);
      if (values.weight !== undefined) query.set('weight', values.weight);
      const path = `/balancers/${encodeURIComponent(values.balancer)}/members/${encodeURIComponent(values.member)}?${query.toString()}`;
      const status = await adminJson(base, 'POST', path);
      if (status === undefined) return 1;
      process.stdout.write(`${formatMembers([status as MemberStatus])}\n`);
      return 0;
    }
    case 'demo': {
      const port = values.port === undefined ? 8080 : Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) return usage('--port takes a number from 0 to 65535');
      return runDemo(port, createLogger((values['log-level'] ?? 'info') as Parameters<typeof createLogger>[0]));
    }
    case undefined:
      process.stdout.write(HELP);
      return 2;
    default:
      return usage(`unknown command "${command}"`);
  }
}

function usage(message: string): number {
  process.stderr.write(`wspass: ${message}\n\n${HELP}`);
  return 2;
}

function reportConfigError(err: unknown): number {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  throw err;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0 || !process.exitCode) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`wspass: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
