// Bench versus: a reference proxy takes the base's place in the gate's paired measurement. Each side gets
// its own work and CPU counted in every window (nginx's over its master and its worker), and idle memory
// is read over all of a reference's processes. nginx runs when installed (skipped with the reason
// otherwise; under CI=true, where .ci/run installs it, a missing one fails instead). Short windows: this
// checks the plumbing, not a cost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runCpuFigure, runMemoryFigure, type AbOptions } from '../../bench/gate/ab-run.js';
import { GATE_FIGURES } from '../../bench/gate/figures.js';
import { versusRows } from '../../bench/gate/versus.js';
import { referenceMissing, type ReferenceName } from '../../bench/reference/start.js';

const HEAD = { commit: null, cli: fileURLToPath(new URL('../../src/cli/main.js', import.meta.url)) };
const O: AbOptions = { pin: null, shards: 1, pairs: 3, blocks: 3, extraBlocks: 0, memoryPairs: 3, windowS: 0.3, warmupS: 0.2, idleConnections: 20 };
const figure = (key: string) => GATE_FIGURES.find((f) => f.key === key)!;

for (const reference of ['node-minimal', 'nginx'] as const satisfies readonly ReferenceName[]) {
  const missing = referenceMissing(reference);
  const skip = process.env.CI === 'true' ? false : (missing ?? false);
  test(`wspass against ${reference}: every window has both sides' cost, and the row its ratio`, { skip }, async () => {
    assert.equal(missing, null, missing ?? '');
    const record = await runCpuFigure(figure('echo.cpu_per_msg.js'), { head: HEAD, base: { reference } }, O, () => undefined);
    assert.equal(record.baseError ?? record.headError, undefined);
    assert.equal(record.windows.length, 2 * O.pairs);
    for (const w of record.windows) assert.ok(w.units > 0 && w.cost !== null && w.cost > 0, `${w.rev}: ${JSON.stringify(w)}`);
    const [row] = versusRows([{ reference, record }]);
    assert.ok(row!.interval !== null && row!.interval.ratio > 0, JSON.stringify(row));
  });
}

test('idle memory of a reference is read over all its processes (nginx: master and worker)', { skip: process.env.CI === 'true' ? false : (referenceMissing('nginx') ?? false) }, async () => {
  const record = await runMemoryFigure(figure('idle.rss_per_tunnel.js'), { head: HEAD, base: { reference: 'nginx' } }, { ...O, memoryPairs: 1 }, () => undefined);
  assert.equal(record.baseError ?? record.headError, undefined);
  assert.equal(record.windows.length, 2);
  for (const w of record.windows) assert.ok(w.cost !== null && w.cost > 0, `${w.rev}: ${JSON.stringify(w)}`);
});
