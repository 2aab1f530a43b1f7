/**
 * The scapy peer's process handling (test/helpers/scapy.ts): a helper that dies, or prints
 * something that is no answer, makes every pending request fail at once with the reason, and
 * every later one too, instead of leaving the test file waiting for tap's timeout.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScapyPeer } from '../helpers/scapy.js';

const HELLO = Uint8Array.from([1, 0, 0, 8, 0, 0, 0, 1]);

t.test('killed with requests pending: they are rejected at once, and so is the next one', async (t) => {
  const peer = new ScapyPeer();
  t.teardown(() => peer.close());
  const tree = await peer.dissect(HELLO);
  t.equal(tree.cls, 'OFPTHello', 'the helper answers');
  const pid = peer.pid;
  if (pid === undefined) return t.fail('no helper process');
  process.kill(pid, 'SIGSTOP'); // it reads nothing more: the requests below stay pending
  const dissecting = peer.dissect(HELLO);
  const building = peer.build({ cls: 'OFPTHello' });
  const started = Date.now();
  process.kill(pid, 'SIGKILL');
  await t.rejects(dissecting, /scapy helper exited \(SIGKILL\)/, 'the first pending request');
  await t.rejects(building, /scapy helper exited \(SIGKILL\)/, 'the second');
  // At the helper's exit, not at some timeout: the error names the signal; the bound is for a loaded machine.
  t.ok(Date.now() - started < 20_000, `within ${Date.now() - started} ms of the kill`);
  await t.rejects(peer.dissect(HELLO), /scapy helper exited/, 'a request after its death is refused');
});

t.test('a helper printing a line that is not an answer is stopped and its requests rejected', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-scapy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'broken.py');
  writeFileSync(script, 'import sys\nfor line in sys.stdin:\n    print("Traceback (most recent call last):", flush=True)\n');
  const peer = new ScapyPeer(script);
  t.teardown(() => peer.close());
  await t.rejects(peer.dissect(HELLO), /not JSON: Traceback/, 'the request gets the reason');
  await t.rejects(peer.dissect(HELLO), /not JSON/, 'and so does the next');
});

t.test('an answer nobody asked for is a broken helper too', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-scapy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'twice.py');
  writeFileSync(script, [
    'import sys',
    'for line in sys.stdin:',
    '    print(\'{"ok": false, "error": "first"}\', flush=True)',
    '    print(\'{"ok": false, "error": "second"}\', flush=True)',
    '',
  ].join('\n'));
  const peer = new ScapyPeer(script);
  t.teardown(() => peer.close());
  await t.rejects(peer.dissect(HELLO), /could not dissect: first/, 'the first line answers the request');
  // The second line arrives, with nothing asked, and the helper is killed for it: wait for that
  // (a fixed pause could end before the second line came, on a loaded machine).
  const pid = peer.pid;
  const alive = (): boolean => {
    try {
      if (pid !== undefined) process.kill(pid, 0);
      return pid !== undefined;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 400 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
  await t.rejects(peer.dissect(HELLO), /answered nothing that was asked: .*second/, 'then the helper is refused');
});
