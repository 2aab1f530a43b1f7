import t from 'tap';
import { createLogger, jsonFriendly, silentLogger, type Logger, type LogLevel } from '../../lib/log.js';

/** A logger whose lines are parsed as they are written; a line holding a newline throws. */
function capture(level?: LogLevel): { lines: Record<string, unknown>[]; log: Logger } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    ...(level ? { level } : {}),
    write: (l) => {
      if (l.includes('\n')) throw new Error(`not one line: ${l}`);
      lines.push(JSON.parse(l) as Record<string, unknown>);
    },
  });
  return { lines, log };
}

t.test('one JSON object per line, level filter, child fields', async (t) => {
  const { lines, log } = capture('info');
  log.debug('hidden');
  log.info('hello', { n: 1n, bytes: new Uint8Array([1, 2]), err: new Error('boom') });
  log.child({ conn: 3 }).warn('careful');
  log.error('bad');
  t.equal(lines.length, 3);
  const first = lines[0] ?? {};
  t.match(first, { level: 'info', msg: 'hello', n: '0x1', bytes: '0102', err: { type: 'Error', message: 'boom' } });
  t.match((first['err'] as { stack: string }).stack, /^Error: boom\n\s+at /, 'errors keep their stack');
  t.ok(!Number.isNaN(Date.parse(String(first['time']))), 'ISO time');
  t.notOk('pid' in first || 'hostname' in first, 'no pino base fields');
  t.match(lines[1], { level: 'warn', msg: 'careful', conn: 3 });
  t.match(lines[2], { level: 'error', msg: 'bad' });
  silentLogger.error('nothing');
  t.equal(silentLogger.debugEnabled, false);
  t.equal(log.debugEnabled, false);
  t.equal(log.level, 'info');
  t.equal(capture().log.level, 'info', 'info by default');
  t.equal(createLogger({ level: 'debug', write: () => {} }).debugEnabled, true);
});

t.test('setLevel changes the whole tree, children made earlier included', async (t) => {
  const { lines, log } = capture('warn');
  const conn = log.child({ conn: 1 });
  const port = conn.child({ port: 'veth0', dpid: 0xabn });
  port.info('not yet');
  t.equal(lines.length, 0);
  port.setLevel('debug');
  t.equal(log.level, 'debug');
  t.equal(conn.debugEnabled, true);
  port.debug('now', { xid: 7 });
  log.info('root too');
  conn.debug('bare');
  t.match(lines, [
    { level: 'debug', msg: 'now', conn: 1, port: 'veth0', dpid: '0xab', xid: 7 },
    { level: 'info', msg: 'root too' },
    { level: 'debug', msg: 'bare', conn: 1 },
  ]);
  log.setLevel('error');
  conn.warn('dropped');
  t.equal(lines.length, 3);
});

t.test('fields on every line; nested values made JSON-friendly', async (t) => {
  const lines: string[] = [];
  const log = createLogger({ fields: { bridge: 'br0' }, write: (l) => lines.push(l) });
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic['self'] = cyclic;
  log.info('x', { list: [1n, new Uint8Array([255])], nested: { dpid: 2n }, cyclic, when: new Date(0), nothing: null });
  t.match(JSON.parse(lines[0] ?? ''), {
    bridge: 'br0',
    list: ['0x1', 'ff'],
    nested: { dpid: '0x2' },
    cyclic: { a: 1, self: '[Circular]' },
    when: '1970-01-01T00:00:00.000Z',
    nothing: null,
  });
  const bytes = new Uint8Array([9, 1, 2, 9]).subarray(1, 3);
  t.equal(jsonFriendly(bytes), '0102', 'a view, not its whole buffer');
  t.same(jsonFriendly(Object.assign(Object.create(null) as object, { n: 3n })), { n: '0x3' });
});
