// The one bounded poll of the test suite, for conditions no event announces (counts pulled from another
// thread or process, fd tables, a load balancer's view, log lines of child processes). It re-checks
// every `everyMs` and throws, naming what it waited for, once `timeoutMs` has passed: a poll never ends
// silently and never waits unbounded.
import { setTimeout as delay } from 'node:timers/promises';

export interface PollOptions {
  timeoutMs?: number;
  everyMs?: number;
}

/** Resolves once `ok()` holds; `what` (or its result, built only on failure) names the condition. */
export async function pollUntil(ok: () => boolean | Promise<boolean>, what: string | (() => string), o: PollOptions = {}): Promise<void> {
  const until = performance.now() + (o.timeoutMs ?? 10_000);
  for (;;) {
    if (await ok()) return;
    if (performance.now() > until) throw new Error(`timed out after ${o.timeoutMs ?? 10_000} ms waiting for: ${typeof what === 'string' ? what : what()}`);
    await delay(o.everyMs ?? 20);
  }
}
