// One wspass instance of a multi-instance topology test: a `wspass run` process on fixed ports (so a
// load balancer's config can name them and a restart binds them again), stopped with SIGTERM as an
// orchestrator stops it, and started again. Its access log (JSON lines on stdout) is kept across
// restarts, with the lifecycle lines, so a test reads which member served each tunnel and when it drained.
import { EventEmitter, once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import { spawnProxy } from './cli.js';

/** What the tests read of an access or lifecycle line. */
export interface LogLine {
  readonly msg: string;
  readonly access?: boolean;
  readonly url?: string;
  readonly member?: string;
  readonly client?: string;
  readonly reason?: string;
  readonly closedBy?: string;
  readonly goodbye?: string;
  /** Which start of the instance wrote it (0 for the first). */
  readonly run: number;
  /** When the test read it (Date.now()). */
  readonly readAt: number;
}

export class WspassInstance {
  readonly lines: LogLine[] = [];
  /** Lines that looked like JSON but did not parse (a torn or interleaved write). */
  readonly unparsed: string[] = [];
  readonly #events = new EventEmitter();
  #child: ChildProcess | undefined;
  #linesDone: Promise<void> | undefined;
  #runs = 0;

  constructor(
    private readonly t: TestContext,
    readonly name: string,
    private readonly config: object,
    private readonly args: string[],
    /** The ports its config names: its listener and its health listener. */
    readonly ports: { readonly port: number; readonly healthPort: number },
  ) {}

  /** Starts the process; resolves once it listens. */
  async start(): Promise<void> {
    const run = this.#runs++;
    const { child, linesDone } = await spawnProxy(this.t, this.config, {
      args: this.args,
      onLine: (line) => {
        if (!line.startsWith('{')) return;
        try {
          const parsed: LogLine = { ...(JSON.parse(line) as Omit<LogLine, 'run' | 'readAt'>), run, readAt: Date.now() };
          this.lines.push(parsed);
          this.#events.emit('line', parsed);
        } catch {
          this.unparsed.push(line);
        }
      },
    });
    this.#child = child;
    this.#linesDone = linesDone;
  }

  /** The tunnel-closed access lines, of every run. */
  tunnels(): LogLine[] {
    return this.lines.filter((l) => l.access === true && l.msg === 'tunnel closed');
  }

  /** Resolves with the first line (from index `after` on) that `match` accepts, bounded. */
  waitForLine(match: (l: LogLine) => boolean, what: string, after = 0, timeoutMs = 15_000): Promise<LogLine> {
    const found = this.lines.slice(after).find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onLine = (l: LogLine) => {
        if (!match(l)) return;
        clearTimeout(timer);
        this.#events.removeListener('line', onLine);
        resolve(l);
      };
      const timer = setTimeout(() => {
        this.#events.removeListener('line', onLine);
        reject(new Error(`${this.name}: no log line for ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#events.on('line', onLine);
    });
  }

  /** SIGTERM (readiness fails, serve on for the preStop delay, drain); resolves with the exit code. */
  async stop(timeoutMs = 20_000): Promise<number | null> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) throw new Error(`${this.name} is not running`);
    const exited = once(child, 'exit') as Promise<[number | null]>;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const [code] = await exited;
    clearTimeout(timer);
    // The lines it wrote last may still be on their way when 'exit' (or even 'close') comes.
    await this.#linesDone;
    return code;
  }
}
