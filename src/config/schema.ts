// The one schema of a wspass config file. It gives validation, defaults, the TypeScript types
// (`ConfigInput` as written, `Config` after defaults) and the published JSON Schema
// (schema/wspass.schema.json, written by `npm run schema`). Units are in the key names.
import { z } from 'zod';
import { cidrProblem } from './cidr.js';

const MAX_TIMER_MS = 2_147_483_647; // setTimeout's largest delay

const durationMs = (what: string) =>
  z.number().int().min(0).max(MAX_TIMER_MS).describe(`${what}, in milliseconds; 0 disables it`);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/; // RFC 9110 token

const cidr = z.string().superRefine((text, ctx) => {
  const problem = cidrProblem(text);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const sendProxyProtocol = z
  .literal('v2')
  .describe(
    'Start every connection to this backend with a PROXY protocol v2 header naming the client (its address as ' +
      'X-Forwarded-For names it); plain HTTP to it then uses one backend connection per client connection',
  );

const UPGRADE_VALUES =
  'Protocols tunnelled: "websocket", a list of protocol names, "ANY" (forward whatever the client asks for), ' +
  '"NONE" (skip the Upgrade header check, tunnel WebSocket) or false (never: upgrade requests are proxied ' +
  'as plain HTTP without Upgrade)';

export const upgradeSchema = z
  .union([
    z.string().regex(TOKEN, 'must be a protocol name (an RFC 9110 token), ANY or NONE'),
    z.array(z.string().regex(TOKEN, 'must be a protocol name (an RFC 9110 token)')).min(1),
    // A boolean refined to false rather than z.literal(false): a wrong type then reads "expected a string or
    // a list or true or false", and `true` gets a message saying what to write instead.
    z
      .boolean()
      .refine((v) => !v, 'true is not a value here: name the protocols to tunnel (e.g. websocket), or write false for none')
      .meta({ const: false }),
  ])
  .describe(UPGRADE_VALUES);

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

const reverseEntrySchema = z.union([
  z
    .string()
    .min(1)
    .describe('A backend URL (or balancer://name/path) mapped back to this route\'s path, at a path-segment boundary'),
  z
    .strictObject({
      url: z
        .string()
        .min(1)
        .describe(
          'Backend URL prefix (ProxyPassReverse url): a value starting with it, compared literally, has it replaced by `path`; ' +
            'balancer://name/path stands for each member of that balancer; a value starting with "/" matches the path of any URL',
        ),
      path: z.string().startsWith('/').describe('Public path put in its place (ProxyPassReverse path)'),
    })
    .describe('One ProxyPassReverse pair'),
]);

export const reverseSchema = z
  .union([
    z
      .boolean()
      .refine((v) => v, 'false is the default: remove the key')
      .meta({ const: true }),
    z.strictObject({
      urls: z
        .union([
          z
            .boolean()
            .refine((v) => v, 'false is the default: remove the key')
            .meta({ const: true }),
          z.array(reverseEntrySchema).min(1),
        ])
        .optional()
        .describe(
          'true: this route\'s own backend URL (each member\'s, for a balancer; with its http:// or https:// twin for ' +
            'ws:// and wss://) is mapped back to the route\'s path; or a list of backend URLs and { url, path } pairs',
        ),
      cookieDomain: z
        .record(z.string().min(1), z.string())
        .optional()
        .describe('Backend cookie domain → public domain: a Set-Cookie Domain equal to a key (any letter case) is replaced (ProxyPassReverseCookieDomain)'),
      cookiePath: z
        .record(z.string().min(1), z.string())
        .optional()
        .describe(
          'Backend cookie path → public path: a Set-Cookie Path starting with a key (the first in order) is replaced by its value ' +
            '(ProxyPassReverseCookiePath)',
        ),
    }),
  ])
  .describe(
    'Rewrite answers as ProxyPassReverse does: Location, Content-Location, URI and Destination values pointing into the ' +
      'backend point at this proxy (the scheme and Host the client used, the public path); `true` is { urls: true }',
  );

/** A limit given as a positive count (tunnels, handshakes); no limit when absent. */
function positiveCount(description: string) {
  return z.number().int().min(1).optional().describe(description);
}

/** A serialised origin (RFC 6454): what browsers send in Origin. */
const ORIGIN = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/\s?#]+$/;

/** Settings a route inherits from `defaults` when it does not set them itself. */
const inheritable = {
  serverName: z
    .string()
    .min(1)
    .regex(/^[\x21-\x7e]+$/, 'must be a host name (visible ASCII, no spaces)')
    .describe('Value appended as X-Forwarded-Server (Apache: the virtual host\'s ServerName); the OS host name when not set'),
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
    serverName: inheritable.serverName.optional(),
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
    name: z.string().min(1).optional().describe('Name used in logs and metrics; defaults to the path (or ~match) and the hosts it matches'),
    host: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .optional()
      .describe(
        'Only requests whose Host is this name, or one of these names ("*.example.com" matches one or more labels)',
      ),
    listener: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .optional()
      .describe(
        'Only requests that arrived on this listener, or one of these (by `listen[].name`), as an Apache ' +
          '<VirtualHost addr:port> serves its own port; default: every listener',
      ),
    path: z.string().startsWith('/').optional().describe('Prefix route (ProxyPass): the path starts with this'),
    match: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Regex route (ProxyPassMatch) on the normalised path; $1..$9 in backend are substituted, and %1..%9 ' +
          'with the groups of the last `when` pattern that matched (RewriteCond back-references)',
      ),
    when: z
      .strictObject({
        header: headerConditionSchema.optional(),
        any: z
          .array(z.strictObject({ header: headerConditionSchema }))
          .min(1)
          .optional()
          .describe('Alternatives: at least one of them must hold as well (RewriteCond ... [OR])'),
      })
      .optional()
      .describe(
        'Conditions the request must also meet (RewriteCond %{HTTP:...} idiom). For %n in backend, the ' +
          'patterns count in this order: the `any` alternative that held, then `header` in order; a negated ' +
          'pattern captures nothing',
      ),
    exclude: z
      .literal(true)
      .optional()
      .describe(
        'An exclusion (ProxyPass path !): a request this route matches is proxied by no later route and gets 404; ' +
          'takes no backend',
      ),
    respond: z
      .strictObject({
        status: z.number().int().min(400).max(599).describe('The error status sent, 400 to 599'),
      })
      .optional()
      .describe(
        'Answer a request this route matches with this status (and a short error body) instead of proxying it; ' +
          'an upgrade request gets it too, never a 101. Takes no backend. What httpd answers for some Apache ' +
          'mistakes, e.g. 500 for an https:// backend without SSLProxyEngine On',
      ),
    backend: z
      .string()
      .min(1)
      .optional()
      .describe(
        'ws://, wss://, http:// or https:// URL, or balancer://name/path (a balancer of `balancers`); ' +
          'its path replaces the matched prefix',
      ),
    upgrade: upgradeSchema
      .optional()
      .describe(
        `${UPGRADE_VALUES}. Default from the backend, as Apache: "websocket" for ws:// and wss://, ` +
          'false for http:// and https://; for a balancer, its `upgrade`, else its members\' (which must agree)',
      ),
    upgradeOnly: z.boolean().default(false).describe('Refuse requests without Upgrade (426) instead of proxying them as HTTP'),
    maxTunnels: positiveCount('Most open tunnels on this route over every worker (handshakes in progress count); one more gets 503 WSP_LIMIT_ROUTE'),
    allowedOrigins: z
      .array(z.string().regex(ORIGIN, 'must be an origin: scheme://host[:port], no path'))
      .min(1)
      .optional()
      .describe(
        'Origins allowed to open a tunnel on this route (compared case-insensitively); an upgrade request with ' +
          'another Origin gets 403 WSP_ORIGIN_FORBIDDEN; one without Origin (not a browser) is allowed',
      ),
    reverse: reverseSchema.optional(),
    proxyProtocol: sendProxyProtocol.optional(),
    serverName: inheritable.serverName.optional(),
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
    if (route.exclude === true && route.backend !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['backend'], message: 'an exclusion (`exclude: true`) proxies nowhere: remove `backend`' });
    }
    if (route.exclude === true && route.reverse !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['reverse'], message: 'an exclusion (`exclude: true`) relays no answer: remove `reverse`' });
    }
    if (route.respond !== undefined) {
      for (const key of ['exclude', 'backend', 'reverse'] as const) {
        if (route[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `a route with \`respond\` answers itself and proxies nowhere: remove \`${key}\`` });
      }
    }
    if (route.exclude === undefined && route.backend === undefined && route.respond === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['backend'],
        message:
          'required key "backend" is missing; expected a string — ws://, wss://, http:// or https:// URL, or ' +
          'balancer://name/path (a balancer of `balancers`); its path replaces the matched prefix ' +
          '(an exclusion has `exclude: true` instead, a fixed answer `respond`)',
      });
    }
  });

