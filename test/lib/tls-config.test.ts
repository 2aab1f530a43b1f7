/**
 * The TLS pieces in process: target and option parsing, TlsConfig's reading and re-reading of its
 * files, and a switch's ssl:/pssl: endpoints against Node's own TLS peers (a controller with a
 * certificate of the right CA, of a foreign one, a plain TCP one, none configured), with ovs-pki
 * certificates.
 */
import t, { type Test } from 'tap';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { connect as connectTls, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { createLogger } from '../../lib/log.js';
import { parseCommandLine, parseConfigFile, parseController, parseListen, UsageError } from '../../lib/options.js';
import { handshakeFailure, looksLikeTls, TlsConfig, TlsError } from '../../lib/tls-config.js';
import { createSwitch } from '../../lib/switch.js';
import { ControllerLink } from '../../lib/controller-link.js';
import { listen, ListenError } from '../../lib/listener.js';
import { makePki, type KeyPair, type Pki } from '../helpers/ovs-pki.js';
import { eventually } from '../helpers/wait.js';

function capture(): { log: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger({ level: 'debug', write: (l) => lines.push(l) }), lines };
}


t.test('targets and options', async (t) => {
  t.same(parseController('ssl:127.0.0.1'), { host: '127.0.0.1', port: 6653, tls: true }, 'ssl: defaults to port 6653');
  t.same(parseController('tcp:10.0.0.1:6633'), { host: '10.0.0.1', port: 6633 }, 'tcp: unchanged');
  t.throws(() => parseController('tls:1.2.3.4'), UsageError, 'tls: is not a target');
  t.same(parseListen('pssl:6653'), { host: '127.0.0.1', port: 6653, tls: true }, 'pssl:PORT on loopback by default, as ptcp:');
  t.same(parseListen('pssl:0:0.0.0.0'), { host: '0.0.0.0', port: 0, tls: true }, 'pssl:PORT:IP');
  t.throws(() => parseListen('pssl:x'), /pssl:PORT\[:IP\]/, 'a bad pssl: names the forms');

  const run = (argv: string[]) => parseCommandLine(argv, () => '{}');
  t.throws(() => run(['--controller', 'ssl:127.0.0.1']), /ssl:127\.0\.0\.1:6653 needs a private key.*--private-key, --certificate, --ca-cert/, 'ssl: without files');
  t.throws(() => run(['--listen', 'pssl:7000', '--private-key', 'k', '--certificate', 'c']), /pssl:7000:127\.0\.0\.1 needs.*--ca-cert \(or --bootstrap-ca-cert\) missing/, 'pssl: without a CA');
  t.throws(() => run(['--private-key', 'k']), /^TLS needs/, 'part of the files without any TLS target');
  t.throws(() => run(['--private-key', 'k', '--certificate', 'c', '--ca-cert', 'a', '--bootstrap-ca-cert', 'b']), /exclude each other/, '--ca-cert with --bootstrap-ca-cert');
  t.throws(() => run(['--private-key', '']), /--private-key: the file name is empty/, 'an empty file name');
  t.throws(() => run(['--ovsdb', 'unix:/tmp/db.sock', '--private-key', 'k']), /--ovsdb and --private-key.*set-ssl/, 'database mode takes TLS from the SSL row');
  const ok = run(['--controller', 'ssl:127.0.0.1:7000', '--private-key', 'k', '--certificate', 'c', '--bootstrap-ca-cert', 'b']);
  t.same(ok.kind === 'run' ? ok.options.tls : null, { privateKey: 'k', certificate: 'c', caCert: 'b', bootstrapCaCert: true }, '--bootstrap-ca-cert is the CA file, bootstrapped');
  const plain = run([]);
  t.equal(plain.kind === 'run' ? plain.options.tls : 'x', undefined, 'no TLS without its options');
  const file = parseConfigFile('c.json', () => JSON.stringify({ privateKey: 'k', certificate: 'c', caCert: 'a', bootstrapCaCert: 'b' }));
  t.same([file.privateKey, file.certificate, file.caCert, file.bootstrapCaCert], ['k', 'c', 'a', 'b'], 'the config file has the same keys');
  const fromFile = parseCommandLine(['--config', 'c.json'], () => JSON.stringify({ controllers: ['ssl:127.0.0.1'], privateKey: 'k', certificate: 'c', caCert: 'a' }));
  t.same(fromFile.kind === 'run' ? fromFile.options.tls : null, { privateKey: 'k', certificate: 'c', caCert: 'a' }, 'TLS from --config');
});

