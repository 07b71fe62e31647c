// The proxy-websocket suite again, on the JavaScript tunnel engine (the suite itself runs on the default engine,
// native where it was built): both engines must pass the same tests.
process.env.WSPASS_TEST_TUNNEL_ENGINE = 'js';
await import('./proxy-websocket.test.js');