/** A member's administrative state; runtime control can change it without a restart. */
export const MEMBER_STATES = ['active', 'standby', 'disabled', 'draining'] as const;

export const BALANCER_STRATEGIES = ['byrequests', 'bybusyness', 'bytraffic', 'hash', 'socketio'] as const;

const ROUTE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
export const limitsSchema = z
  .strictObject({
    maxTunnels: positiveCount('Most open tunnels of the process over every worker (handshakes in progress count); one more gets 503 WSP_LIMIT_TUNNELS'),
    retryAfterS: z
      .number()
      .int()
      .min(0)
      .max(86_400)
      .default(1)
      .describe('Retry-After sent with a 503 or 429 of a tunnel limit (a refused handshake rate sends the time its next token comes)'),
    perClient: z
      .strictObject({
        maxTunnels: positiveCount('Most open tunnels per client address (handshakes in progress count); one more gets 429 WSP_LIMIT_CLIENT_TUNNELS'),
        handshakesPerSecond: z
          .number()
          .positive()
          .max(1_000_000)
          .optional()
          .describe('New upgrade handshakes per second per client address (token bucket); faster gets 429 WSP_LIMIT_CLIENT_RATE'),
        burst: positiveCount('Handshakes a client address may start at once before handshakesPerSecond applies (the bucket size); default: max(1, handshakesPerSecond)'),
        tableSize: z
          .number()
          .int()
          .min(64)
          .max(4_194_304)
          .multipleOf(8)
          .default(65_536)
          .describe(
            'Client addresses tracked at once, shared by every worker (read at start). Exact within it; an address ' +
              'that finds no room is not limited per client (see README "Limits")',
          ),
      })
      .optional()
      .describe('Limits per client address (the address wspass sees, see README "Limits")'),
  })
  .describe('Limits on tunnels, over every worker thread');