t.test('TlsConfig reads its files, again when they change, and keeps the last good ones', async (t) => {
  const pki = await makePki(t);
  const sw = await pki.sign('sw', 'switch');
  const sw2 = await pki.sign('sw2', 'switch');
  const { log, lines } = capture();
  const config = new TlsConfig(null, log);
  t.throws(() => config.material(), TlsError, 'none configured');
  const key = join(pki.dir, 'live-privkey.pem');
  const cert = join(pki.dir, 'live-cert.pem');
  config.setFiles({ privateKey: key, certificate: cert, caCert: pki.controllerCa });
  t.throws(() => config.material(), /private key .*live-privkey\.pem: no such file/, 'a missing file is named');
  t.equal(lines.filter((l) => l.includes('cannot load TLS files')).length, 1, 'logged once');
  t.throws(() => config.material(), TlsError, 'still missing');
  t.equal(lines.filter((l) => l.includes('cannot load TLS files')).length, 1, 'not logged again for the same reason');
  copyFileSync(sw.key, key);
  copyFileSync(sw.cert, cert);
  const first = config.material();
  t.equal(first.bootstrapping, false, 'a CA file: not bootstrapping');
  t.equal(config.material(), first, 'unchanged files: the same material');
  copyFileSync(sw2.key, key);
  copyFileSync(sw2.cert, cert);
  const second = config.material();
  t.not(second.generation, first.generation, 'rewritten files are read again');
  writeFileSync(key, 'not a key');
  const kept = config.material();
  t.equal(kept, second, 'an unusable key keeps the last good material');
  t.ok(lines.some((l) => l.includes('"using":"the files loaded before"')), 'and says so');
  const bootFile = join(pki.dir, 'boot.pem');
  config.setFiles({ privateKey: sw.key, certificate: sw.cert, caCert: bootFile, bootstrapCaCert: true });
  t.equal(config.material().bootstrapping, true, 'a missing bootstrap CA file: bootstrapping');
  const mismatched = new TlsConfig({ privateKey: sw.key, certificate: sw2.cert, caCert: pki.controllerCa });
  t.throws(() => mismatched.material(), /key values mismatch|KEY_VALUES_MISMATCH|mismatch/i, 'a key that is not the certificate\'s');
});

t.test('handshake failures in words; a TLS record told from OpenFlow', async (t) => {
  t.match(handshakeFailure(Object.assign(new Error('x'), { code: 'ERR_TLS_HANDSHAKE_TIMEOUT' })), /no TLS handshake within/);
  t.match(handshakeFailure(Object.assign(new Error('x'), { code: 'ECONNRESET' })), /closed the connection during the TLS handshake/);
  t.equal(handshakeFailure(Object.assign(new Error('boom'), { code: 'OTHER' })), 'boom');
  t.ok(looksLikeTls(Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0x00)), 'a TLS handshake record');
  t.notOk(looksLikeTls(Uint8Array.of(0x01, 0x00, 0x00, 0x08)), 'an OpenFlow HELLO');
});

