import t from 'tap';
import { createLogger, silentLogger } from '../../lib/log.js';

t.test('one JSON object per line, level filter, child fields', async (t) => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', write: (l) => lines.push(l) });
  log.debug('hidden');
  log.info('hello', { n: 1n, bytes: new Uint8Array([1, 2]), err: new Error('boom') });
  log.child({ conn: 3 }).warn('careful');
  log.error('bad');
  t.equal(lines.length, 3);
  const first = JSON.parse(lines[0] ?? '');
  t.match(first, { level: 'info', msg: 'hello', n: '0x1', bytes: '0102', err: 'boom' });
  t.match(typeof first.time, 'string');
  t.match(JSON.parse(lines[1] ?? ''), { level: 'warn', msg: 'careful', conn: 3 });
  t.match(JSON.parse(lines[2] ?? ''), { level: 'error' });
  silentLogger.error('nothing');
  t.equal(log.debugEnabled, false);
  t.equal(createLogger({ level: 'debug', write: () => {} }).debugEnabled, true);
});

t.test('setLevel changes the level of a logger and of its children, off silences them', async (t) => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', write: (l) => lines.push(l) });
  const child = log.child({ conn: 1 });
  child.debug('hidden');
  log.setLevel('debug');
  t.equal(log.debugEnabled, true);
  t.equal(child.debugEnabled, true, 'the child follows its parent');
  child.debug('shown');
  child.setLevel('warn');
  log.info('hidden too');
  log.warn('warned');
  log.setLevel('off');
  t.equal(log.debugEnabled, false);
  log.error('silenced');
  child.error('silenced');
  t.same(lines.map((l) => JSON.parse(l).msg), ['shown', 'warned']);
});