export const balancerMemberSchema = z.strictObject({
  url: z
    .string()
    .min(1)
    .describe(
      'ws://, wss://, http:// or https:// URL of the member (BalancerMember); a path in it is put before ' +
        'the path the route sends',
    ),
  weight: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(1)
    .describe('Share of new connections relative to the other members (Apache loadfactor); changeable at runtime'),
  route: z
    .string()
    .regex(ROUTE_NAME, 'must be 1-64 letters, digits, "_" or "-"')
    .optional()
    .describe('Value of the sticky cookie that names this member (Apache route=); defaults to a hash of the URL'),
  upgrade: upgradeSchema
    .optional()
    .describe(
      'What this member tunnels (BalancerMember upgrade=), as routes[].upgrade. Default from the URL: ' +
        '"websocket" for ws:// and wss://, false for http:// and https://',
    ),
  maxTunnels: positiveCount(
      'Most open tunnels to this member over every worker (handshakes in progress count); a full member is ' +
        'passed over, and when every usable member is full the answer is 503 WSP_LIMIT_MEMBER',
    ),
  state: z
    .enum(MEMBER_STATES)
    .default('active')
    .describe(
      'active: takes traffic; standby: hot spare used only when no active member is usable; disabled: ' +
        'takes nothing; draining: no new tunnels or requests, open tunnels continue',
    ),
  proxyProtocol: sendProxyProtocol
    .optional()
    .describe(
      'Send a PROXY protocol v2 header to this member (as routes[].proxyProtocol, which applies to every member ' +
        'of the routes that set it)',
    ),
});

