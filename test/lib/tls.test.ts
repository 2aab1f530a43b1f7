/**
 * TLS in flag mode, with certificates made by Debian's ovs-pki and real peers on both sides:
 * ovs-ofctl over ssl: to a pssl: listener; ovs-testcontroller and os-ken listening for TLS, which the
 * switch connects to with ssl: (and bootstraps its CA certificate from). Every refusal (a foreign
 * CA, an expired certificate, a plain TCP client on the TLS port, a TLS client on the plain port,
 * a controller with a foreign certificate) is one log line naming the peer and the reason, and
 * the switch goes on answering.
 */
import t, { type Test } from 'tap';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { assertRan, spawnIn } from '../helpers/netns.js';
import { freePort, waitListening } from '../helpers/free-port.js';
import { ofctl } from '../helpers/ofctl.js';
import { startOfswitch, type OfswitchProcess } from '../helpers/ofswitch-process.js';
import { makePki, type KeyPair, type Pki } from '../helpers/ovs-pki.js';
import { ovsRunDir } from '../helpers/ovs-rundir.js';
import { eventually } from '../helpers/wait.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** ovs-ofctl's options to speak TLS as `pair`, trusting the switches of `pki`. */
const asController = (pair: KeyPair, pki: Pki): string[] => [`--private-key=${pair.key}`, `--certificate=${pair.cert}`, `--ca-cert=${pki.switchCa}`];


/** The log lines the switch wrote after `from` characters. */
function linesAfter(sw: OfswitchProcess, from: number): string[] {
  return sw
    .stderr()
    .slice(from)
    .split('\n')
    .filter((l) => l.trim() !== '');
}

/** Waits until the switch has written nothing for 300 ms (the lines of earlier connections are out). */
async function settled(sw: OfswitchProcess): Promise<void> {
  for (;;) {
    const before = sw.stderr().length;
    await new Promise((r) => setTimeout(r, 300));
    if (sw.stderr().length === before) return;
  }
}

/**
 * Runs `client`, then waits for the switch's warning about it: exactly one warning line,
 * matching `reason`, naming the peer; `onlyLine`: no other line either (nothing of OpenFlow began).
 */
async function refusedOnce(t: Test, sw: OfswitchProcess, what: string, client: () => Promise<{ code: number }>, reason: RegExp, onlyLine: boolean): Promise<void> {
  await settled(sw);
  const from = sw.stderr().length;
  const r = await client();
  t.not(r.code, 0, `${what}: the client fails`);
  const warned = await eventually(() => linesAfter(sw, from).some((l) => l.includes('"level":"warn"')), 5000);
  t.ok(warned, `${what}: the switch logged it`);
  await new Promise((r) => setTimeout(r, 300));
  const lines = linesAfter(sw, from);
  const warnings = lines.filter((l) => l.includes('"level":"warn"'));
  t.equal(warnings.length, 1, `${what}: one warning line`);
  t.match(warnings[0] ?? '', reason, `${what}: the reason`);
  t.match(warnings[0] ?? '', /"peer":"127\.0\.0\.1:\d+"/, `${what}: the peer named`);
  if (onlyLine) t.equal(lines.length, 1, `${what}: no other line (no OpenFlow connection was made)`);
}

/** `ovs-testcontroller` listening on pssl:PORT:127.0.0.1 with `pair`, trusting `ca`; killed at teardown. */
async function startTlsTestcontroller(t: Test, port: number, pair: KeyPair, ca: string, extra: readonly string[] = []): Promise<() => string> {
  const rundir = ovsRunDir(t, 'tls-testcontroller');
  const child = spawnIn(
    'ovs-testcontroller',
    [rundir.unixctl('ovs-testcontroller'), '-p', pair.key, '-c', pair.cert, '-C', ca, ...extra, `pssl:${port}:127.0.0.1`],
    undefined,
    { env: rundir.env },
  );
  return collectUntilTeardown(t, child);
}

function collectUntilTeardown(t: Test, child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });
  return () => text;
}

