// The upgrade suites again, with the native front on (config `tunnel.front`): C accepts and peeks, the
// front takes the heads it reads and the routes tunnel, node:http gets the rest. Every case must pass
// unchanged; the proxy helper fails a run where the front did not start on the native engine.
process.env.WSPASS_TEST_FRONT = '1';
await import('./proxy-websocket.test.js');
await import('./upgrade-early-bytes.test.js');
await import('./upgrade-request-body.test.js');
await import('./upgrade-response-switch.test.js');
await import('./upgrade-response-declined.test.js');
await import('./request-head-checks.test.js');
await import('./request-limits.test.js');
await import('./proxy-upgrade-policy.test.js');
await import('./access-log.test.js');