export const balancerHashSchema = z
  .strictObject({
    on: z
      .enum(['ip', 'header', 'cookie', 'query'])
      .describe('What identifies a client: its IP address, a request header, a cookie or a query parameter'),
    name: z.string().min(1).optional().describe('Header, cookie or query parameter name (not used with "ip")'),
  })
  .superRefine((hash, ctx) => {
    if (hash.on === 'ip' && hash.name !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: '"name" is not used when hashing on "ip"' });
    }
    if (hash.on !== 'ip' && hash.name === undefined) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: `hashing on "${hash.on}" needs the ${hash.on} "name"` });
    }
  })
  .describe(
    'Consistent hashing key (rendezvous hashing, weighted): the same key reaches the same member in every ' +
      'wspass instance with this config; a request without the key is balanced by byrequests',
  );

export const balancerStickySchema = z
  .strictObject({
    cookie: z
      .string()
      .regex(TOKEN, 'must be a cookie name (an RFC 9110 token)')
      .default('WSPASS_ROUTE')
      .describe(
        'Cookie naming the member route (Apache stickysession=): the route is what follows the first "." of ' +
          'the value ("session.route"), so an application session cookie can carry it; wspass sets ".route"',
      ),
    param: z
      .string()
      .regex(TOKEN, 'must be a URL parameter name (an RFC 9110 token)')
      .optional()
      .describe(
        'URL parameter read before the cookie, as a query parameter or a ";name=" path parameter, its value ' +
          'in the same "session.route" form (Apache stickysession=COOKIE|param); default: the cookie name',
      ),
    noFailover: z
      .boolean()
      .default(false)
      .describe(
        'A request whose cookie or parameter names a member that is not usable (down, disabled, or failed on ' +
          'this request) gets 503 instead of another member (Apache nofailover=On: the session would break there)',
      ),
    path: z.string().startsWith('/').default('/').describe('Path attribute of the cookie wspass sets'),
    secure: z.boolean().default(false).describe('Add the Secure attribute to the cookie wspass sets'),
    maxAgeS: z
      .number()
      .int()
      .min(1)
      .max(400 * 24 * 3600) // RFC 6265bis caps Max-Age at 400 days
      .optional()
      .describe('Max-Age of the cookie wspass sets, in seconds; a session cookie when absent'),
  })
  .describe(
    'Stickiness over any strategy: a request whose URL parameter, else cookie, names a usable member route ' +
      'goes there; otherwise the strategy picks and wspass sets the cookie on the response',
  );

export const balancerHealthCheckSchema = z
  .strictObject({
    type: z
      .enum(['http', 'websocket'])
      .default('http')
      .describe('http: GET path, healthy on 2xx/3xx; websocket: a WebSocket handshake on path, healthy on 101'),
    // Sent as the request target of every probe: a space or control character would make the request
    // invalid (node:http throws on it), so it is refused here rather than in a timer.
    path: z
      .string()
      .regex(/^\/[\x21\x22\x24-\x7e]*$/, 'must be a request target: "/" then visible ASCII, no "#" (percent-encode spaces, controls and non-ASCII)')
      .default('/')
      .describe('Path (and query) probed on every member'),
    intervalMs: z.number().int().min(1).max(MAX_TIMER_MS).default(5_000).describe('Time between probes of a member, in milliseconds'),
    timeoutMs: z
      .number()
      .int()
      .min(1)
      .max(MAX_TIMER_MS)
      .default(2_000)
      .describe('A probe without an answer for this long fails, in milliseconds'),
    rise: z.number().int().min(1).max(100).default(2).describe('Consecutive passed probes that readmit a member'),
    fall: z.number().int().min(1).max(100).default(3).describe('Consecutive failed probes that take a member out'),
  })
  .describe('Active health check, run once per process; without it only failed connections take a member out');

