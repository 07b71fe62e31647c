// The primary thread's side of the engine (DESIGN D2). It never touches tunnel bytes.
//
//   primary: config, Supervisor ──workerData/postMessage──▶ worker 0..N-1: ProxyServer (reusePort)
//            reads SharedCounters ◀──── each worker writes its own row ────┘
//
// Start-up: the primary checks that each fixed port is free (port-probe.ts), then worker 0 binds first (it
// may be given port 0 and learn the real port); the others then bind the same ports with SO_REUSEPORT, so
// the kernel spreads connections over them and a worker that dies closes only its own listening socket.
// A worker that dies is respawned with backoff; one that keeps failing at start-up stops being respawned,
// with its error logged. A reload is two rounds (protocol.ts): all workers prepare, then all commit.
import { isDeepStrictEqual } from 'node:util';
import { Worker } from 'node:worker_threads';
import { MemberTable } from '../balancer/member-table.js';
import { resolveListeners } from '../config/listen-address.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { ListenerMaterial } from '../tls/certificate-material.js';
import { exposeGcToWorkers } from './heap-reclaim.js';
import { assertPortsFree } from './port-probe.js';
import type { PrimaryMessage, ReloadPhase, WireError, WorkerInit, WorkerMessage } from './protocol.js';
import { RouteSlots, SharedCounters, type CounterSnapshot } from './shared-counters.js';
import type { TunnelQuery, TunnelSelector } from '../server/open-tunnels.js';
import { TUNNEL_ID_RANGE, TunnelQueries, type Asked, type TunnelPage } from './tunnel-queries.js';
import { ClientTable } from '../limits/client-table.js';
import { memberKeys, newMemberSlots } from '../limits/limit-slots.js';
import { TunnelCounts } from '../limits/tunnel-counts.js';
import { counterSlotNames } from '../metrics/slot-names.js';

const WORKER_ENTRY = new URL('./worker-main.js', import.meta.url);
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10_000;
/** A worker that ran this long before dying is considered healthy: its backoff starts over. */
const HEALTHY_UPTIME_MS = 30_000;
/** Consecutive start-up failures after which a worker is no longer respawned. */
const MAX_STARTUP_FAILURES = 5;
const RELOAD_TIMEOUT_MS = 10_000;

export type WorkerState = 'starting' | 'ready' | 'draining' | 'exited' | 'failed';

export interface WorkerStatus {
  readonly id: number;
  readonly state: WorkerState;
  readonly threadId: number | undefined;
  readonly restarts: number;
  /** The tunnel engine of plain TCP tunnels on this worker (undefined until it is ready). */
  readonly engine: 'native' | 'js' | undefined;
  readonly lastError: WireError | undefined;
}

interface Slot {
  readonly id: number;
  worker: Worker | undefined;
  state: WorkerState;
  restarts: number;
  startupFailures: number;
  backoffMs: number;
  readyAt: number;
  /** The tunnel engine the worker reported when it became ready. */
  engine: 'native' | 'js' | undefined;
  lastError: WireError | undefined;
  respawnTimer: NodeJS.Timeout | undefined;
  /** Which spawn the running worker is (process-wide count): its tunnel ids are in that range. */
  generation: number;
}

export interface SupervisorOptions {
  readonly config: Config;
  readonly workers: number;
  readonly log: Logger;
  readonly reusePort: boolean;
  /** Lets the admin endpoint crash a worker on purpose (tests of the failure path). */
  readonly faultInjection?: boolean;
  /** Certificate material of each TLS listener (read and checked by the caller), by listener index. */
  readonly tls?: readonly (ListenerMaterial | undefined)[];
}

/** The counter name of each route: its name, or its position. */
export class Supervisor {
  readonly #opts: SupervisorOptions;
  readonly #log: Logger;
  readonly #counters: SharedCounters;
  readonly #slots = new RouteSlots();
  /** Tunnel limit counts of every worker; a dead worker's reservations are given back here. */
  readonly #tunnelCounts: TunnelCounts;
  readonly #clientTable: ClientTable;
  readonly #memberSlots = newMemberSlots();
  readonly #workers: Slot[];
  #config: Config;
  #members: MemberTable;
  /** The certificate material workers run with; a respawned worker starts with the latest. */
  readonly #tls: (ListenerMaterial | undefined)[];
  #ports: number[] = [];
  #stopping = false;
  #reloadSeq = 0;
  #reloadChain: Promise<void> = Promise.resolve();
  /** Reload rounds waiting for worker answers, by "phase:seq". */
  readonly #rounds = new Map<string, { waiting: Set<number>; errors: string[]; done: () => void }>();
  readonly #queries = new TunnelQueries();
  #spawns = 0;

