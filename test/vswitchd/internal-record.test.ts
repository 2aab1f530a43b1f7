/**
 * The record of internal interfaces in the run directory (vswitchd/internal-record.ts) and what
 * the reconciler does with it: a daemon that never reconfigured leaves it alone, one that cannot
 * write it says so, and removeInternalPair deletes only a veth pair named NAME / ofl-NAME (also
 * when NAME was moved into another namespace).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createLogger } from '../../lib/log.js';
import { removeInternalPair } from '../../lib/switch.js';
import { InternalRecord, RECORD_FILE } from '../../vswitchd/internal-record.js';
import { Reconciler } from '../../vswitchd/reconciler.js';
import { internalPairState } from '../../datapath/ports/internal-port.js';
import { createNamespace, createVethPair, moveToNamespace, tryRun, uniqueName } from '../helpers/netns.js';

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'ofsw-record-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('the record: names one a line, sorted; rewritten only when the set changes', async (t) => {
  const dir = tempDir(t);
  const record = new InternalRecord(dir);
  t.equal(record.path, join(dir, RECORD_FILE));
  t.same(record.read(), [], 'no file: no leftovers');
  record.write(new Set(['b1', 'a1']));
  t.equal(readFileSync(record.path, 'utf8'), 'a1\nb1\n');
  t.same(new InternalRecord(dir).read(), ['a1', 'b1'], 'the next daemon reads the names');
  unlinkSync(record.path);
  record.write(['a1', 'b1']);
  t.notOk(existsSync(record.path), 'the same set is not written again');
  record.write([]);
  t.equal(readFileSync(record.path, 'utf8'), '', 'an empty set is an empty file');
  t.throws(() => new InternalRecord(join(dir, 'missing')).write(['x']), /ENOENT/, 'an unwritable record throws');
});

t.test('the reconciler: logs a record it cannot write; keeps the record when it never reconfigured', async (t) => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', write: (l) => lines.push(l) });
  const nowhere = new Reconciler({ rundir: join(tempDir(t), 'missing'), log });
  await nowhere.apply({ uuid: 'u', nextCfg: 1, bridges: [], problems: [] });
  t.match(lines.join('\n'), /"level":"warn".*"msg":"cannot record the internal interfaces"/, 'a warning names the failure');

  const dir = tempDir(t);
  new InternalRecord(dir).write(['left1']);
  const idle = new Reconciler({ rundir: dir, log });
  await idle.close();
  t.equal(readFileSync(join(dir, RECORD_FILE), 'utf8'), 'left1\n', 'closed before any reconfiguration: the record stays for the next daemon');
  const busy = new Reconciler({ rundir: dir, log });
  await busy.apply({ uuid: 'u', nextCfg: 1, bridges: [], problems: [] });
  t.equal(readFileSync(join(dir, RECORD_FILE), 'utf8'), '', 'after a reconfiguration without internal interfaces: empty');
});

t.test('removeInternalPair deletes a pair NAME / ofl-NAME and nothing else', async (t) => {
  t.equal(removeInternalPair('lo'), false, 'lo is no pair: untouched');
  t.ok(existsSync('/sys/class/net/lo'), 'lo is still there');
  const name = uniqueName('rp');
  await createVethPair(name, `ofl-${name}`, t);
  const other = uniqueName('rq');
  await createVethPair(other, uniqueName('rqx'), t);
  t.equal(removeInternalPair(other), false, 'a veth whose peer is not ofl-NAME: untouched');
  t.ok(existsSync(`/sys/class/net/${other}`), 'still there');
  t.equal(removeInternalPair(name), true, 'the pair is deleted');
  t.notOk(existsSync(`/sys/class/net/${name}`), 'NAME is gone');
  t.notOk(existsSync(`/sys/class/net/ofl-${name}`), 'and ofl-NAME');
  t.equal(removeInternalPair(name), false, 'a second time: nothing to delete');
  t.equal(internalPairState(name), 'none', 'neither end is left');
});

t.test('internalPairState and removeInternalPair: the host end moved into another namespace', async (t) => {
  const name = uniqueName('rm');
  await createVethPair(name, `ofl-${name}`, t);
  t.equal(internalPairState(name), 'pair', 'both ends here: a pair');
  const ns = await createNamespace('rmn', t);
  await moveToNamespace(name, ns);
  t.equal(internalPairState(name), 'moved', 'only ofl-NAME here, linked elsewhere: moved');
  t.equal(removeInternalPair(name), true, 'deleted through the switch\'s end');
  t.equal((await tryRun('ip', ['link', 'show', name], ns)).code, 1, 'gone from the namespace too');
  const lone = uniqueName('rl');
  await createVethPair(lone, uniqueName('rlx'), t);
  t.equal(internalPairState(lone), 'other', 'an interface NAME without ofl-NAME: other');
});
