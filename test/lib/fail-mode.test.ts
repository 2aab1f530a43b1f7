import t from 'tap';
import { FailModeState } from '../../lib/fail-mode.js';

t.test('secure: controller when connected, else drop, never NORMAL', async (t) => {
  let now = 0;
  const f = new FailModeState({ mode: 'secure', haveControllers: true, probeIntervalMs: 5000, now: () => now });
  t.equal(f.installsNormalFlow, false);
  now = 60_000;
  t.equal(f.onMiss(false), 'drop');
  t.equal(f.onMiss(true), 'controller');
});

t.test('standalone without controllers: the visible NORMAL entry', async (t) => {
  const f = new FailModeState({ mode: 'standalone', haveControllers: false, probeIntervalMs: 5000 });
  t.equal(f.installsNormalFlow, true);
  t.equal(f.failOpen, false);
});

t.test('standalone with controllers: NORMAL after a probe interval without one, back when one connects', async (t) => {
  let now = 0;
  const f = new FailModeState({ mode: 'standalone', haveControllers: true, probeIntervalMs: 5000, now: () => now });
  t.equal(f.installsNormalFlow, false);
  now = 4999;
  t.equal(f.onMiss(false), 'drop', 'not yet');
  now = 5000;
  t.equal(f.onMiss(false), 'normal');
  f.setConnectedControllers(1);
  t.equal(f.onMiss(true), 'controller');
  now = 20_000;
  f.setConnectedControllers(0);
  t.equal(f.onMiss(false), 'drop', 'the interval restarts when the last one goes');
  now = 25_000;
  t.equal(f.onMiss(false), 'normal');
});