  constructor(opts: SupervisorOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#config = opts.config;
    this.#counters = new SharedCounters(opts.workers);
    this.#members = new MemberTable(opts.config);
    this.#tls = [...(opts.tls ?? [])];
    this.#slots.assign(counterSlotNames(opts.config));
    this.#tunnelCounts = new TunnelCounts(opts.workers);
    // Workers reclaim a burst's heap with V8's gc (heap-reclaim.ts); it exists only if exposed first.
    exposeGcToWorkers();
    this.#clientTable = new ClientTable(opts.config.limits.perClient?.tableSize ?? 65_536, opts.workers);
    this.#memberSlots.assign(memberKeys(opts.config));
    this.#workers = Array.from({ length: opts.workers }, (_, id) => ({
      id,
      worker: undefined,
      state: 'starting',
      restarts: 0,
      startupFailures: 0,
      backoffMs: FIRST_BACKOFF_MS,
      readyAt: 0,
      engine: undefined,
      lastError: undefined,
      respawnTimer: undefined,
      generation: 0,
    }));
  }

  /** Balancer member state shared with every worker (runtime control and health checks write it). */
  get members(): MemberTable {
    return this.#members;
  }

  /** The bound port of each listener, once started. */
  get ports(): readonly number[] {
    return this.#ports;
  }

  /** Starts every worker; rejects (after stopping the others) if any fails to start. */
  async start(): Promise<readonly number[]> {
    // Without reusePort worker 0's own bind is exclusive and fails by itself on a taken port.
    if (this.#opts.reusePort) await assertPortsFree(resolveListeners(this.#config));
    const first = this.#workers[0]!;
    this.#ports = await this.#spawnAndWait(first, undefined);
    try {
      await Promise.all(this.#workers.slice(1).map((slot) => this.#spawnAndWait(slot, this.#ports)));
    } catch (err) {
      await this.terminate();
      throw err;
    }
    return this.#ports;
  }

  status(): { workers: WorkerStatus[]; counters: CounterSnapshot } {
    return {
      workers: this.#workers.map((s) => ({
        id: s.id,
        state: s.state,
        threadId: s.worker?.threadId,
        restarts: s.restarts,
        engine: s.engine,
        lastError: s.lastError,
      })),
      counters: this.#counters.snapshot(this.#slots.map),
    };
  }

  /**
   * Applies a validated config everywhere or nowhere. Every ready worker prepares it; `preparePrimary`
   * builds the primary's own part (given the member table the new config uses) and returns its commit.
   * Only when every prepare succeeded are the primary's part and every worker committed; otherwise every
   * worker aborts and this rejects with the reasons, the running config untouched. Resolves once the
   * workers have answered the commit.
   */
  reload(config: Config, preparePrimary: (members: MemberTable) => () => void = () => () => undefined): Promise<void> {
    // One reload at a time: two SIGHUPs in a row commit in the order they came.
    const run = this.#reloadChain.then(() => this.#reload(config, preparePrimary));
    this.#reloadChain = run.catch(() => undefined);
    return run;
  }

  async #reload(config: Config, preparePrimary: (members: MemberTable) => () => void): Promise<void> {
    // Same members: keep the table, so runtime drains, weights and error states survive the reload.
    const sameMembers = isDeepStrictEqual(MemberTable.layoutFor(config).keys, MemberTable.layoutFor(this.#config).keys);
    const members = sameMembers ? this.#members : new MemberTable(config);
    const commitPrimary = preparePrimary(members);
    const names = counterSlotNames(config);
    const slots = [...this.#slots.preview(names)];
    const memberSlots = [...this.#memberSlots.preview(memberKeys(config))];
    const seq = ++this.#reloadSeq;
    const live = this.#workers.filter((s) => s.worker && s.state === 'ready');
    const prepareErrors = await this.#round('prepare', seq, live, {
      type: 'reload-prepare',
      seq,
      config,
      slots,
      members: members.buffer,
      memberSlots,
    });
    if (prepareErrors.length) {
      for (const s of live) this.#post(s, { type: 'reload-abort', seq });
      throw new Error(`reload aborted, nothing changed: ${prepareErrors.join('; ')}`);
    }
    this.#members = members;
    this.#config = config;
    this.#slots.assign(names);
    this.#memberSlots.assign(memberKeys(config));
    commitPrimary();
    // A worker that became ready during the prepare round was spawned with the old config.
    for (const s of this.#workers) if (s.worker && s.state === 'ready' && !live.includes(s)) this.#catchUp(s);
    // Past this point the new config is the running one (a respawned worker starts with it), so a commit
    // a worker could not apply is logged, not reported as a rejected reload.
    const commitErrors = await this.#round('commit', seq, live, { type: 'reload-commit', seq });
    if (commitErrors.length) this.#log.error({ errors: commitErrors }, 'reload committed, but not applied everywhere');
  }

  /** Sends `msg` to `slots` and collects their answers for `phase` of reload `seq` (bounded wait). */
  #round(phase: ReloadPhase, seq: number, slots: readonly Slot[], msg: PrimaryMessage): Promise<string[]> {
    const key = `${phase}:${seq}`;
    const errors: string[] = [];
    return new Promise<string[]>((resolve) => {
      const waiting = new Set(slots.map((s) => s.id));
      const timer = setTimeout(() => {
        errors.push(`no answer from worker(s) ${[...waiting].join(', ')} within ${RELOAD_TIMEOUT_MS} ms`);
        finish();
      }, RELOAD_TIMEOUT_MS);
      const finish = () => {
        clearTimeout(timer);
        this.#rounds.delete(key);
        resolve(errors);
      };
      this.#rounds.set(key, { waiting, errors, done: finish });
      if (waiting.size === 0) finish();
      for (const s of slots) this.#post(s, msg);
    });
  }

  /** A worker that started while a reload was committed runs the config it was spawned with: catch it up. */
  #catchUp(slot: Slot): void {
    const seq = ++this.#reloadSeq;
    const slots = [...this.#slots.map];
    const memberSlots = [...this.#memberSlots.map];
    this.#post(slot, { type: 'reload-prepare', seq, config: this.#config, slots, members: this.#members.buffer, memberSlots });
    this.#post(slot, { type: 'reload-commit', seq });
  }

  /**
   * Swaps the certificate material of TLS listener `listener` on every worker; resolves once they have
   * applied it (new handshakes then get it everywhere), with the reasons of any worker that could not.
   */
  async updateTls(listener: number, material: ListenerMaterial): Promise<string[]> {
    this.#tls[listener] = material;
    const seq = ++this.#reloadSeq;
    // A starting worker answers too: it keeps the material for the listener it is about to bind.
    const live = this.#workers.filter((s) => s.worker && (s.state === 'ready' || s.state === 'starting'));
    return this.#round('tls', seq, live, { type: 'tls-update', seq, listener, material });
  }

  /** Graceful stop: every worker drains (see ProxyServer.drain); resolves when all have exited. */
  async drain(tunnelDrainMs: number, deadlineMs: number): Promise<void> {
    this.#stopping = true;
    const exits: Promise<void>[] = [];
    for (const s of this.#workers) {
      if (s.respawnTimer) clearTimeout(s.respawnTimer);
      const w = s.worker;
      if (!w) continue;
      s.state = 'draining';
      exits.push(new Promise<void>((resolve) => w.once('exit', () => resolve())));
      this.#post(s, { type: 'drain', tunnelDrainMs, deadlineMs });
    }
    // A worker that does not finish within its own deadline (plus a margin) is terminated.
    const hard = setTimeout(() => void this.terminate(), deadlineMs + 2_000);
    await Promise.all(exits);
    clearTimeout(hard);
  }

  /** Forceful stop of every worker. */
  async terminate(): Promise<void> {
    this.#stopping = true;
    await Promise.all(
      this.#workers.map(async (s) => {
        if (s.respawnTimer) clearTimeout(s.respawnTimer);
        await s.worker?.terminate();
      }),
    );
  }

  /**
   * Every worker adds what its open tunnels did since its last once-a-second flush to the shared
   * counters; resolves when all have (a reader that needs exact figures at an instant reads after it).
   */
  flushStats(): Promise<{ unanswered: readonly number[] }> {
    return this.#queries.flushStats(this.#asked(this.#workers));
  }

  /** A page of the open tunnels of every worker, in id order (the admin endpoint's listing). */
  listTunnels(query: TunnelQuery): Promise<TunnelPage> {
    return this.#queries.list(this.#asked(this.#workers), query);
  }

  /**
   * Closes tunnels gracefully: one by id (only its worker is asked; ids say which spawn opened them) or
   * every tunnel of a balancer member.
   */
  closeTunnels(selector: TunnelSelector): Promise<{ closed: number; unanswered: readonly number[] }> {
    const slots = 'id' in selector ? this.#workers.filter((s) => s.generation === Math.floor(selector.id / TUNNEL_ID_RANGE)) : this.#workers;
    return this.#queries.close(this.#asked(slots), selector);
  }

  #asked(slots: readonly Slot[]): Asked[] {
    return slots.filter((s) => s.worker && (s.state === 'ready' || s.state === 'draining')).map((s) => ({ id: s.id, post: (msg) => this.#post(s, msg) }));
  }

  /** Benchmarks: every worker collects garbage (does nothing unless node runs with --expose-gc). */
  collectGarbage(): void {
    for (const s of this.#workers) this.#post(s, { type: 'gc' });
  }

  /** Fault injection (tests): makes the next reload prepare of worker `id` fail. */
  failNextPrepare(id: number): boolean {
    const s = this.#workers[id];
    if (!this.#opts.faultInjection || !s?.worker) return false;
    this.#post(s, { type: 'fail-next-prepare' });
    return true;
  }

  /** Fault injection (tests): makes worker `id` throw an uncaught exception. */
  crash(id: number): boolean {
    const s = this.#workers[id];
    if (!this.#opts.faultInjection || !s?.worker) return false;
    this.#post(s, { type: 'crash', message: `fault injection: crash of worker ${id}` });
    return true;
  }

  #post(slot: Slot, msg: PrimaryMessage): void {
    slot.worker?.postMessage(msg);
  }

  #spawnAndWait(slot: Slot, ports: readonly number[] | undefined): Promise<number[]> {
    return new Promise((resolve, reject) => {
      this.#spawn(slot, ports, { resolve, reject });
    });
  }

  #spawn(
    slot: Slot,
    ports: readonly number[] | undefined,
    startup?: { resolve: (ports: number[]) => void; reject: (err: Error) => void },
  ): void {
    const init: WorkerInit = {
      id: slot.id,
      config: this.#config,
      ports: ports ?? [],
      reusePort: this.#opts.reusePort,
      counters: this.#counters.buffer,
      members: this.#members.buffer,
      workers: this.#opts.workers,
      slots: [...this.#slots.map],
      faultInjection: this.#opts.faultInjection ?? false,
      tls: this.#tls,
      tunnelIdBase: ++this.#spawns * TUNNEL_ID_RANGE,
      limits: {
        counts: this.#tunnelCounts.buffer,
        clients: this.#clientTable.buffer,
        clientCapacity: this.#clientTable.capacity,
        memberSlots: [...this.#memberSlots.map],
      },
    };
    const spawnedWith = this.#config;
    const worker = new Worker(WORKER_ENTRY, { workerData: init });
    slot.worker = worker;
    slot.state = 'starting';
    slot.generation = this.#spawns;
    let startupError: WireError | undefined;

    worker.on('message', (msg: WorkerMessage) => {
      switch (msg.type) {
        case 'ready':
          slot.state = 'ready';
          slot.readyAt = Date.now();
          slot.engine = msg.engine;
          slot.startupFailures = 0;
          this.#log.info({ worker: slot.id, threadId: worker.threadId, ports: msg.ports, engine: msg.engine }, 'worker ready');
          if (spawnedWith !== this.#config) this.#catchUp(slot);
          startup?.resolve([...msg.ports]);
          break;
        case 'startup-failed':
          startupError = msg.error;
          break;
        case 'reload-done':
        case 'reload-failed': {
          const round = this.#rounds.get(`${msg.phase}:${msg.seq}`);
          if (msg.type === 'reload-failed') {
            const reason = `worker ${slot.id}: ${msg.error.message}`;
            if (round) round.errors.push(reason);
            else this.#log.error({ worker: slot.id, phase: msg.phase, err: msg.error.message }, 'worker could not apply the config');
          }
          if (!round) break;
          round.waiting.delete(slot.id);
          if (round.waiting.size === 0) round.done();
          break;
        }
        case 'drained':
          break;
        case 'tunnel-answer':
          this.#queries.answered(slot.id, msg);
          break;
      }
    });
    worker.on('error', (err) => {
      slot.lastError = { code: err.name, message: err.message };
      this.#log.error({ worker: slot.id, err: err.stack ?? err.message }, 'worker crashed');
    });
    worker.on('exit', (code) => {
      const wasReady = slot.state === 'ready';
      slot.worker = undefined;
      this.#counters.resetActive(slot.id);
      this.#queries.gone(slot.id);
      // Its tunnels died with it: so do their limit reservations, before a respawn reuses its rows.
      const freed = this.#tunnelCounts.reclaim(slot.id) + this.#clientTable.reclaim(slot.id);
      if (freed > 0) this.#log.info({ worker: slot.id }, 'limit reservations of the dead worker given back');
      // A worker that dies in the middle of a reload has not prepared it: the reload is aborted.
      for (const round of this.#rounds.values()) {
        if (!round.waiting.delete(slot.id)) continue;
        round.errors.push(`worker ${slot.id} exited during the reload`);
        if (round.waiting.size === 0) round.done();
      }
      if (this.#stopping || slot.state === 'draining') {
        slot.state = 'exited';
        return;
      }
      if (!wasReady) {
        const error = startupError ?? slot.lastError ?? { code: 'EXIT', message: `exited with code ${code}` };
        slot.lastError = error;
        if (startup) {
          startup.reject(new Error(`worker ${slot.id} failed to start: ${error.message}`));
          slot.state = 'failed';
          return;
        }
        slot.startupFailures++;
        if (slot.startupFailures >= MAX_STARTUP_FAILURES) {
          slot.state = 'failed';
          this.#log.error(
            { worker: slot.id, failures: slot.startupFailures, err: error.message },
            'worker keeps failing at start-up; not respawning it',
          );
          return;
        }
      } else {
        this.#log.error({ worker: slot.id, code }, 'worker exited unexpectedly; its tunnels are lost, respawning');
        if (Date.now() - slot.readyAt > HEALTHY_UPTIME_MS) slot.backoffMs = FIRST_BACKOFF_MS;
      }
      slot.state = 'exited';
      this.#scheduleRespawn(slot);
    });
  }

  #scheduleRespawn(slot: Slot): void {
    const delay = slot.backoffMs;
    slot.backoffMs = Math.min(slot.backoffMs * 2, MAX_BACKOFF_MS);
    slot.respawnTimer = setTimeout(() => {
      slot.respawnTimer = undefined;
      if (this.#stopping) return;
      slot.restarts++;
      try {
        this.#spawn(slot, this.#ports);
      } catch (err) {
        // A thread that cannot even be created (out of memory or file descriptors) is a failed start,
        // retried with backoff like one that exits early; never an exception in the primary's timer.
        slot.worker = undefined;
        slot.lastError = { code: (err as NodeJS.ErrnoException).code ?? 'SPAWN', message: (err as Error).message };
        slot.startupFailures++;
        if (slot.startupFailures >= MAX_STARTUP_FAILURES) {
          slot.state = 'failed';
          this.#log.error({ worker: slot.id, failures: slot.startupFailures, err: slot.lastError.message }, 'worker cannot be started; not respawning it');
          return;
        }
        slot.state = 'exited';
        this.#log.error({ worker: slot.id, err: slot.lastError.message }, 'worker could not be created; retrying');
        this.#scheduleRespawn(slot);
      }
    }, delay);
  }
}