/** A TLS server as a controller would run it: its certificate, requiring the switch's. */
async function controllerServer(t: Test, pair: KeyPair, pki: Pki, onSecure: (s: TLSSocket) => void = () => {}): Promise<number> {
  const server = createTlsServer(
    { key: readFileSync(pair.key), cert: readFileSync(pair.cert), ca: readFileSync(pki.switchCa), requestCert: true, rejectUnauthorized: true },
    onSecure,
  );
  server.on('tlsClientError', () => {});
  const sockets = new Set<Socket>();
  server.on('connection', (sock: Socket) => {
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    for (const sock of sockets) sock.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as AddressInfo).port;
}

t.test('a switch in process: pssl: and ssl: against Node TLS peers', async (t) => {
  const pki = await makePki(t);
  const sw = await pki.sign('sw', 'switch');
  const ctl = await pki.sign('ctl', 'controller');
  const foreign = await makePki(t, 'foreign-pki');
  const stranger = await foreign.sign('stranger', 'controller');
  const { log, lines } = capture();
  const tls = new TlsConfig({ privateKey: sw.key, certificate: sw.cert, caCert: pki.controllerCa }, log);
  const s = createSwitch({ logger: log, tls, failMode: 'secure' });
  t.teardown(() => s.close());

  const view = await s.addListener('pssl:0');
  t.match(view.target, /^pssl:\d+:127\.0\.0\.1$/, 'listener named pssl:PORT:IP');
  const client = connectTls({
    host: '127.0.0.1', port: view.port, key: readFileSync(ctl.key), cert: readFileSync(ctl.cert), ca: readFileSync(pki.switchCa),
    checkServerIdentity: () => undefined,
  });
  await once(client, 'secureConnect');
  t.ok(client.authorized, 'the client verified the switch');
  const [hello] = (await once(client, 'data')) as [Buffer];
  t.equal(hello[0], 1, 'the switch speaks OpenFlow 1.0 over it');
  t.equal(hello[1], 0, 'its HELLO');
  client.destroy();
  t.ok(await s.removeListener(`pssl:${view.port}`), 'removed by its name');
  t.notOk(await s.removeListener(`ptcp:${view.port}`), 'a ptcp: of the same port is another listener');

  const good = await controllerServer(t, ctl, pki, (sock) => sock.write(Buffer.from([1, 0, 0, 8, 0, 0, 0, 1])));
  const bad = await controllerServer(t, stranger, pki);
  const plainSockets = new Set<Socket>();
  const plain = createTcpServer((sock: Socket) => {
    plainSockets.add(sock);
    sock.write(Buffer.from([1, 0, 0, 8, 0, 0, 0, 1]));
  });
  plain.listen(0, '127.0.0.1');
  await once(plain, 'listening');
  t.teardown(() => {
    for (const sock of plainSockets) sock.destroy();
    return new Promise<void>((r) => plain.close(() => r()));
  });
  const plainPort = (plain.address() as AddressInfo).port;
  s.setControllers([`ssl:127.0.0.1:${good}`, `ssl:127.0.0.1:${bad}`, `ssl:127.0.0.1:${plainPort}`]);
  t.ok(await eventually(() => s.controllers().some((c) => c.target === `ssl:127.0.0.1:${good}` && c.connected)), 'connected to the good controller over TLS');
  t.ok(await eventually(() => lines.some((l) => l.includes(`ssl:127.0.0.1:${bad}`) && l.includes('controller refused'))), 'the foreign one refused');
  t.ok(await eventually(() => lines.some((l) => l.includes(`ssl:127.0.0.1:${plainPort}`) && l.includes('TLS handshake with controller failed'))), 'a plain TCP controller on ssl: fails the handshake');
  t.match(lines.find((l) => l.includes(`ssl:127.0.0.1:${plainPort}`) && l.includes('"level":"warn"')) ?? '', /not TLS/, 'named as not TLS');
  s.setControllers([]);

  const bare = createSwitch({ logger: log });
  t.teardown(() => bare.close());
  t.throws(() => bare.setControllers(['ssl:127.0.0.1:1']), /needs the switch's TLS configuration/, 'ssl: on a switch without TLS');
  await t.rejects(bare.addListener('pssl:0'), ListenError, 'pssl: on a switch without TLS');
  await t.rejects(listen({ host: '127.0.0.1', port: 0, tls: true }, () => {}, { tls: new TlsConfig(null) }), /pssl:0:127\.0\.0\.1: TLS is not configured/, 'pssl: with an empty TlsConfig');
});

t.test('a link to an ssl: target without TLS files backs off with one line per attempt', async (t) => {
  const { log, lines } = capture();
  const link = new ControllerLink({ endpoint: { host: '127.0.0.1', port: 1, tls: true }, log, tls: new TlsConfig(null), attach: () => {}, initialBackoffMs: 20, maxBackoffMs: 40 });
  link.start();
  t.ok(await eventually(() => lines.filter((l) => l.includes('cannot connect over TLS')).length >= 2), 'tried again');
  link.stop();
  t.match(lines[0] ?? '', /"controller":"ssl:127\.0\.0\.1:1".*TLS is not configured/, 'naming the target and the reason');
  const noConfig = new ControllerLink({ endpoint: { host: '127.0.0.1', port: 1, tls: true }, log, attach: () => {}, initialBackoffMs: 20 });
  noConfig.start();
  t.ok(await eventually(() => lines.filter((l) => l.includes('cannot connect over TLS')).length >= 3), 'without any TlsConfig too');
  noConfig.stop();
});

t.test('bootstrap refuses a peer that sends no CA certificate', async (t) => {
  const pki = await makePki(t);
  const sw = await pki.sign('sw', 'switch');
  const ctl = await pki.sign('ctl', 'controller');
  const file = join(pki.dir, 'boot-ca.pem');
  const { log, lines } = capture();
  const tls = new TlsConfig({ privateKey: sw.key, certificate: sw.cert, caCert: file, bootstrapCaCert: true }, log);
  const port = await controllerServer(t, ctl, pki);
  const link = new ControllerLink({ endpoint: { host: '127.0.0.1', port, tls: true }, log, tls, attach: () => {}, initialBackoffMs: 50 });
  link.start();
  t.ok(await eventually(() => lines.some((l) => l.includes('could not bootstrap CA cert'))), 'refused');
  link.stop();
  t.match(lines.find((l) => l.includes('could not bootstrap')) ?? '', /not self-signed \(only one certificate was received/, 'it sent only its own certificate');
  t.notOk(existsSync(file), 'nothing saved');
});

t.test('a pssl: listener in process: new files for the next connection, refusals in one line each', async (t) => {
  const pki = await makePki(t);
  const sw = await pki.sign('sw', 'switch');
  const sw2 = await pki.sign('sw2', 'switch');
  const ctl = await pki.sign('ctl', 'controller');
  const key = join(pki.dir, 'listen-privkey.pem');
  const cert = join(pki.dir, 'listen-cert.pem');
  const { log, lines } = capture();
  const config = new TlsConfig({ privateKey: key, certificate: cert, caCert: pki.controllerCa }, log);
  await t.rejects(listen({ host: '127.0.0.1', port: 0, tls: true }, () => {}, { tls: config, log }), /pssl:0:127\.0\.0\.1: private key .*no such file/, 'unusable files: the listener does not start');
  copyFileSync(sw.key, key);
  copyFileSync(sw.cert, cert);
  const accepted: Socket[] = [];
  const listener = await listen({ host: '127.0.0.1', port: 0, tls: true }, (s) => accepted.push(s), { tls: config, log });
  t.teardown(() => {
    for (const s of accepted) s.destroy();
    return listener.close();
  });
  t.equal(listener.name, `pssl:${listener.port}:127.0.0.1`, 'named pssl:PORT:IP');
  const dial = async (withCert: boolean): Promise<{ subject: string; closed: Promise<unknown> }> => {
    const c = connectTls({
      host: '127.0.0.1', port: listener.port, ca: readFileSync(pki.switchCa), checkServerIdentity: () => undefined,
      ...(withCert ? { key: readFileSync(ctl.key), cert: readFileSync(ctl.cert) } : {}),
    });
    c.on('error', () => {});
    const closed = once(c, 'close');
    await once(c, 'secureConnect');
    const subject = String(c.getPeerCertificate().subject?.CN ?? '');
    c.end();
    return { subject, closed };
  };
  t.match((await dial(true)).subject, /^sw id:/, 'the first certificate');
  t.ok(await eventually(() => accepted.length === 1), 'a verified client is handed over');
  copyFileSync(sw2.key, key);
  copyFileSync(sw2.cert, cert);
  t.match((await dial(true)).subject, /^sw2 id:/, 'rewritten files: the next connection gets the new certificate');
  config.setFiles(null);
  t.match((await dial(true)).subject, /^sw2 id:/, 'files no longer configured: the last context stays');
  config.setFiles({ privateKey: key, certificate: cert, caCert: pki.controllerCa });
  const before = lines.length;
  const anonymous = await dial(false);
  await anonymous.closed;
  t.ok(await eventually(() => lines.slice(before).some((l) => l.includes('TLS connection refused'))), 'a client without a certificate is refused');
  t.equal(lines.slice(before).length, 1, 'in one line');
  t.match(lines[before] ?? '', /"reason":"no certificate presented"/, 'saying why');
  const plainAt = lines.length;
  const plain = new (await import('node:net')).Socket();
  plain.on('error', () => {});
  plain.connect(listener.port, '127.0.0.1', () => plain.write(Buffer.from([1, 0, 0, 8, 0, 0, 0, 1])));
  t.ok(await eventually(() => lines.slice(plainAt).some((l) => l.includes('not TLS'))), 'a plain TCP client: refused as not TLS');
  plain.destroy();
  t.equal(accepted.length, 3, 'only the verified clients were handed over');
});

t.test('bootstrap: the CA certificate a controller sends is saved, and the next connection verified with it', async (t) => {
  const pki = await makePki(t);
  const sw = await pki.sign('sw', 'switch');
  const ctl = await pki.sign('ctl', 'controller');
  const chain: KeyPair = { key: ctl.key, cert: join(pki.dir, 'ctl-chain.pem') };
  writeFileSync(chain.cert, Buffer.concat([readFileSync(ctl.cert), readFileSync(pki.controllerCa)]));
  const port = await controllerServer(t, chain, pki);
  const file = join(pki.dir, 'boot-ca.pem');
  const { log, lines } = capture();
  const tls = new TlsConfig({ privateKey: sw.key, certificate: sw.cert, caCert: file, bootstrapCaCert: true }, log);
  let attached = 0;
  const link = new ControllerLink({
    endpoint: { host: '127.0.0.1', port, tls: true }, log, tls, initialBackoffMs: 50,
    attach: (socket) => {
      attached++;
      socket.destroy();
    },
  });
  link.start();
  t.teardown(() => link.stop());
  t.ok(await eventually(() => attached > 0), 'connected after bootstrapping');
  t.ok(lines.some((l) => l.includes('successfully bootstrapped CA cert')), 'bootstrapped');
  t.ok(lines.some((l) => l.includes('CA certificate bootstrapped: this first connection was not verified')), 'the first connection closed');
  t.equal(readFileSync(file, 'utf8').trim(), readFileSync(pki.controllerCa, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/)?.[0], 'the controller CA saved');
  t.equal(tls.material().bootstrapping, false, 'verified from now on');
});

t.test('a TLS client on a plain ptcp: listener: one warning, the connection closed', async (t) => {
  const { log, lines } = capture();
  const s = createSwitch({ logger: log });
  t.teardown(() => s.close());
  const view = await s.addListener('ptcp:0');
  const client = connectTls({ host: '127.0.0.1', port: view.port, rejectUnauthorized: false });
  client.on('error', () => {}); // the switch's close ends the client's handshake
  await new Promise<void>((resolve) => client.once('close', () => resolve()));
  await eventually(() => lines.some((l) => l.includes('"level":"warn"')));
  const warnings = lines.filter((l) => l.includes('"level":"warn"'));
  t.equal(warnings.length, 1, 'one warning');
  t.match(warnings[0] ?? '', /received SSL\/TLS data on a plain OpenFlow channel/, 'naming what happened');
  t.match(warnings[0] ?? '', /"peer":"127\.0\.0\.1:\d+"/, 'and the peer');
  t.ok(lines.some((l) => l.includes('"reason":"TLS handshake on a plain TCP port"')), 'the connection closed with that reason');
});