t.test('ovs-ofctl over ssl: to a pssl: listener; every refusal one line, the switch unharmed', async (t) => {
  const pki = await makePki(t);
  const sw = await pki.sign('sw', 'switch');
  const ctl = await pki.sign('ctl', 'controller');
  const expired = await pki.signExpired('old', 'controller');
  const foreign = await makePki(t, 'foreign-pki');
  const stranger = await foreign.sign('stranger', 'controller');
  const pssl = await freePort();
  const ptcp = await freePort();
  const proc = await startOfswitch(t, [
    '--listen', `pssl:${pssl}`,
    '--listen', `ptcp:${ptcp}`,
    '--private-key', sw.key, '--certificate', sw.cert, '--ca-cert', pki.controllerCa,
    '--fail-mode', 'secure',
  ]);
  t.match(proc.stderr(), `"listen":"pssl:${pssl}:127.0.0.1"`, 'the TLS listener is named pssl:PORT:IP');
  const tlsTarget = `ssl:127.0.0.1:${pssl}`;
  const works = async (what: string): Promise<void> => {
    const show = await ofctl(undefined, tlsTarget, 'show', ...asController(ctl, pki));
    if (assertRan(t, show, `ovs-ofctl show ${tlsTarget} ${what}`)) t.match(show.stdout, /OFPT_FEATURES_REPLY/, `features over TLS ${what}`);
  };
  await works('with a certificate the CA signed');
  const add = await ofctl(undefined, tlsTarget, 'add-flow', ...asController(ctl, pki), 'priority=7,actions=drop');
  assertRan(t, add, 'add-flow over TLS', { output: false });
  const dump = await ofctl(undefined, tlsTarget, 'dump-flows', ...asController(ctl, pki));
  if (assertRan(t, dump, 'dump-flows over TLS')) t.match(dump.stdout, /priority=7 actions=drop/, 'the flow added over TLS');

  await refusedOnce(t, proc, 'a certificate from a foreign CA', () => ofctl(undefined, tlsTarget, 'show', ...asController(stranger, pki)), /TLS connection refused.*not signed by the trusted CA|not signed by the trusted CA.*TLS connection refused/, true);
  await works('after the foreign certificate');
  await refusedOnce(t, proc, 'an expired certificate', () => ofctl(undefined, tlsTarget, 'show', ...asController(expired, pki)), /certificate has expired/, true);
  await works('after the expired certificate');
  await refusedOnce(t, proc, 'a plain TCP client on the TLS port', () => ofctl(undefined, `tcp:127.0.0.1:${pssl}`, 'show'), /not TLS/, true);
  await works('after the plain TCP client');
  await refusedOnce(t, proc, 'a TLS client on the plain TCP port', () => ofctl(undefined, `ssl:127.0.0.1:${ptcp}`, 'show', ...asController(ctl, pki)), /received SSL\/TLS data on a plain OpenFlow channel/, false);
  await works('after the TLS client on the plain port');
  const plain = await ofctl(undefined, `tcp:127.0.0.1:${ptcp}`, 'show');
  assertRan(t, plain, 'the plain TCP listener still answers');
});

t.test('a pssl: listener needs a client certificate (openssl s_client without one is refused)', async (t) => {
  const pki = await makePki(t);
  const sw = await pki.sign('sw', 'switch');
  const pssl = await freePort();
  const proc = await startOfswitch(t, ['--listen', `pssl:${pssl}`, '--private-key', sw.key, '--certificate', sw.cert, '--ca-cert', pki.controllerCa]);
  const from = proc.stderr().length;
  const { tryRun } = await import('../helpers/netns.js');
  const r = await tryRun('sh', ['-c', `openssl s_client -connect 127.0.0.1:${pssl} -CAfile "${pki.switchCa}" </dev/null 2>&1`]);
  t.match(r.stdout, /Verify return code: 0/, 'the client verified the switch against switchca');
  t.ok(await eventually(() => linesAfter(proc, from).length > 0, 5000), 'the switch logged the client');
  const lines = linesAfter(proc, from);
  t.equal(lines.length, 1, 'one line');
  t.match(lines[0] ?? '', /"reason":"no certificate presented"/, 'refused: no certificate');
});

