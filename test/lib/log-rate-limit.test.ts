/**
 * Log rate limits (lib/log-rate-limit.ts) behave as Open vSwitch's vlog_should_drop and
 * token_bucket_withdraw: a full bucket of BURST lines, RATE lines a minute after, a summary line
 * worded as OVS words it before the next line that passes, disabled levels free.
 */
import t from 'tap';
import { createLogger, silentLogger, type Logger, type LogLevel } from '../../lib/log.js';
import { droppedText, LOG_RATE_LIMITS, LogRateLimiter } from '../../lib/log-rate-limit.js';

function capture(level: LogLevel = 'info'): { lines: Record<string, unknown>[]; log: Logger; clock: { ms: number } } {
  const lines: Record<string, unknown>[] = [];
  const clock = { ms: 1_000_000 };
  const log = createLogger({ level, now: () => clock.ms, write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  return { lines, log, clock };
}

t.test('token bucket: starts full with the burst, refills at the rate per minute, never above the burst', async (t) => {
  const rl = new LogRateLimiter({ perMinute: 6, burst: 3 }); // one line every 10 s
  let now = 5_000;
  const passes = (): boolean => rl.admit(now).pass;
  t.same([passes(), passes(), passes(), passes()], [true, true, true, false], 'a burst of 3, then dropped');
  t.equal(rl.dropped, 1);
  now += 9_999;
  t.notOk(passes(), 'not a whole token after 9.999 s');
  now += 1;
  const v = rl.admit(now);
  t.ok(v.pass, 'a token after 10 s');
  t.same(v.pass && v.summary, { dropped: 2, firstSecondsAgo: 10, lastSecondsAgo: 1 }, 'the summary of the two dropped, in whole seconds (time_t) as OVS counts them');
  t.equal(rl.dropped, 0, 'reset once reported');
  now += 3_600_000;
  t.same([passes(), passes(), passes(), passes()], [true, true, true, false], 'an hour later: the burst again, no more');
});

t.test('the summary text is OVS\'s', async (t) => {
  t.equal(
    droppedText({ dropped: 17, firstSecondsAgo: 42, lastSecondsAgo: 3 }),
    'Dropped 17 log messages in last 42 seconds (most recently, 3 seconds ago) due to excessive rate',
  );
});

t.test('limited lines: per kind, shared by children, a summary line before the next that passes', async (t) => {
  const { lines, log, clock } = capture();
  const { burst, perMinute } = LOG_RATE_LIMITS['bad-message'];
  const a = log.child({ conn: 1 }).limited('bad-message');
  const b = log.child({ conn: 2 }).limited('bad-message');
  for (let i = 0; i < burst; i++) (i % 2 ? a : b).warn('bad message', { i });
  t.equal(lines.length, burst, 'the burst passes');
  for (let i = 0; i < 100; i++) a.warn('bad message', { i: burst + i });
  b.warn('bad message');
  t.equal(lines.length, burst, 'then dropped, from every connection alike');
  log.limited('error-reply').info('refused message');
  t.equal(lines.length, burst + 1, 'another kind has its own bucket');
  log.info('not limited');
  t.equal(lines.length, burst + 2, 'unlimited lines pass');
  clock.ms += 2_000;
  a.warn('still dropped');
  clock.ms += 60_000 / perMinute;
  a.warn('bad message', { after: true });
  t.equal(lines.length, burst + 4, 'a token later: the summary and the line');
  t.match(lines[burst + 2], {
    level: 'warn',
    limited: 'bad-message',
    msg: 'Dropped 102 log messages in last 62 seconds (most recently, 60 seconds ago) due to excessive rate',
  });
  t.notOk('conn' in (lines[burst + 2] ?? {}), 'the summary carries no connection of its own');
  t.match(lines[burst + 3], { level: 'warn', msg: 'bad message', conn: 1, after: true });
});

t.test('a disabled level costs no token and counts no drop; the summary takes the level of the line it precedes', async (t) => {
  const { lines, log, clock } = capture('warn');
  const l = log.limited('accept');
  for (let i = 0; i < 50; i++) l.info('hidden');
  for (let i = 0; i < LOG_RATE_LIMITS.accept.burst; i++) l.warn('seen');
  t.equal(lines.length, LOG_RATE_LIMITS.accept.burst, 'the info lines took no tokens');
  l.warn('dropped');
  l.debug('hidden');
  clock.ms += 60_000;
  l.error('passes');
  t.match(lines.slice(-2), [{ level: 'error', msg: /^Dropped 1 log messages in last 60 seconds/ }, { level: 'error', msg: 'passes' }]);
  log.setLevel('debug');
  const d = log.limited('connection');
  d.debug('debug line');
  t.match(lines.at(-1), { level: 'debug', msg: 'debug line' });
  silentLogger.limited('connection').error('nothing');
  silentLogger.limited('connection').info('nothing');
  silentLogger.limited('connection').debug('nothing');
  silentLogger.limited('connection').warn('nothing');
  t.equal(silentLogger.limited('connection'), silentLogger.limited('connection'), 'one writer per logger and kind');
});
