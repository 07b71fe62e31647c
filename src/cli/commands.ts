// What each `wspass` command accepts and how it is described: the one table that both the argument
// parser (which options a command knows, "did you mean") and the help texts are built from.
export type OptionName =
  | 'config'
  | 'log-level'
  | 'port'
  | 'workers'
  | 'admin'
  | 'balancer'
  | 'member'
  | 'state'
  | 'weight'
  | 'limit'
  | 'after'
  | 'id'
  | 'server-root'
  | 'listen-map'
  | 'define'
  | 'fix'
  | 'help'
  | 'version';

export const OPTIONS: Readonly<Record<OptionName, { readonly type: 'string' | 'boolean'; readonly short?: string }>> = {
  config: { type: 'string', short: 'c' },
  'log-level': { type: 'string' },
  port: { type: 'string' },
  workers: { type: 'string', short: 'w' },
  admin: { type: 'string' },
  balancer: { type: 'string' },
  member: { type: 'string' },
  state: { type: 'string' },
  weight: { type: 'string' },
  limit: { type: 'string' },
  after: { type: 'string' },
  id: { type: 'string' },
  'server-root': { type: 'string' },
  'listen-map': { type: 'string' },
  define: { type: 'string', short: 'D' },
  fix: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
};

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

interface CommandSpec {
  readonly usage: string;
  readonly summary: string;
  readonly options: readonly OptionName[];
  /** Lines of detail shown by `wspass <command> --help`. */
  readonly details: readonly string[];
  /** The one positional argument the command takes, if any. */
  readonly argument?: string;
}

const APACHE_OPTIONS = [
  '  --server-root DIR    an Apache config\'s ServerRoot when it sets none (default: its folder)',
  '  --define, -D NAMES   names Define\'d for <IfDefine> and ${NAME}, comma-separated (httpd -D)',
];

const ADMIN_TARGET = [
  '  --config FILE    the config of the running wspass: its `admin.listen` is where to reach it',
  '  --admin URL      or the admin endpoint itself, e.g. http://127.0.0.1:9901 (token: WSPASS_ADMIN_TOKEN)',
];