export const balancerSchema = z
  .strictObject({
    strategy: z
      .enum(BALANCER_STRATEGIES)
      .default('byrequests')
      .describe(
        'byrequests: smooth weighted round-robin; bybusyness: fewest active tunnels and requests per weight, ' +
          'across all threads; bytraffic: fewest bytes relayed per weight; hash: consistent hashing on `hash`; ' +
          'socketio: socket.io preset, cookie stickiness (`sticky`, on by default) over byrequests, or over `hash` when set',
      ),
    members: z.array(balancerMemberSchema).min(1).describe('The backends of this balancer'),
    retryMs: z
      .number()
      .int()
      .min(0)
      .max(MAX_TIMER_MS)
      .default(60_000)
      .describe('A member whose connect or handshake failed is left out for this long, in milliseconds (Apache retry=)'),
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(20)
      .default(3)
      .describe('Members tried for one request while nothing has been relayed to the client'),
    upgrade: upgradeSchema
      .optional()
      .describe(
        'What the routes to this balancer tunnel when they do not set `upgrade`, as routes[].upgrade. Default: ' +
          '"websocket" with strategy socketio, else the members\' common value (members that disagree need it set)',
      ),
    hash: balancerHashSchema.optional(),
    sticky: balancerStickySchema.optional(),
    healthCheck: balancerHealthCheckSchema.optional(),
  })
  .superRefine((b, ctx) => {
    if (b.strategy === 'hash' && b.hash === undefined) {
      ctx.addIssue({ code: 'custom', path: ['hash'], message: 'strategy "hash" needs `hash` (what to hash on)' });
    }
    if (b.hash !== undefined && b.strategy !== 'hash' && b.strategy !== 'socketio') {
      ctx.addIssue({ code: 'custom', path: ['hash'], message: `\`hash\` is used only by strategies "hash" and "socketio", not "${b.strategy}"` });
    }
    const urls = new Map<string, number>();
    const routes = new Map<string, number>();
    b.members.forEach((m, i) => {
      const u = urls.get(m.url);
      if (u !== undefined) ctx.addIssue({ code: 'custom', path: ['members', i, 'url'], message: `same URL as members[${u}]` });
      else urls.set(m.url, i);
      if (m.route !== undefined) {
        const r = routes.get(m.route);
        if (r !== undefined) ctx.addIssue({ code: 'custom', path: ['members', i, 'route'], message: `same route as members[${r}]` });
        else routes.set(m.route, i);
      }
    });
  })
  .describe('A named group of members a route can use as `backend: balancer://name/path` (mod_proxy_balancer)');

const certificateFiles = {
  certFile: z.string().min(1).describe('PEM certificate (SSLCertificateFile), optionally followed by its chain'),
  keyFile: z.string().min(1).describe('PEM private key (SSLCertificateKeyFile)'),
  chainFile: z
    .string()
    .min(1)
    .optional()
    .describe('PEM intermediate certificates sent after the certificate (SSLCertificateChainFile)'),
};

const serverNames = z
  .array(z.string().min(1))
  .min(1)
  .describe('Server names (SNI and Host) of this virtual host: "example.com", or "*.example.com" for one or more labels');

export const tlsHostSchema = z
  .strictObject({ names: serverNames, ...certificateFiles })
  .describe('A TLS virtual host: the certificate sent to clients whose SNI names it');

export const listenerTlsSchema = z
  .strictObject({
    ...certificateFiles,
    names: serverNames
      .optional()
      .describe('Server names of the default virtual host (looked up before `hosts`); it also serves clients without SNI or with an unknown name'),
    hosts: z
      .array(tlsHostSchema)
      .optional()
      .describe(
        'Further TLS virtual hosts on this listener, chosen by SNI (the first whose names match); a request whose Host ' +
          'names a host with another certificate or key file than the SNI chose gets 421',
      ),
    sni: z
      .record(
        z.string().min(1),
        z.strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1) }),
      )
      .optional()
      .describe('Server name → certificate: the short form of `hosts` (one name each, looked up after them)'),
  })
  .describe('Serve TLS (https/wss) on this listener; the certificate files are reloaded when they change on disk and on SIGHUP');