t.test('the switch connects to ovs-testcontroller over ssl:, refuses a controller of a foreign CA, and bootstraps its CA certificate', async (t) => {
  const pki = await makePki(t);
  const sw = await pki.sign('sw', 'switch');
  const ctl = await pki.sign('ctl', 'controller');
  const foreign = await makePki(t, 'foreign-pki');
  const stranger = await foreign.sign('stranger', 'controller');
  const good = await freePort();
  const bad = await freePort();
  const goodOut = await startTlsTestcontroller(t, good, ctl, pki.switchCa, ['-v']);
  await startTlsTestcontroller(t, bad, stranger, pki.switchCa);
  t.ok((await waitListening(good)) && (await waitListening(bad)), 'both controllers listen');
  const proc = await startOfswitch(t, [
    '--controller', `ssl:127.0.0.1:${good}`,
    '--controller', `ssl:127.0.0.1:${bad}`,
    '--private-key', sw.key, '--certificate', sw.cert, '--ca-cert', pki.controllerCa,
    '--fail-mode', 'secure', '--log-level', 'debug', '--listen', `ptcp:${await freePort()}`,
  ]);
  await proc.waitForLog('"handshake done"', 15_000);
  const log = (): string[] => proc.stderr().split('\n');
  t.ok(log().some((l) => l.includes(`"controller":"ssl:127.0.0.1:${good}"`) && l.includes('connected to controller')), 'connected to the controller over TLS');
  t.ok(await eventually(() => log().some((l) => l.includes('"kind":"controller"') && l.includes('"type":"FEATURES_REQUEST"')), 5000), 'ovs-testcontroller spoke OpenFlow over it (FEATURES_REQUEST)');
  t.ok(await eventually(() => /OFPT_FEATURES_REPLY|features_reply/i.test(goodOut()), 5000), 'ovs-testcontroller received the features reply');
  t.ok(await eventually(() => log().some((l) => l.includes(`"controller":"ssl:127.0.0.1:${bad}"`) && l.includes('controller refused')), 5000), 'the foreign controller refused');
  const refusals = log().filter((l) => l.includes(`"controller":"ssl:127.0.0.1:${bad}"`) && l.includes('"level":"warn"'));
  t.match(refusals[0] ?? '', /not signed by the trusted CA/, 'with the reason');
  const attempts = log().filter((l) => l.includes(`"controller":"ssl:127.0.0.1:${bad}"`));
  t.equal(attempts.length, refusals.length, 'one line per attempt, nothing else for it');
  t.notOk(log().some((l) => l.includes(`127.0.0.1:${bad}`) && l.includes('handshake done')), 'no OpenFlow with it');

  t.test('--bootstrap-ca-cert: the first controller CA certificate is saved, then verified against', async (t) => {
    const port = await freePort();
    await startTlsTestcontroller(t, port, ctl, pki.switchCa, ['--peer-ca-cert', pki.controllerCa]);
    t.ok(await waitListening(port), 'controller listening');
    const file = join(pki.dir, 'bootstrapped-cacert.pem');
    t.notOk(existsSync(file), 'no CA file yet');
    const boot = await startOfswitch(t, [
      '--controller', `ssl:127.0.0.1:${port}`,
      '--private-key', sw.key, '--certificate', sw.cert, '--bootstrap-ca-cert', file,
      '--fail-mode', 'secure', '--listen', `ptcp:${await freePort()}`,
    ]);
    await boot.waitForLog('successfully bootstrapped CA cert', 10_000);
    t.ok(existsSync(file), 'the CA certificate was saved');
    const saved = new X509Certificate(readFileSync(file));
    const expected = new X509Certificate(readFileSync(pki.controllerCa));
    t.equal(saved.fingerprint256, expected.fingerprint256, 'it is the controller CA');
    t.equal(statSync(file).mode & 0o777, 0o444, 'saved read-only, as OVS saves it');
    await boot.waitForLog('"handshake done"', 15_000);
    t.pass('then the verified connection completed its OpenFlow handshake');
  });
});

t.test('os-ken over TLS: the switch connects with ssl: and os-ken sees its features', async (t) => {
  const pki = await makePki(t);
  const sw = await pki.sign('sw', 'switch');
  const ctl = await pki.sign('ctl', 'controller');
  const port = await freePort();
  const controller = spawnIn('/usr/bin/osken-manager', [
    '--ofp-listen-host', '127.0.0.1', '--ofp-ssl-listen-port', String(port),
    '--ctl-privkey', ctl.key, '--ctl-cert', ctl.cert, '--ca-certs', pki.switchCa,
    join(HERE, '..', 'e2e', 'osken_l2_switch.py'),
  ]);
  const output = collectUntilTeardown(t, controller);
  t.ok(await waitListening(port, 20_000), 'osken-manager listening for TLS');
  const proc = await startOfswitch(t, [
    '--controller', `ssl:127.0.0.1:${port}`,
    '--private-key', sw.key, '--certificate', sw.cert, '--ca-cert', pki.controllerCa,
    '--fail-mode', 'secure', '--listen', `ptcp:${await freePort()}`,
  ]);
  await proc.waitForLog('"handshake done"', 20_000);
  t.ok(await eventually(() => /FEATURES dpid=[0-9a-f]{16}/.test(output()), 10_000), 'os-ken saw the switch features over TLS');
});

t.test('TLS files that cannot be used stop the command with exit status 2 and one message', async (t) => {
  const pki = await makePki(t);
  const sw = await pki.sign('sw', 'switch');
  const proc = await startOfswitch(
    t,
    ['--listen', `pssl:${await freePort()}`, '--private-key', join(pki.dir, 'missing.pem'), '--certificate', sw.cert, '--ca-cert', pki.controllerCa],
    { ready: false },
  );
  t.equal(await proc.exited, 2, 'exit status 2');
  t.match(proc.stderr(), /ofswitch: .*private key .*missing\.pem: no such file/, 'naming the file');
  const mismatch = await startOfswitch(
    t,
    ['--controller', 'ssl:127.0.0.1:1', '--private-key', sw.key, '--certificate', pki.controllerCa, '--ca-cert', pki.controllerCa],
    { ready: false },
  );
  t.equal(await mismatch.exited, 2, 'a key that is not the certificate\'s: exit status 2');
});
