// Reads a process's CPU time and resident memory, and the machine's CPU counters, from /proc (Linux).
// /proc/<pid>/stat utime+stime is the process total: every thread, live or already exited, so a proxy
// running worker threads is measured whole.
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let hzCache: number | undefined;

/** USER_HZ: the unit of the tick counts in /proc (100 on nearly every Linux). */
export function clockTicksPerSecond(): number {
  if (hzCache === undefined) {
    try {
      hzCache = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      hzCache = 100;
    }
  }
  return hzCache;
}

/** utime + stime of a whole process in clock ticks; null when the process is gone. */
export function readProcessCpuTicks(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces and parentheses: fields are counted after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  return Number(rest[11]) + Number(rest[12]);
}

/** The first field of a /proc/.../schedstat line: time spent on a CPU, in nanoseconds. */
export function parseSchedstatNs(text: string): number | null {
  const v = Number(text.trim().split(/\s+/, 1)[0]);
  return Number.isFinite(v) ? v : null;
}

/**
 * CPU time of a process's live threads in nanoseconds, from /proc/<pid>/task/<tid>/schedstat: the
 * scheduler's own runtime count, without the 10 ms granularity of the stat ticks. Threads that exited
 * are not in it (the proxy's threads live as long as the proxy). Null when unavailable (no schedstat
 * in this kernel, or the process is gone).
 */
export function readProcessCpuNs(pid: number): number | null {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  let total = 0;
  for (const tid of tids) {
    try {
      const ns = parseSchedstatNs(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8'));
      if (ns === null) return null;
      total += ns;
    } catch (err) {
      // A thread that ended between readdir and read: its time is gone from the count anyway.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') continue;
      return null;
    }
  }
  return total;
}

/** Sum of readProcessCpuTicks over several processes (missing ones count 0). */
export function readCpuTicks(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) total += readProcessCpuTicks(pid) ?? 0;
  return total;
}

/** VmRSS of a process in KiB; null when the process is gone. */
export function readRssKiB(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return m ? Number(m[1]) : null;
}

/** Parses the `syscw` line of /proc/<pid>/io text: write-family syscalls (write, writev, pwrite...). */
export function parseSyscw(ioText: string): number | null {
  const m = /^syscw:\s+(\d+)$/m.exec(ioText);
  return m ? Number(m[1]) : null;
}

/**
 * Write syscalls a whole process made so far (every thread, live or exited); null when the process is
 * gone or /proc/<pid>/io is not readable (another user's process).
 */
export function readWriteSyscalls(pid: number): number | null {
  try {
    return parseSyscw(readFileSync(`/proc/${pid}/io`, 'utf8'));
  } catch {
    return null;
  }
}

/** `read` summed over processes; null when any of them cannot be read. */
export function sumOverPids(pids: readonly number[], read: (pid: number) => number | null): number | null {
  let total = 0;
  for (const pid of pids) {
    const n = read(pid);
    if (n === null) return null;
    total += n;
  }
  return total;
}

/** Write syscalls summed over processes; null when any of them cannot be read. */
export function readWriteSyscallsOf(pids: readonly number[]): number | null {
  return sumOverPids(pids, readWriteSyscalls);
}

export interface SystemCpu {
  /** Ticks spent busy by all CPUs (user, nice, system, irq, softirq, steal). */
  busy: number;
  /** All ticks including idle and iowait. */
  total: number;
}

/** The aggregate "cpu" line of /proc/stat. */
export function readSystemCpu(): SystemCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}