export const listenerSchema = z.strictObject({
  address: z.string().min(1).describe('"host:port", "[v6]:port" or ":port"'),
  name: z
    .string()
    .min(1)
    .optional()
    .describe('Name routes give in `listener` to serve only this listener (virtual hosts on several ports)'),
  tls: listenerTlsSchema.optional(),
  proxyProtocol: z
    .strictObject({
      trustedSources: z
        .array(cidr)
        .min(1)
        .describe('Address ranges allowed to connect and send the header (CIDR or one address); a connection from anywhere else is closed'),
      headerTimeoutMs: z
        .number()
        .int()
        .min(1)
        .max(MAX_TIMER_MS)
        .default(5_000)
        .describe('A connection whose whole PROXY header has not arrived this long after accept is closed, in milliseconds'),
    })
    .optional()
    .describe(
      'Every connection starts with a PROXY protocol header (v1 or v2, before TLS) naming the client, as a load balancer ' +
        'in front (HAProxy send-proxy / send-proxy-v2, AWS NLB) sends it; the client address is taken from it',
    ),
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
      .describe(
        'Largest request head accepted (the request target plus every header name and value), in bytes; a larger ' +
          'one gets 431',
      ),
    maxRequestLineBytes: z
      .number()
      .int()
      .min(64)
      .max(1024 * 1024)
      .default(8190)
      .describe("Longest request line accepted (method, target and version), in bytes; a longer one gets 414 (Apache's LimitRequestLine)"),
    maxHeaderFieldBytes: z
      .number()
      .int()
      .min(64)
      .max(1024 * 1024)
      .default(8190)
      .describe(
        'Longest header field ("Name: value", and the merged value of a repeated field) accepted, in bytes; a ' +
          "longer one gets 400 (Apache's LimitRequestFieldSize)",
      ),
    maxHeaderFields: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(100)
      .describe(
        "Most header fields in a request; more get 400 (Apache's LimitRequestFields); 0 sets no limit (the head " +
          'is then bounded by maxHeaderBytes alone)',
      ),
    headTimeoutMs: z
      .number()
      .int()
      .min(0)
      .max(MAX_TIMER_MS)
      .default(20_000)
      .describe(
        'A request head not complete this long after its first byte gets 408 and the connection is closed ' +
          "(Apache's mod_reqtimeout header=20), in milliseconds; 0 disables it",
      ),
    forwardedFor: z
      .strictObject({
        trustedHops: z
          .array(cidr)
          .default([])
          .describe(
            'Proxies whose X-Forwarded-For is believed (CIDR or one address): the client address is found by walking ' +
              'the header from the right, skipping these; default none, so the connection\'s peer is the client',
          ),
        mode: z
          .enum(['replace', 'append'])
          .default('replace')
          .describe(
            'replace: X-Forwarded-For sent to the backend keeps only the entries from trusted hops, plus the peer ' +
              '(a client cannot plant addresses); append: keep whatever the client sent and append the peer (Apache)',
          ),
      })
      .default({ trustedHops: [], mode: 'replace' })
      .describe('Which X-Forwarded-For entries are believed, and what is sent on'),
    defaults: defaultsSchema.default(() => defaultsSchema.parse({})),
    routes: z.array(routeSchema).min(1).describe('In order; the first matching route wins'),
    balancers: z
      .record(z.string().regex(ROUTE_NAME, 'must be 1-64 letters, digits, "_" or "-"'), balancerSchema)
      .optional()
      .describe('Balancer name → balancer; routes use them as `backend: balancer://name/path`'),
    limits: limitsSchema.default({ retryAfterS: 1 }),
    admin: z
      .strictObject({
        listen: z
          .string()
          .min(1)
          .default('127.0.0.1:9901')
          .describe('Where the admin endpoint listens ("host:port"); keep it on loopback'),
        token: z
          .string()
          .min(16)
          .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
          .optional()
          .describe('Bearer token every admin request must carry (Authorization: Bearer TOKEN); none when absent'),
        tokenFile: z
          .string()
          .min(1)
          .optional()
          .describe('File whose content (trimmed) is the bearer token, read at start-up; instead of token'),
      })
      .refine((a) => a.token === undefined || a.tokenFile === undefined, { message: 'give token or tokenFile, not both' })
      .optional()
      .describe('Admin HTTP endpoint of the primary thread (status, metrics, reload, balancer control, tunnels); off when absent'),
    health: z
      .strictObject({
        listen: z
          .string()
          .min(1)
          .describe('Where GET /healthz (liveness) and GET /readyz (readiness) are served without the admin token ("host:port")'),
      })
      .optional()
      .describe('Health listener for probes (a kubelet); off when absent'),
    tunnel: z
      .strictObject({
        engine: z
          .enum(['auto', 'native', 'js'])
          .default('auto')
          .describe(
            'What relays tunnel bytes: native (the C engine on each worker loop; a start-up error when it is not built), ' +
              'js (Node sockets), or auto (native for plain TCP on both sides when it loaded, js otherwise with one warning)',
          ),
        heapReclaimMs: durationMs(
          'After a burst, a worker that took no handshake or request and relayed no tunnel byte for this long, and whose JavaScript heap grew by 8 MiB or more since, ' +
            'runs one memory-reducing garbage collection (a pause of a few ms to tens of ms, logged)',
        ).default(2_000),
        front: z
          .boolean()
          .optional()
          .describe(
            'The native front: on the native engine, plain listeners without PROXY protocol accept in C and read upgrade heads without node:http ' +
              '(anything else goes to node:http with its bytes intact). Unset: on wherever the native engine runs; false: Node accepts; ' +
              'true on the JavaScript engine: ignored, with a warning',
          ),
      })
      .default({ engine: 'auto', heapReclaimMs: 2_000 })
      .describe('The tunnel data plane'),
    shutdown: z
      .strictObject({
        tunnelDrainMs: durationMs('On SIGTERM/SIGINT, close open tunnels spread evenly over this window').default(5_000),
        deadlineMs: durationMs('Hard deadline after SIGTERM/SIGINT: whatever is still open is destroyed').default(10_000),
        preStopDelayMs: durationMs(
          'After SIGTERM/SIGINT, /readyz answers 503 at once but new connections are still accepted and served this long before the drain starts (endpoints must stop routing here first)',
        ).default(0),
        closeCode: z
          .literal([1012, 1001])
          .default(1012)
          .describe('Close code a drained WebSocket tunnel sends the client: 1012 (Service Restart) or 1001 (Going Away)'),
        closeHandshakeMs: durationMs(
          'How long a drained WebSocket tunnel may take for its closing handshake (close frames both ways) before the FIN',
        ).default(2_000),
      })
      .default({ tunnelDrainMs: 5_000, deadlineMs: 10_000, preStopDelayMs: 0, closeCode: 1012, closeHandshakeMs: 2_000 })
      .describe('Graceful shutdown'),
    log: z
      .strictObject({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info')
          .describe('Least severe level written (JSON lines on stdout)'),
        access: z
          .boolean()
          .default(true)
          .describe('Access log: one JSON line per tunnel at its close and per plain HTTP request (info lines of the log on stdout, marked "access": true)'),
        tunnelOpen: z.boolean().default(false).describe('Access log: also one line when a tunnel opens'),
      })
      .default({ level: 'info', access: true, tunnelOpen: false })
      .describe('Logging'),
  })
  .describe('wspass configuration');

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type DefaultsConfig = z.output<typeof defaultsSchema>;
export type BackendTlsConfig = z.output<typeof backendTlsSchema>;
export type ListenerConfig = z.output<typeof listenerSchema>;
export type ListenerTlsConfig = z.output<typeof listenerTlsSchema>;
export type TlsHostConfig = z.output<typeof tlsHostSchema>;
export type BalancerConfig = z.output<typeof balancerSchema>;
export type BalancerMemberConfig = z.output<typeof balancerMemberSchema>;
export type BalancerHealthCheckConfig = z.output<typeof balancerHealthCheckSchema>;
export type BalancerHashConfig = z.output<typeof balancerHashSchema>;
export type BalancerStickyConfig = z.output<typeof balancerStickySchema>;
export type UpgradeSetting = z.output<typeof upgradeSchema>;
export type ReverseSetting = z.output<typeof reverseSchema>;
export type LimitsConfig = z.output<typeof limitsSchema>;
export type MemberState = (typeof MEMBER_STATES)[number];
export type BalancerStrategy = (typeof BALANCER_STRATEGIES)[number];