export const COMMANDS = {
  run: {
    usage: 'wspass run --config FILE [--workers N] [--log-level LEVEL] [--listen-map PORT=ADDR]',
    summary: 'start the proxy (N worker threads; default: one per core)',
    options: ['config', 'workers', 'log-level', 'listen-map', 'server-root', 'define', 'help'],
    details: [
      '  --config, -c FILE    YAML, JSON or Apache httpd (.conf) config (checked first; a bad one never starts)',
      '  --listen-map MAP     bind the config\'s listeners elsewhere: PORT=ADDRESS[,...], e.g. 443=127.0.0.1:8443',
      ...APACHE_OPTIONS,
      '  --workers, -w N      worker threads, 1 to 256 (default: one per available core)',
      `  --log-level LEVEL    ${LOG_LEVELS.join(', ')} (default: the config's log.level)`,
      '',
      'Signals: SIGHUP reloads the config; SIGTERM/SIGINT: not ready at once, serve on for shutdown.preStopDelayMs,',
      'then drain and exit 0; a second SIGTERM/SIGINT exits 1 at once.',
      'Exits 1 with the reason when it cannot start (a port in use, an admin port taken, a bad certificate).',
    ],
  },
  validate: {
    usage: 'wspass validate --config FILE',
    summary: 'check a config file; exit 0 when valid, 1 otherwise',
    options: ['config', 'listen-map', 'server-root', 'define', 'help'],
    details: [
      '  --config, -c FILE    YAML, JSON or Apache httpd (.conf) config',
      '  --listen-map MAP     as for run',
      ...APACHE_OPTIONS,
      '',
      'Checks the schema, listener addresses, routes and backend URLs, and that every certificate, key and',
      'CA file exists, is readable and parses as PEM; every problem is listed at once with its key path.',
    ],
  },
  reload: {
    usage: 'wspass reload (--config FILE | --admin URL)',
    summary: 'make a running wspass re-read its config (or: kill -HUP <pid>)',
    options: ['config', 'admin', 'help'],
    details: ADMIN_TARGET,
  },
  status: {
    usage: 'wspass status (--config FILE | --admin URL)',
    summary: 'workers and counters of a running wspass, as JSON',
    options: ['config', 'admin', 'help'],
    details: ADMIN_TARGET,
  },
  members: {
    usage: 'wspass members (--config FILE | --admin URL)',
    summary: 'balancer members: state, weight, open tunnels, health',
    options: ['config', 'admin', 'help'],
    details: ADMIN_TARGET,
  },
  member: {
    usage:
      'wspass member (--config FILE | --admin URL) --balancer NAME --member URL|ROUTE\n' +
      '              [--state active|standby|disabled|draining] [--weight N]',
    summary: 'change a member at runtime (draining: no new tunnels, open ones go on)',
    options: ['config', 'admin', 'balancer', 'member', 'state', 'weight', 'help'],
    details: [
      ...ADMIN_TARGET,
      '  --balancer NAME  a balancer of the config',
      '  --member URL|ROUTE   the member, by its URL or its route',
      '  --state STATE    active, standby, disabled or draining',
      '  --weight N       1 to 1000',
    ],
  },
  tunnels: {
    usage: 'wspass tunnels (--config FILE | --admin URL) [--member URL] [--limit N] [--after ID]',
    summary: 'open tunnels of every worker (route, member, client, age, bytes), one page as JSON',
    options: ['config', 'admin', 'member', 'limit', 'after', 'help'],
    details: [
      ...ADMIN_TARGET,
      '  --member URL     only the tunnels of this balancer member',
      '  --limit N        tunnels per page, 1 to 1000 (default 100)',
      '  --after ID       the page after this tunnel id (the `next` of the previous page)',
    ],
  },
  'close-tunnels': {
    usage: 'wspass close-tunnels (--config FILE | --admin URL) (--id ID | --member URL)',
    summary: 'close one open tunnel, or every tunnel of a balancer member (FIN both ways)',
    options: ['config', 'admin', 'id', 'member', 'help'],
    details: [...ADMIN_TARGET, '  --id ID          the tunnel, by the id `wspass tunnels` shows', '  --member URL     every tunnel of this balancer member'],
  },
  'import-apache': {
    usage: 'wspass import-apache FILE [--fix] [--server-root DIR]',
    summary: 'print the wspass YAML equivalent of an Apache httpd config',
    options: ['server-root', 'define', 'fix', 'help'],
    argument: 'FILE',
    details: [
      '  FILE                 the Apache config (Include, Define and <IfModule> are followed)',
      '  --fix                write the likely intended form of diagnosed mistakes, one comment per correction',
      ...APACHE_OPTIONS,
      '',
      'Each block is commented with the Apache lines it came from. Exits 1 when the config cannot be run.',
    ],
  },
  demo: {
    usage: 'wspass demo [--port N] [--log-level LEVEL]',
    summary: 'a demo echo backend with wspass in front of it',
    options: ['port', 'log-level', 'help'],
    details: [
      '  --port N             where wspass listens (default 8080; a free one if that is taken)',
      `  --log-level LEVEL    ${LOG_LEVELS.join(', ')} (default: info)`,
    ],
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

export function commandHelp(name: CommandName): string {
  const spec: CommandSpec = COMMANDS[name];
  return `Usage: ${spec.usage}\n\n${spec.summary[0]!.toUpperCase()}${spec.summary.slice(1)}.\n\n${spec.details.join('\n')}\n`;
}

export function globalHelp(): string {
  const column = 39;
  const lines = Object.values(COMMANDS).map((spec: CommandSpec) => {
    const usage = `  ${spec.usage}`;
    // A short one-line usage keeps its summary beside it; a long one gets it on the next line.
    if (!usage.includes('\n') && usage.length < column - 1) return `${usage.padEnd(column)}${spec.summary}`;
    return `${usage}\n${' '.repeat(column)}${spec.summary}`;
  });
  return (
    'wspass — a reverse proxy that tunnels WebSocket (and any HTTP/1.1 Upgrade) to backends\n\n' +
    `Usage:\n${lines.join('\n')}\n  wspass --help | --version\n  ${'wspass COMMAND --help'.padEnd(column - 2)}the options of one command\n\n` +
    'Config files are YAML, JSON or Apache httpd (.conf); see the README for every option, and schema/wspass.schema.json.\n' +
    'Signals (run): SIGHUP reloads the config, SIGTERM/SIGINT drain and exit (a second one: at once).\n'
  );
}
