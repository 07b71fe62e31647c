// The one schema of a wspass config file. It gives validation, defaults, the TypeScript types
// (`ConfigInput` as written, `Config` after defaults) and the published JSON Schema
// (schema/wspass.schema.json, written by `npm run schema`). Units are in the key names.
import { z } from 'zod';

const MAX_TIMER_MS = 2_147_483_647; // setTimeout's largest delay

const durationMs = (what: string) =>
  z.number().int().min(0).max(MAX_TIMER_MS).describe(`${what}, in milliseconds; 0 disables it`);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/; // RFC 9110 token

export const upgradeSchema = z
  .union([
    z.string().regex(TOKEN, 'must be a protocol name (an RFC 9110 token), ANY or NONE'),
    z.array(z.string().regex(TOKEN, 'must be a protocol name (an RFC 9110 token)')).min(1),
  ])
  .describe(
    'Protocols this route tunnels: "websocket" (default), a list of protocol names, ' +
      '"ANY" (forward whatever the client asks for) or "NONE" (skip the Upgrade header check, tunnel WebSocket)',
  );

export const backendTlsSchema = z
  .strictObject({
    caFile: z.string().min(1).optional().describe('PEM file of CAs trusted for this backend (added to the system CAs)'),
    rejectUnauthorized: z
      .boolean()
      .default(true)
      .describe('false turns off certificate verification toward the backend (explicit opt-out; never the default)'),
    servername: z.string().min(1).optional().describe('SNI name sent to the backend; defaults to the URL host'),
  })
  .describe('TLS settings for wss:// and https:// backends');

/** Settings a route inherits from `defaults` when it does not set them itself. */
const inheritable = {
  idleTimeoutMs: durationMs('Close a tunnel after no byte in either direction for this long'),
  connectTimeoutMs: durationMs('Give up connecting to the backend after this long (answers 504)'),
  handshakeTimeoutMs: durationMs('Give up waiting for the backend status line after this long (answers 504)'),
  preserveHost: z.boolean().describe('Send the client Host header to the backend instead of the backend host'),
  forwardedHeaders: z.boolean().describe('Append X-Forwarded-For/-Host/-Server/-Proto toward the backend'),
  async: z.boolean().describe('Cork writes to a socket within one event-loop turn (fewer syscalls, see DESIGN D4)'),
  asyncDelayMs: durationMs('With async, hold writes up to this long to coalesce them'),
  highWaterMarkBytes: z
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .describe('Pause the reading side of a tunnel when the other side has this many bytes queued, in bytes'),
  tls: backendTlsSchema.optional(),
};

export const defaultsSchema = z
  .strictObject({
    idleTimeoutMs: inheritable.idleTimeoutMs.default(0),
    connectTimeoutMs: inheritable.connectTimeoutMs.default(5_000),
    handshakeTimeoutMs: inheritable.handshakeTimeoutMs.default(30_000),
    preserveHost: inheritable.preserveHost.default(false),
    forwardedHeaders: inheritable.forwardedHeaders.default(true),
    async: inheritable.async.default(false),
    asyncDelayMs: inheritable.asyncDelayMs.default(0),
    highWaterMarkBytes: inheritable.highWaterMarkBytes.default(256 * 1024),
    tls: inheritable.tls,
  })
  .describe('Values every route inherits unless it sets its own');

export const headerConditionSchema = z
  .record(z.string().regex(TOKEN, 'must be a header name'), z.string())
  .describe(
    'Header name → pattern. Each named header must be present and match its pattern (a regular expression, ' +
      'case-insensitive, unanchored, like RewriteCond %{HTTP:name} pattern [NC]); a pattern starting with "!" ' +
      'must not match (the header may then be absent)',
  );

export const routeSchema = z
  .strictObject({
    name: z.string().min(1).optional().describe('Name used in logs and metrics; defaults to routes[i]'),
    host: z
      .string()
      .min(1)
      .optional()
      .describe('Only requests whose Host is this name ("*.example.com" matches one or more labels)'),
    path: z.string().startsWith('/').optional().describe('Prefix route (ProxyPass): the path starts with this'),
    match: z
      .string()
      .min(1)
      .optional()
      .describe('Regex route (ProxyPassMatch) on the normalised path; $1..$9 in backend are substituted'),
    when: z
      .strictObject({ header: headerConditionSchema })
      .optional()
      .describe('Conditions the request must also meet (RewriteCond %{HTTP:...} idiom)'),
    backend: z
      .string()
      .min(1)
      .describe('ws://, wss://, http:// or https:// URL; its path replaces the matched prefix'),
    upgrade: upgradeSchema.default('websocket'),
    upgradeOnly: z.boolean().default(false).describe('Refuse requests without Upgrade (426) instead of proxying them as HTTP'),
    idleTimeoutMs: inheritable.idleTimeoutMs.optional(),
    connectTimeoutMs: inheritable.connectTimeoutMs.optional(),
    handshakeTimeoutMs: inheritable.handshakeTimeoutMs.optional(),
    preserveHost: inheritable.preserveHost.optional(),
    forwardedHeaders: inheritable.forwardedHeaders.optional(),
    async: inheritable.async.optional(),
    asyncDelayMs: inheritable.asyncDelayMs.optional(),
    highWaterMarkBytes: inheritable.highWaterMarkBytes.optional(),
    tls: inheritable.tls,
  })
  .superRefine((route, ctx) => {
    if ((route.path === undefined) === (route.match === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a route needs exactly one of "path" (prefix) or "match" (regex)' });
    }
  });

export const listenerTlsSchema = z
  .strictObject({
    certFile: z.string().min(1).describe('PEM certificate chain'),
    keyFile: z.string().min(1).describe('PEM private key'),
    sni: z
      .record(
        z.string().min(1),
        z.strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1) }),
      )
      .optional()
      .describe('Server name → certificate, for TLS virtual hosts on one listener'),
  })
  .describe('Serve TLS (https/wss) on this listener');

export const listenerSchema = z.strictObject({
  address: z.string().min(1).describe('"host:port", "[v6]:port" or ":port"'),
  tls: listenerTlsSchema.optional(),
});

export const configSchema = z
  .strictObject({
    $schema: z.string().optional(),
    listen: z
      .union([z.string().min(1), z.array(z.union([z.string().min(1), listenerSchema])).min(1)])
      .describe('Where to accept clients: "host:port", or a list of addresses / { address, tls }'),
    maxHeaderBytes: z
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024)
      .default(16 * 1024)
      .describe('Largest request head accepted, in bytes; a larger one gets 431'),
    defaults: defaultsSchema.default(() => defaultsSchema.parse({})),
    routes: z.array(routeSchema).min(1).describe('In order; the first matching route wins'),
    log: z
      .strictObject({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info')
          .describe('Least severe level written (JSON lines on stdout)'),
      })
      .default({ level: 'info' })
      .describe('Logging'),
  })
  .describe('wspass configuration');

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type DefaultsConfig = z.output<typeof defaultsSchema>;
export type BackendTlsConfig = z.output<typeof backendTlsSchema>;
export type ListenerConfig = z.output<typeof listenerSchema>;
