// What wspass does with each httpd directive it does not map: the ones without effect on proxying are
// listed as ignored; the ones that change what a client may do or see, and that wspass cannot reproduce,
// stop start-up with what to do instead. A directive in neither table is unknown and stops start-up too:
// nothing is ever dropped silently. Pure.

/** Directives that do not change what is proxied, and why they can be ignored. */
const IGNORED: Readonly<Record<string, string>> = {
  loadmodule: 'wspass has the proxy, rewrite, balancer and TLS support built in',
  serveradmin: 'no error pages with an administrator address',
  documentroot: 'wspass serves no files: a request no route matches gets 404',
  errorlog: 'wspass logs JSON lines on stdout',
  customlog: 'wspass logs JSON lines on stdout',
  transferlog: 'wspass logs JSON lines on stdout',
  loglevel: 'set log.level or --log-level instead',
  logformat: 'wspass logs JSON lines on stdout',
  servertokens: 'no Server header is added to proxied answers',
  serversignature: 'no error page footer',
  user: 'wspass runs as the user that starts it',
  group: 'wspass runs as the user that starts it',
  pidfile: 'no pid file',
  mutex: 'no cross-process locks',
  defaultruntimedir: 'no runtime folder',
  keepalive: 'client keep-alive follows HTTP/1.1 rules',
  maxkeepaliverequests: 'client keep-alive follows HTTP/1.1 rules',
  keepalivetimeout: 'client keep-alive follows HTTP/1.1 rules',
  hostnamelookups: 'no reverse DNS',
  startservers: 'MPM setting: use --workers for threads',
  minsparethreads: 'MPM setting: use --workers for threads',
  maxsparethreads: 'MPM setting: use --workers for threads',
  minspareservers: 'MPM setting: use --workers for threads',
  maxspareservers: 'MPM setting: use --workers for threads',
  threadlimit: 'MPM setting: use --workers for threads',
  threadsperchild: 'MPM setting: use --workers for threads',
  maxrequestworkers: 'MPM setting: wspass holds tunnels without a thread each',
  maxclients: 'MPM setting: wspass holds tunnels without a thread each',
  maxconnectionsperchild: 'MPM setting',
  maxrequestsperchild: 'MPM setting',
  serverlimit: 'MPM setting',
  accessfilename: 'no .htaccess files',
  adddefaultcharset: 'wspass serves no files',
  directoryindex: 'wspass serves no files',
  options: 'wspass serves no files',
  allowoverride: 'no .htaccess files',
  typesconfig: 'wspass serves no files',
  addtype: 'wspass serves no files',
  addhandler: 'wspass serves no files',
  enablesendfile: 'wspass serves no files',
  enablemmap: 'wspass serves no files',
  tracenable: 'TRACE goes to the route like any method',
  sslprotocol: 'Node.js TLS defaults apply (TLS 1.2 and 1.3)',
  sslciphersuite: 'Node.js TLS defaults apply',
  sslhonorcipherorder: 'Node.js TLS defaults apply',
  sslsessioncache: 'Node.js TLS session handling applies',
  sslsessioncachetimeout: 'Node.js TLS session handling applies',
  sslrandomseed: 'Node.js seeds its own generator',
  sslcompression: 'TLS compression is never used',
  sslstapling: 'no OCSP stapling',
  sslproxyprotocol: 'Node.js TLS defaults apply toward backends',
  sslproxyciphersuite: 'Node.js TLS defaults apply toward backends',
  sslproxycheckpeercn: 'checked with the certificate when SSLProxyVerify require',
  sslproxycheckpeername: 'checked with the certificate when SSLProxyVerify require',
  sslproxycheckpeerexpire: 'checked with the certificate when SSLProxyVerify require',
  servername: '',
  usecanonicalname: 'wspass never builds self-referential URLs',
  setenvif: 'no environment variables are consulted',
  browsermatch: 'no environment variables are consulted',
  proxyiobuffersize: 'tunnels use their own buffers (highWaterMarkBytes)',
  proxyreceivebuffersize: 'the OS default receive buffer is used',
  proxystatus: 'see `wspass status` and the admin endpoint',
  proxybadheader: 'an invalid backend header is answered 502, as with the default IsError',
};

/** Directives that change who may do what, or what the answer says: wspass cannot do them yet. */
const REFUSED: Readonly<Record<string, string>> = {
  require: 'access control: put an authenticating proxy or the backend in charge of it, or remove the line',
  requireall: 'access control: put an authenticating proxy or the backend in charge of it',
  requireany: 'access control: put an authenticating proxy or the backend in charge of it',
  requirenone: 'access control: put an authenticating proxy or the backend in charge of it',
  authtype: 'authentication: put an authenticating proxy or the backend in charge of it',
  authname: 'authentication: put an authenticating proxy or the backend in charge of it',
  authuserfile: 'authentication: put an authenticating proxy or the backend in charge of it',
  authgroupfile: 'authentication: put an authenticating proxy or the backend in charge of it',
  authbasicprovider: 'authentication: put an authenticating proxy or the backend in charge of it',
  order: 'access control (2.2 syntax): put it in the backend or in front of wspass',
  allow: 'access control (2.2 syntax): put it in the backend or in front of wspass',
  deny: 'access control (2.2 syntax): put it in the backend or in front of wspass',
  satisfy: 'access control (2.2 syntax): put it in the backend or in front of wspass',
  header: 'header rewriting is not supported: set the header in the backend',
  requestheader: 'header rewriting is not supported: have the backend read the header it needs',
  redirect: 'redirects are not supported: answer them from the backend',
  redirectmatch: 'redirects are not supported: answer them from the backend',
  alias: 'wspass serves no files: proxy the path to a file server instead',
  scriptalias: 'wspass runs no CGI: proxy the path to an application server instead',
  sethandler: 'handlers (balancer-manager, server-status) are not supported: use `wspass status` and `wspass members`',
  proxyvia: 'Via headers are not added: remove the line (ProxyVia Off is the default)',
  proxyremote: 'forwarding through another proxy is not supported',
  proxyremotematch: 'forwarding through another proxy is not supported',
  proxyerroroverride: 'backend error pages are always relayed as they are',
  rewritemap: 'RewriteMap is not supported: route with RewriteCond %{HTTP:...} and RewriteRule [P] only',
  rewriteoptions: 'RewriteOptions is not supported: repeat the rules in each virtual host',
  rewritebase: 'RewriteBase applies to per-folder rules, which are not supported',
  limitrequestbody: 'request body limits are not supported',
};

const SECTION_NOTES: Readonly<Record<string, string>> = {
  directory: 'wspass serves no files',
  directorymatch: 'wspass serves no files',
  files: 'wspass serves no files',
  filesmatch: 'wspass serves no files',
};

export type Classification =
  | { readonly kind: 'ignored'; readonly why: string }
  | { readonly kind: 'refused'; readonly what: string }
  | { readonly kind: 'unknown' };

export function classify(name: string): Classification {
  const lower = name.toLowerCase();
  const ignored = IGNORED[lower];
  if (ignored !== undefined) return { kind: 'ignored', why: ignored };
  const refused = REFUSED[lower];
  if (refused !== undefined) return { kind: 'refused', what: refused };
  return { kind: 'unknown' };
}

/** A file section (<Directory>, <Files>): ignored as a whole when it holds only ignorable directives. */
export function fileSectionNote(name: string): string | undefined {
  return SECTION_NOTES[name.toLowerCase()];
}
