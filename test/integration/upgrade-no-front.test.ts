// The upgrade suites again, with the native front off (config `tunnel.front: false`): on the native engine
// the listener then accepts in Node and node:http reads every head, the path the JavaScript engine, TLS and
// PROXY listeners always take. Every case must pass unchanged on both paths.
process.env.WSPASS_TEST_FRONT = '0';
await import('./proxy-websocket.test.js');
await import('./upgrade-early-bytes.test.js');
await import('./upgrade-request-body.test.js');
await import('./upgrade-response-switch.test.js');
await import('./upgrade-response-declined.test.js');
await import('./request-head-checks.test.js');
await import('./request-limits.test.js');
await import('./proxy-upgrade-policy.test.js');
await import('./access-log.test.js');
