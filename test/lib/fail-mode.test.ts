import t from 'tap';
import { FailModeState, type MissPolicy } from '../../lib/fail-mode.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('secure: controller when any connection is up, else drop, never NORMAL', async (t) => {
  let now = 0;
  const changes: MissPolicy[] = [];
  const f = new FailModeState({ mode: 'secure', haveControllers: true, probeIntervalMs: 5000, now: () => now, onPolicyChange: (p) => changes.push(p) });
  t.equal(f.installsNormalFlow, false);
  now = 60_000;
  f.update();
  t.equal(f.missPolicy, 'drop');
  f.setConnections(0, true);
  t.equal(f.missPolicy, 'controller', 'a passive connection takes PACKET_INs too');
  f.setConnections(0, true);
  t.same(changes, ['controller'], 'told only when it changes');
  f.close();
});

t.test('standalone without controllers: the visible NORMAL entry', async (t) => {
  const f = new FailModeState({ mode: 'standalone', haveControllers: false, probeIntervalMs: 5000 });
  t.equal(f.installsNormalFlow, true);
  t.equal(f.failOpen, false);
  t.equal(f.missPolicy, 'drop');
  f.close();
});

t.test('standalone with controllers: NORMAL after a probe interval without one, back when one connects', async (t) => {
  let now = 0;
  const f = new FailModeState({ mode: 'standalone', haveControllers: true, probeIntervalMs: 5000, now: () => now });
  t.equal(f.installsNormalFlow, false);
  now = 4999;
  f.update();
  t.equal(f.missPolicy, 'drop', 'not yet');
  now = 5000;
  f.update();
  t.equal(f.missPolicy, 'normal');
  f.setConnections(1, true);
  t.equal(f.missPolicy, 'controller');
  now = 20_000;
  f.setConnections(0, false);
  t.equal(f.missPolicy, 'drop', 'the interval restarts when the last one goes');
  now = 25_000;
  f.update();
  t.equal(f.missPolicy, 'normal');
  f.setMode('secure');
  t.equal(f.missPolicy, 'drop', 'secure never fails open');
  t.equal(f.mode, 'secure');
  f.close();
});

t.test('the timer moves to fail open by itself; settings change it at run time', async (t) => {
  const changes: MissPolicy[] = [];
  const f = new FailModeState({ mode: 'standalone', haveControllers: true, probeIntervalMs: 30, onPolicyChange: (p) => changes.push(p) });
  t.equal(f.missPolicy, 'drop');
  await sleep(80);
  t.same(changes, ['normal'], 'fail open after the probe interval, without anyone asking');
  f.setHaveControllers(false);
  t.equal(f.missPolicy, 'drop', 'no controllers configured: no fail open (the NORMAL flow does the job)');
  t.equal(f.installsNormalFlow, true);
  f.setHaveControllers(true);
  t.equal(f.missPolicy, 'drop', 'controllers again: the interval starts afresh');
  f.setProbeInterval(60_000);
  await sleep(60);
  t.equal(f.missPolicy, 'drop', 'a longer interval postpones it');
  f.setProbeInterval(1);
  await sleep(20);
  t.equal(f.missPolicy, 'normal');
  f.close();
});
