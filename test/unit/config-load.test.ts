// Config loading: defaults, freezing, and the exact text and position of every kind of error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WspassError } from '../../src/errors.js';
import { ConfigError, formatIssues, loadConfigFile, loadConfigText } from '../../src/config/load.js';
import type { ConfigIssue, LoadOptions } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';

const ROUTE = 'routes:\n  - path: /\n    backend: ws://127.0.0.1:9001/\n';

/** Loads text that must fail and returns the ConfigError. */
function failure(text: string, file = 'wspass.yaml', opts?: LoadOptions): ConfigError {
  try {
    loadConfigText(text, file, opts);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('the config was accepted');
}

function lines(text: string, file?: string, opts?: LoadOptions): string[] {
  return failure(text, file, opts).message.split('\n');
}

test('defaults are applied to a minimal config', () => {
  const config = loadConfigText(`listen: 127.0.0.1:0\n${ROUTE}`, 'wspass.yaml');
  assert.equal(config.maxHeaderBytes, 16384);
  assert.deepEqual(config.log, { level: 'info', access: true, tunnelOpen: false });
  assert.deepEqual(config.defaults, {
    idleTimeoutMs: 0,
    connectTimeoutMs: 5000,
    handshakeTimeoutMs: 30000,
    preserveHost: false,
    forwardedHeaders: true,
    async: false,
    asyncDelayMs: 0,
    highWaterMarkBytes: 262144,
  });
  assert.deepEqual(config.routes[0], {
    path: '/',
    backend: 'ws://127.0.0.1:9001/',
    upgradeOnly: false,
  });
});

test('the result is deeply frozen', () => {
  const config = loadConfigText(
    'listen: [":0", { address: "127.0.0.1:0", tls: { certFile: a, keyFile: b } }]\n' +
      'routes:\n  - path: /\n    backend: ws://b/\n    when: { header: { upgrade: websocket } }\n',
    'wspass.yaml',
  );
  const route = config.routes[0];
  assert.ok(route !== undefined && Array.isArray(config.listen));
  for (const part of [config, config.defaults, config.log, config.routes, route, route.when, route.when?.header, config.listen, config.listen[1]]) {
    assert.equal(Object.isFrozen(part), true);
  }
  assert.throws(() => {
    config.defaults.idleTimeoutMs = 1;
  }, TypeError);
  assert.throws(() => {
    config.routes.push(route);
  }, TypeError);
});

test('wrong type: names the type with its unit and what was written, at the value', () => {
  const text = `listen: ":0"\ndefaults:\n  connectTimeoutMs: 100\n  idleTimeoutMs: 5s\n${ROUTE}`;
  assert.deepEqual(lines(text), [
    'wspass.yaml:4:18: defaults.idleTimeoutMs: expected a number in milliseconds, got string "5s" (write 5000)',
  ]);
  assert.deepEqual(lines(`listen: ":0"\n${ROUTE}    highWaterMarkBytes: 1.5\n    upgradeOnly: "yes"\n`), [
    'wspass.yaml:5:25: routes[0].highWaterMarkBytes: expected a whole number in bytes, got number 1.5',
    'wspass.yaml:6:18: routes[0].upgradeOnly: expected true or false, got string "yes"',
  ]);
});

test('an empty value where a mapping belongs points at its key', () => {
  assert.deepEqual(lines(`listen: ":0"\ndefaults:\n${ROUTE}`), [
    'wspass.yaml:2:1: defaults: expected a mapping (key: value), got an empty value',
  ]);
});

test('a document that is not a mapping', () => {
  assert.deepEqual(lines('- listen\n- routes\n'), ['wspass.yaml:1:1: expected a mapping (key: value), got a list']);
});

test('unknown key: points at the key, lists the allowed keys, suggests the closest', () => {
  const text = `listen: ":0"\n${ROUTE}    idleTimeout: 5000\n`;
  const err = failure(text);
  assert.deepEqual(err.message.split('\n'), [
    'wspass.yaml:5:5: routes[0].idleTimeout: unknown key "idleTimeout" (did you mean idleTimeoutMs?); allowed keys: ' +
      'name, host, listener, path, match, when, exclude, respond, backend, upgrade, upgradeOnly, maxTunnels, allowedOrigins, reverse, proxyProtocol, serverName, idleTimeoutMs, connectTimeoutMs, ' +
      'handshakeTimeoutMs, preserveHost, forwardedHeaders, async, asyncDelayMs, highWaterMarkBytes, tls',
  ]);
  assert.deepEqual(err.issues[0]?.path, ['routes', 0, 'idleTimeout']);
});

test('unknown key far from every allowed one gets no suggestion', () => {
  assert.deepEqual(lines(`colour: blue\nlisten: ":0"\n${ROUTE}`), [
    'wspass.yaml:1:1: colour: unknown key "colour"; allowed keys: $schema, listen, maxHeaderBytes, maxRequestLineBytes, maxHeaderFieldBytes, maxHeaderFields, headTimeoutMs, forwardedFor, defaults, routes, balancers, limits, admin, health, tunnel, shutdown, log',
  ]);
});

test('unknown key inside a union member is found in the member the value was meant for', () => {
  const text = 'listen:\n  - address: ":0"\n    tls: { certFile: a.crt, keyfile: a.key }\n' + ROUTE;
  assert.deepEqual(lines(text), [
    'wspass.yaml:3:10: listen[0].tls.keyFile: required key "keyFile" is missing; expected a string — PEM private key (SSLCertificateKeyFile)',
    'wspass.yaml:3:29: listen[0].tls.keyfile: unknown key "keyfile" (did you mean keyFile?); allowed keys: certFile, keyFile, chainFile, names, hosts, sni',
  ]);
});

test('enum: lists the allowed values', () => {
  assert.deepEqual(lines(`listen: ":0"\n${ROUTE}log:\n  level: loud\n`), [
    'wspass.yaml:6:10: log.level: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent" (got string "loud")',
  ]);
});

test('union: lists the allowed forms and the schema description', () => {
  assert.deepEqual(lines(`listen: 8080\n${ROUTE}`), [
    'wspass.yaml:1:9: listen: expected a string or a list, got number 8080 — ' +
      'Where to accept clients: "host:port", or a list of addresses / { address, tls }',
  ]);
  assert.deepEqual(lines(`listen: ":0"\n${ROUTE}    upgrade: 5\n`), [
    'wspass.yaml:5:14: routes[0].upgrade: expected a string or a list or true or false, got number 5 — Protocols ' +
      'tunnelled: "websocket", a list of protocol names, "ANY" (forward whatever the client asks for), "NONE" (skip ' +
      'the Upgrade header check, tunnel WebSocket) or false (never: upgrade requests are proxied as plain HTTP ' +
      'without Upgrade). Default from the backend, as Apache: "websocket" for ws:// and wss://, false for http:// ' +
      "and https://; for a balancer, its `upgrade`, else its members' (which must agree)",
  ]);
  assert.deepEqual(lines(`listen: ":0"\n${ROUTE}    upgrade: true\n`), [
    'wspass.yaml:5:14: routes[0].upgrade: true is not a value here: name the protocols to tunnel (e.g. websocket), ' +
      'or write false for none',
  ]);
  // The string member was meant: its own message, not the list alternative.
  assert.deepEqual(lines(`listen: ":0"\n${ROUTE}    upgrade: "web socket"\n`), [
    'wspass.yaml:5:14: routes[0].upgrade: must be a protocol name (an RFC 9110 token), ANY or NONE (got string "web socket")',
  ]);
  assert.deepEqual(lines(`listen:\n  - ":0"\n  - address: 8080\n${ROUTE}`), [
    'wspass.yaml:3:14: listen[1].address: expected a string, got number 8080',
  ]);
});

test('too small / too big: states the bound and the unit', () => {
  const text =
    `listen: ":0"\nmaxHeaderBytes: 100\n${ROUTE}` +
    '    asyncDelayMs: -1\n    connectTimeoutMs: 3000000000\n    name: ""\n    upgrade: []\n';
  assert.deepEqual(lines(text), [
    'wspass.yaml:2:17: maxHeaderBytes: must be at least 1024 bytes (got number 100)',
    'wspass.yaml:6:19: routes[0].asyncDelayMs: must be at least 0 milliseconds (got number -1)',
    'wspass.yaml:7:23: routes[0].connectTimeoutMs: must be at most 2147483647 milliseconds (got number 3000000000)',
    'wspass.yaml:8:11: routes[0].name: must not be empty',
    'wspass.yaml:9:14: routes[0].upgrade: must have at least one entry (got an empty list)',
  ]);
  assert.deepEqual(lines('listen: ":0"\nroutes: []\n'), [
    'wspass.yaml:2:9: routes: must have at least one entry (got an empty list)',
  ]);
});

test('missing keys point at the mapping that lacks them', () => {
  assert.deepEqual(lines('listen: ":0"\nroutes:\n  - path: /ws/\n'), [
    'wspass.yaml:3:5: routes[0].backend: required key "backend" is missing; expected a string — ' +
      'ws://, wss://, http:// or https:// URL, or balancer://name/path (a balancer of `balancers`); ' +
      'its path replaces the matched prefix (an exclusion has `exclude: true` instead, a fixed answer `respond`)',
  ]);
  assert.deepEqual(lines(ROUTE), [
    'wspass.yaml:1:1: listen: required key "listen" is missing; expected a string or a list — ' +
      'Where to accept clients: "host:port", or a list of addresses / { address, tls }',
  ]);
});

test('string format and refinement messages keep the schema wording', () => {
  const text =
    'listen: ":0"\nroutes:\n  - path: ws\n    backend: ws://b/\n' +
    '  - path: /a\n    match: ^/a$\n    backend: ws://b/\n' +
    '  - path: /\n    backend: ws://b/\n    when: { header: { "x y": "1" } }\n';
  assert.deepEqual(lines(text), [
    'wspass.yaml:3:11: routes[0].path: must start with "/" (got string "ws")',
    'wspass.yaml:5:5: routes[1]: a route needs exactly one of "path" (prefix) or "match" (regex)',
    'wspass.yaml:10:23: routes[2].when.header["x y"]: invalid key "x y": must be a header name',
  ]);
});

test('YAML syntax errors give the position and the parser message', () => {
  assert.deepEqual(lines('listen: ":0"\nroutes:\n  - path: /\n   backend: [ws://b/\n'), [
    'wspass.yaml:4:1: invalid YAML: Sequence item without - indicator',
    'wspass.yaml:5:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
  ]);
  assert.deepEqual(lines(`listen: ":0"\nlisten: ":1"\n${ROUTE}`), [
    'wspass.yaml:2:1: the key "listen" appears twice in the same mapping; each key may appear once',
  ]);
  assert.deepEqual(lines(`listen: ":0"\n${ROUTE}---\nlisten: ":1"\n`), [
    'wspass.yaml:5:1: the file holds more than one YAML document (a second "---"); a config is one document',
  ]);
  assert.match(lines(`listen: *addr\n${ROUTE}`)[0] ?? '', /^wspass\.yaml:1:1: Unresolved alias .*addr/);
});

test('anchors, aliases and merge keys: values are shared, errors still point into the file', () => {
  const text =
    'listen: ":0"\nx-common: &common { idleTimeoutMs: 1000, async: true }\n' +
    'routes:\n  - { <<: *common, path: /a, backend: ws://b/ }\n';
  assert.deepEqual(lines(text), [
    'wspass.yaml:2:1: ["x-common"]: unknown key "x-common"; allowed keys: $schema, listen, maxHeaderBytes, maxRequestLineBytes, maxHeaderFieldBytes, maxHeaderFields, headTimeoutMs, forwardedFor, defaults, routes, balancers, limits, admin, health, tunnel, shutdown, log',
  ]);
  const shared =
    'listen: ":0"\ndefaults: &d { idleTimeoutMs: 1000 }\n' +
    'routes:\n  - { <<: *d, path: /a, backend: ws://b/ }\n  - { path: /b, backend: ws://b/, tls: *d }\n';
  const err = failure(shared);
  assert.equal(err.message, 'wspass.yaml:5:40: routes[1].tls.idleTimeoutMs: unknown key "idleTimeoutMs"; allowed keys: caFile, rejectUnauthorized, servername');
  const config = loadConfigText(shared.replace(', tls: *d', ''), 'wspass.yaml');
  assert.equal(config.routes[0]?.idleTimeoutMs, 1000);
});

test('an empty file (or one with only comments) is one clear issue', () => {
  const expected = [
    'wspass.yaml: the file is empty; a config needs at least "listen" and "routes" (see examples/basic.yaml)',
  ];
  assert.deepEqual(lines(''), expected);
  assert.deepEqual(lines('# nothing yet\n\n'), expected);
  assert.deepEqual(failure('').issues, [
    { path: [], message: 'the file is empty; a config needs at least "listen" and "routes" (see examples/basic.yaml)' },
  ]);
  assert.equal(lines(' \n', 'wspass.json')[0], expected[0]?.replace('wspass.yaml', 'wspass.json'));
});

test('JSON files: loaded, must be strict JSON, and errors carry positions', () => {
  const good = '{\n  "listen": ":0",\n  "routes": [{ "path": "/", "backend": "ws://b/" }]\n}\n';
  assert.equal(loadConfigText(good, 'wspass.json').routes[0]?.upgradeOnly, false);
  // Valid YAML, not valid JSON.
  assert.match(lines(`listen: ":0"\n${ROUTE}`, 'wspass.json').join('\n'), /^wspass\.json: invalid JSON: Unexpected token 'l'/);
  assert.deepEqual(lines('{\n  "listen": ":0",\n  "routes": [],\n}\n', 'wspass.json'), [
    'wspass.json:4:1: invalid JSON: Expected double-quoted property name',
  ]);
  assert.deepEqual(lines('{\n  "listen": ":0",\n  "routes": [{ "path": "/", "backend": "ws://b/", "async": 1 }]\n}\n', 'c.JSON'), [
    'c.JSON:3:60: routes[0].async: expected true or false, got number 1',
  ]);
  assert.deepEqual(lines('{ "listen": ":0", "listen": ":1", "routes": [] }', 'wspass.json'), [
    'wspass.json:1:19: the key "listen" appears twice in the same mapping; each key may appear once',
  ]);
});

test('listener addresses are checked at their key path', () => {
  assert.deepEqual(lines(`listen: "8080"\n${ROUTE}`), [
    'wspass.yaml:1:9: listen: invalid listen address "8080": the port is missing (write ":8080" for every interface); ' +
      'expected "host:port", "[ipv6]:port" or ":port" (all IPv4 interfaces) with a port from 0 to 65535 (0 picks a free port)',
  ]);
  const err = failure(`listen:\n  - 127.0.0.1:0\n  - 127.0.0.1:0\n  - ":80"\n  - address: ":80"\n  - address: "x:99999"\n${ROUTE}`);
  assert.deepEqual(
    err.issues.map((i) => [i.line, i.column, i.path]),
    [
      [5, 14, ['listen', 3, 'address']],
      [6, 14, ['listen', 4, 'address']],
    ],
  );
  assert.equal(err.issues[0]?.message, 'the same address as listen[2] (":80"); each listener needs its own address');
  assert.match(err.issues[1]?.message ?? '', /^invalid listen address "x:99999": port 99999 is out of range; /);
});

test('extraChecks: run on the frozen config, issues placed at their key paths', () => {
  const text = `listen: ":0"\nroutes:\n  - path: /\n    backend: ftp://x\n  - match: "^/(a"\n    backend: ws://b/$1\n`;
  let seen: Config | undefined;
  const err = failure(text, 'wspass.yaml', {
    extraChecks: (config) => {
      seen = config;
      return [
        { path: ['routes', 1, 'match'], message: 'not a valid regular expression' },
        { path: ['routes', 0, 'backend'], message: 'must be a ws://, wss://, http:// or https:// URL (got "ftp://x")' },
        { path: ['routes', 0, 'tls', 'caFile'], message: 'cannot read the file' },
        { path: [], message: 'placed by the check itself', line: 9, column: 2 },
      ];
    },
  });
  assert.equal(seen !== undefined && Object.isFrozen(seen.routes[0]), true);
  assert.deepEqual(err.message.split('\n'), [
    'wspass.yaml:3:5: routes[0].tls.caFile: cannot read the file',
    'wspass.yaml:4:14: routes[0].backend: must be a ws://, wss://, http:// or https:// URL (got "ftp://x")',
    'wspass.yaml:5:12: routes[1].match: not a valid regular expression',
    'wspass.yaml:9:2: placed by the check itself',
  ]);
});

test('extraChecks do not run when the schema fails, and an empty result accepts the config', () => {
  let calls = 0;
  const extraChecks = (): ConfigIssue[] => {
    calls++;
    return [];
  };
  failure(`listen: 1\n${ROUTE}`, 'wspass.yaml', { extraChecks });
  assert.equal(calls, 0);
  loadConfigText(`listen: ":0"\n${ROUTE}`, 'wspass.yaml', { extraChecks });
  assert.equal(calls, 1);
});

test('ConfigError carries the catalogue code, the file and the issues', () => {
  const err = failure(`listen: ":0"\n${ROUTE}log: { level: loud }\n`, 'conf/a.yaml');
  assert.ok(err instanceof WspassError);
  assert.equal(err.code, 'WSP_CONFIG_INVALID');
  assert.equal(err.name, 'ConfigError');
  assert.equal(err.file, 'conf/a.yaml');
  assert.deepEqual(err.issues, [
    {
      path: ['log', 'level'],
      message: 'must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent" (got string "loud")',
      line: 5,
      column: 15,
    },
  ]);
});

test('a byte order mark is ignored', () => {
  assert.equal(loadConfigText(`\uFEFFlisten: ":0"\n${ROUTE}`, 'wspass.yaml').listen, ':0');
  assert.equal(loadConfigText('\uFEFF{"listen": ":0", "routes": [{"path": "/", "backend": "ws://b/"}]}', 'w.json').listen, ':0');
});

test('formatIssues: file, optional position, key path, message', () => {
  assert.equal(
    formatIssues('w.yaml', [
      { path: ['listen', 0, 'tls', 'sni', 'a.example.com'], message: 'm1', line: 3, column: 7 },
      { path: ['routes', 1], message: 'm2', line: 4 },
      { path: [], message: 'm3' },
    ]),
    'w.yaml:3:7: listen[0].tls.sni["a.example.com"]: m1\nw.yaml:4: routes[1]: m2\nw.yaml: m3',
  );
});

test('loadConfigFile reads a file, and an unreadable file is a ConfigError naming it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wspass-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'wspass.yaml');
  writeFileSync(file, `listen: ":0"\n${ROUTE}`);
  assert.equal(loadConfigFile(file).routes.length, 1);

  const missing = join(dir, 'missing.yaml');
  assert.throws(() => loadConfigFile(missing), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.file, missing);
    assert.equal(err.message, `${missing}: cannot read the config file: it does not exist`);
    return true;
  });
  assert.throws(() => loadConfigFile(dir), { message: `${dir}: cannot read the config file: it is a directory` });
});

test('every example config validates', () => {
  const examples = fileURLToPath(new URL('../../../examples/', import.meta.url));
  for (const name of ['basic.yaml', 'basic.json', 'apache-seeds.yaml', 'tls-vhost.yaml']) {
    const config = loadConfigFile(join(examples, name));
    assert.ok(config.routes.length > 0, name);
  }
  const yaml = loadConfigFile(join(examples, 'basic.yaml'));
  const json = loadConfigFile(join(examples, 'basic.json'));
  assert.deepEqual({ ...json, $schema: undefined }, { ...yaml, $schema: undefined });
});
