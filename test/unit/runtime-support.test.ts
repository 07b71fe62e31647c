// Which runtimes have the features wspass builds on, and the one warning an older one gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingFeatures, runtimeSupport } from '../../src/workers/runtime-support.js';

test('reusePort from 22.12 / 23.1 on Linux and FreeBSD; shouldUpgradeCallback from 22.21 / 24.9; undici 8 from 22.19', () => {
  const cases: [string, NodeJS.Platform, boolean, boolean, boolean][] = [
    ['20.20.2', 'linux', false, false, false],
    ['22.11.0', 'linux', false, false, false],
    ['22.12.0', 'linux', true, false, false],
    ['22.20.9', 'linux', true, false, true],
    ['22.21.0', 'linux', true, true, true],
    ['23.1.0', 'freebsd', true, false, true],
    ['24.8.0', 'linux', true, false, true],
    ['24.9.0', 'linux', true, true, true],
    ['26.0.0', 'linux', true, true, true],
    ['22.23.3', 'darwin', false, true, true],
  ];
  for (const [version, platform, reusePort, shouldUpgradeCallback, httpClient] of cases) {
    assert.deepEqual(runtimeSupport(version, platform), { reusePort, shouldUpgradeCallback, httpClient }, `${version} ${platform}`);
  }
});

test('what is missing is listed with what wspass does instead; nothing on a current runtime', () => {
  assert.deepEqual(missingFeatures({ reusePort: true, shouldUpgradeCallback: true, httpClient: true }), []);
  const missing = missingFeatures({ reusePort: false, shouldUpgradeCallback: false, httpClient: false });
  assert.equal(missing.length, 3);
  assert.match(missing[2]!, /undici 8.*502/);
  assert.match(missing[0]!, /SO_REUSEPORT.*running 1 worker/);
  assert.match(missing[1]!, /shouldUpgradeCallback.*400/);
});
