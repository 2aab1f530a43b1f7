/**
 * Certificates for TLS tests, made by Debian's ovs-pki in a temporary directory (never
 * /var/lib/openvswitch/pki): `ovs-pki --dir=DIR init` makes a controller CA and a switch CA;
 * `req+sign NAME switch|controller` a key and a certificate signed by one of them. A switch trusts
 * controllers with controllerca/cacert.pem, a controller switches with switchca/cacert.pem.
 * An expired certificate is signed by the same CA with `openssl ca -startdate/-enddate` in the past.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type Teardownable } from './netns.js';

export interface KeyPair {
  readonly key: string;
  readonly cert: string;
}

export interface Pki {
  readonly dir: string;
  /** controllerca/cacert.pem: what a switch verifies controllers with. */
  readonly controllerCa: string;
  /** switchca/cacert.pem: what a controller verifies switches with. */
  readonly switchCa: string;
  /** A key and certificate `ovs-pki req+sign NAME TYPE` made. */
  sign(name: string, type: 'switch' | 'controller'): Promise<KeyPair>;
  /** A key and certificate the TYPE CA signed, valid only in January 2020. */
  signExpired(name: string, type: 'switch' | 'controller'): Promise<KeyPair>;
}

/** A fresh ovs-pki directory (both CAs made), removed at teardown. */
export async function makePki(t: Teardownable, tag = 'pki'): Promise<Pki> {
  const dir = mkdtempSync(join(tmpdir(), `ofswitch-${tag}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pkiDir = join(dir, 'pki');
  await run('ovs-pki', [`--dir=${pkiDir}`, 'init']);
  return {
    dir,
    controllerCa: join(pkiDir, 'controllerca', 'cacert.pem'),
    switchCa: join(pkiDir, 'switchca', 'cacert.pem'),
    sign: async (name, type) => {
      // ovs-pki writes NAME-privkey.pem, NAME-req.pem and NAME-cert.pem in its working directory.
      await run('sh', ['-c', `cd "$1" && ovs-pki --dir="$2" req+sign "$3" "$4"`, 'sh', dir, pkiDir, name, type]);
      return { key: join(dir, `${name}-privkey.pem`), cert: join(dir, `${name}-cert.pem`) };
    },
    signExpired: async (name, type) => {
      const key = join(dir, `${name}-privkey.pem`);
      const req = join(dir, `${name}-req.pem`);
      const cert = join(dir, `${name}-cert.pem`);
      await run('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', req, '-subj', `/C=US/O=Open vSwitch/CN=${name}`]);
      await run('sh', [
        '-c',
        'cd "$1" && openssl ca -config ca.cnf -batch -startdate 20200101000000Z -enddate 20200201000000Z -in "$2" -out "$3"',
        'sh', join(pkiDir, `${type}ca`), req, cert,
      ]);
      return { key, cert };
    },
  };
}
