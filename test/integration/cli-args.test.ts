// The command line itself: each command's --help is its own, and a mistyped command, flag or log level
// gets one line with a "did you mean", exit 2, and no stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';

test('every command has its own --help', async () => {
  const run = await runCli(['run', '--help']);
  assert.equal(run.code, 0);
  assert.match(run.stdout, /^Usage: wspass run --config FILE/);
  assert.match(run.stdout, /--workers, -w N/);
  assert.doesNotMatch(run.stdout, /wspass validate/);
  const validate = await runCli(['help', 'validate']);
  assert.equal(validate.code, 0);
  assert.match(validate.stdout, /^Usage: wspass validate --config FILE/);
  assert.match(validate.stdout, /PEM/);
  const member = await runCli(['member', '-h']);
  assert.match(member.stdout, /--weight N/);
  const all = await runCli(['--help']);
  assert.match(all.stdout, /wspass COMMAND --help/);
});

test('a mistyped flag, command or log level is one line with a suggestion, exit 2', async () => {
  const cases: [string[], RegExp][] = [
    [['run', '--confg', 'x.yaml'], /^wspass: unknown option --confg; did you mean --config\? \(see wspass run --help\)\n$/],
    [['valdate', '--config', 'x.yaml'], /^wspass: unknown command "valdate"; did you mean "validate"\?/],
    [['validate', '--config', 'x.yaml', '--workers', '2'], /^wspass: validate does not take --workers/],
    [['run', '--config', 'x.yaml', '--log-level', 'inf'], /^wspass: --log-level "inf" is not a level; did you mean "info"\?/],
    [['demo', '--log-level', 'verbose'], /^wspass: --log-level "verbose" is not a level \(one of fatal, error, warn/],
    [['run', '--config'], /^wspass: .*--config <value>' argument missing/],
  ];
  const results = await Promise.all(cases.map(([args]) => runCli(args)));
  for (const [i, [args, expected]] of cases.entries()) {
    const r = results[i]!;
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, expected);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, `one line for ${args.join(' ')}:\n${r.stderr}`);
  }
});
