/**
 * The soak's bookkeeping that decides pass or fail, kept free of I/O so that tests can show each
 * check failing: barrier replies in order and none lost (BarrierTracker), RSS samples of the
 * switch and their bound (MemoryLog), and the first failure of the run (Verdict).
 */

/**
 * BARRIER_REQUESTs sent on one connection and their replies. A reply must answer the oldest
 * request still outstanding (replies come in xid order, none skipped); a request unanswered for
 * longer than the timeout is lost.
 */
export class BarrierTracker {
  private readonly outstanding: { xid: number; sentAt: number }[] = [];
  answered = 0;

  get pending(): number {
    return this.outstanding.length;
  }

  sent(xid: number, now: number): void {
    this.outstanding.push({ xid, sentAt: now });
  }

  /** A BARRIER_REPLY arrived: null when it is the one expected, else what is wrong. */
  replied(xid: number): string | null {
    const first = this.outstanding[0];
    if (!first) return `BARRIER_REPLY xid ${xid} arrived with no BARRIER_REQUEST outstanding`;
    if (first.xid !== xid) {
      const later = this.outstanding.some((b) => b.xid === xid);
      return later
        ? `BARRIER_REPLY xid ${xid} arrived before the reply to xid ${first.xid}, sent earlier (out of order)`
        : `BARRIER_REPLY xid ${xid} answers no outstanding BARRIER_REQUEST (expected xid ${first.xid})`;
    }
    this.outstanding.shift();
    this.answered++;
    return null;
  }

  /** Drops a request from the books without a reply (the self-check's deliberately misregistered one). */
  forget(xid: number): void {
    const i = this.outstanding.findIndex((b) => b.xid === xid);
    if (i >= 0) this.outstanding.splice(i, 1);
  }

  /** The oldest request unanswered for longer than `timeoutMs`, described; null when none. */
  overdue(now: number, timeoutMs: number): string | null {
    const first = this.outstanding[0];
    if (!first || now - first.sentAt <= timeoutMs) return null;
    return `BARRIER_REQUEST xid ${first.xid} unanswered after ${((now - first.sentAt) / 1000).toFixed(1)} s (${this.outstanding.length} outstanding)`;
  }
}

/** The resident set size of process `pid` in bytes (VmRSS of /proc/PID/status), or null when gone. */
export function parseVmRss(status: string): number | null {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return m ? Number(m[1]) * 1024 : null;
}

/** CPU seconds (user + system) a process has used, from the text of /proc/PID/stat; null when unreadable. */
export function parseCpuSeconds(stat: string, ticksPerSecond = 100): number | null {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]); // field 14 of proc(5)
  const stime = Number(fields[12]); // field 15
  return Number.isFinite(utime) && Number.isFinite(stime) && fields.length > 12 ? (utime + stime) / ticksPerSecond : null;
}

export interface MemorySample {
  /** Seconds since the soak started. */
  readonly t: number;
  readonly rss: number;
  /** The switch's CPU use since the previous sample, percent of one core (null: unknown). */
  readonly cpu?: number | null;
  /** What was going on (e.g. "stalled"), for the table. */
  readonly note: string;
}

const MB = 1024 * 1024;
const mb = (bytes: number): string => (bytes / MB).toFixed(1);

/** The switch's RSS over the run and the bound it must stay under: the first sample + growth. */
export class MemoryLog {
  readonly samples: MemorySample[] = [];
  private readonly growthBytes: number;

  constructor(growthMb: number) {
    this.growthBytes = growthMb * MB;
  }

  /** The bound in bytes (first sample + allowed growth), or null before the first sample. */
  get bound(): number | null {
    const first = this.samples[0];
    return first ? first.rss + this.growthBytes : null;
  }

  /** Records a sample; returns a failure message when it is past the bound. */
  add(sample: MemorySample): string | null {
    this.samples.push(sample);
    const bound = this.bound as number;
    if (sample.rss <= bound) return null;
    const first = this.samples[0] as MemorySample;
    return `switch RSS ${mb(sample.rss)} MB at ${sample.t.toFixed(0)} s is past the bound ${mb(bound)} MB ` +
      `(start ${mb(first.rss)} MB + ${mb(this.growthBytes)} MB)`;
  }

  summary(): { min: number; max: number; last: number; first: number } | null {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last) return null;
    let min = Infinity;
    let max = 0;
    for (const s of this.samples) {
      min = Math.min(min, s.rss);
      max = Math.max(max, s.rss);
    }
    return { min, max, last: last.rss, first: first.rss };
  }

  /**
   * The samples as a text table (at most `rows` rows: evenly spaced ones, the first, the last and
   * the largest always among them), then min/max/last against the bound.
   */
  table(rows = 30): string {
    const s = this.samples;
    const sum = this.summary();
    if (!sum) return 'memory: no samples';
    let chosen = s.map((_, i) => i);
    if (s.length > rows) {
      const maxAt = s.findIndex((x) => x.rss === sum.max);
      const step = (s.length - 1) / (rows - 1);
      chosen = [...new Set([...Array.from({ length: rows }, (_, i) => Math.round(i * step)), maxAt])].sort((a, b) => a - b);
    }
    const lines = ['  time (s)   RSS (MB)   CPU (%)   note', ...chosen.map((i) => {
      const x = s[i] as MemorySample;
      const cpu = x.cpu === undefined || x.cpu === null ? '-' : x.cpu.toFixed(0);
      return `${x.t.toFixed(0).padStart(10)} ${mb(x.rss).padStart(10)} ${cpu.padStart(9)}   ${x.note}`;
    })];
    lines.push(
      `  min ${mb(sum.min)} MB, max ${mb(sum.max)} MB, last ${mb(sum.last)} MB; start ${mb(sum.first)} MB, ` +
      `bound ${mb(this.bound as number)} MB (start + ${mb(this.growthBytes)} MB); ${s.length} samples`,
    );
    return lines.join('\n');
  }
}

/** The run's failures: the first one is the verdict; later ones are kept for the report. */
export class Verdict {
  readonly failures: string[] = [];
  private readonly onFirst: (message: string) => void;

  constructor(onFirst: (message: string) => void = () => undefined) {
    this.onFirst = onFirst;
  }

  get failed(): boolean {
    return this.failures.length > 0;
  }

  fail(message: string): void {
    this.failures.push(message);
    if (this.failures.length === 1) this.onFirst(message);
  }
}
