#!/usr/bin/env node
// The `wspass` command: run, validate, demo. Parses arguments, loads config, and hands over to the
// server; no proxy logic lives here.
import { ConfigError } from '../config/config-error.js';
import { createLogger, type LogLevel } from '../log.js';
import { formatMembers } from '../balancer/format.js';
import type { MemberStatus } from '../balancer/registry.js';
import { parseCommandLine } from './args.js';
import { adminBase, adminCall, adminJson, type AdminTarget } from './admin-client.js';
import { runDemo } from './demo-command.js';
import { apacheToYaml } from '../config/apache/emit-yaml.js';
import { formatNote, loadApache } from '../config/apache/index.js';
import { parseListenMap } from '../config/listen-map.js';
import { loadAndCheckConfig, type ReadSettings } from './load-config.js';
import type { OptionValues } from './args.js';
import { runProxy } from './run-command.js';

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv);
  switch (parsed.kind) {
    case 'help':
      process.stdout.write(parsed.text);
      return parsed.code;
    case 'version':
      process.stdout.write('wspass 0.1.0\n');
      return 0;
    case 'usage-error':
      return usage(parsed.message);
  }
  const { command, values } = parsed;
  let read: ReadSettings;
  try {
    read = readSettings(values);
  } catch (err) {
    return usage((err as Error).message);
  }
  switch (command) {
    case 'import-apache': {
      const file = parsed.argument!;
      const result = loadApache(file, { ...read.apache, fix: values.fix === true });
      const errors = result.notes.filter((n) => n.level === 'error');
      for (const n of errors) process.stderr.write(`${formatNote(n)}\n`);
      if (errors.length > 0) return 1;
      process.stdout.write(apacheToYaml(file, result));
      return 0;
    }
    case 'validate': {
      if (!values.config) return usage('validate needs --config FILE');
      try {
        const config = loadAndCheckConfig(values.config, read);
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
        config = loadAndCheckConfig(values.config, read);
      } catch (err) {
        return reportConfigError(err);
      }
      const level = (values['log-level'] as LogLevel | undefined) ?? config.log.level;
      let workers: number | undefined;
      if (values.workers !== undefined) {
        workers = Number(values.workers);
        if (!Number.isInteger(workers) || workers < 1 || workers > 256) return usage('--workers takes a number from 1 to 256');
      }
      // Reloads list the Apache notes again only when something is wrong: start-up said them once.
      return runProxy(values.config, config, createLogger(level), { workers, read: { ...read, onNotice: () => undefined } });
    }
    case 'reload':
    case 'status':
    case 'members':
    case 'member':
    case 'tunnels':
    case 'close-tunnels': {
      let base: AdminTarget;
      try {
        base = adminBase(values.admin, values.config);
      } catch (err) {
        if (err instanceof ConfigError) return reportConfigError(err);
        return usage((err as Error).message);
      }
      if (command === 'reload') return adminCall(base, 'POST', '/reload');
      if (command === 'status') return adminCall(base, 'GET', '/status');
      if (command === 'tunnels') {
        const query = new URLSearchParams();
        for (const key of ['limit', 'after', 'member'] as const) if (values[key] !== undefined) query.set(key, values[key]);
        return adminCall(base, 'GET', `/tunnels${query.size > 0 ? `?${query.toString()}` : ''}`);
      }
      if (command === 'close-tunnels') {
        if ((values.id === undefined) === (values.member === undefined)) return usage('close-tunnels needs --id ID or --member URL');
        if (values.id !== undefined) return adminCall(base, 'DELETE', `/tunnels/${encodeURIComponent(values.id)}`);
        return adminCall(base, 'DELETE', `/tunnels?member=${encodeURIComponent(values.member!)}`);
      }
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
      return runDemo(port, createLogger((values['log-level'] as LogLevel | undefined) ?? 'info'));
    }
  }
}

/** --listen-map, --server-root and --define as load settings; throws with a usage message. */
function readSettings(values: OptionValues): ReadSettings {
  let listenMap;
  if (values['listen-map'] !== undefined) {
    const parsed = parseListenMap(values['listen-map']);
    if (typeof parsed === 'string') throw new Error(parsed);
    listenMap = parsed;
  }
  const defines = values.define?.split(',').map((d) => d.trim()).filter((d) => d !== '');
  return {
    listenMap,
    apache: { ...(values['server-root'] !== undefined && { serverRoot: values['server-root'] }), ...(defines !== undefined && { defines }) },
    // httpd prints its start-up warnings on stderr too.
    onNotice: (line) => process.stderr.write(`${line}\n`),
  };
}

/** One line on stderr: what is wrong and where to look; no stack, no page of help. */
function usage(message: string): number {
  process.stderr.write(`wspass: ${message}\n`);
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
