/**
 * TLS for OpenFlow connections (`ssl:` controllers, `pssl:` listeners), as Open vSwitch's
 * lib/stream-ssl.c does it, with Node's own `tls` module (no cryptography of ours):
 *
 * - One private key, one certificate and one CA certificate for the whole process (flag mode's
 *   --private-key/--certificate/--ca-cert, or the database's SSL row). A TlsConfig holds the file
 *   names; every new connection asks it for the current material, and the files are read again
 *   when one of them changed (inode, size or modification time) or the names changed (a new SSL
 *   row), as OVS re-reads them each time they are set. A file that cannot be read or parsed keeps
 *   the last good material (logged once); with none, the connection is not made.
 * - Both directions verify the peer's certificate against the CA: the switch as client checks the
 *   controller's, and a `pssl:` listener requests a client certificate and refuses a connection
 *   without a valid one, as OVS does. Host names are not checked: OVS's certificates (ovs-pki) name
 *   no host, and OVS checks only the chain. A refused peer costs one log line naming it and the
 *   reason; no OpenFlow connection is made for it.
 * - `--bootstrap-ca-cert FILE` (SSL:bootstrap_ca_cert): while FILE does not exist, the first peer is
 *   trusted without verification; the self-signed certificate at the end of the chain it sent is
 *   saved to FILE (mode 0444, never overwritten), that connection is closed, and every later one is
 *   verified against it (trust on first use, as OVS's do_ca_cert_bootstrap).
 *
 * Deliberate difference: Node verifies a peer's certificate after the TLS handshake's messages
 * (its verify callback accepts, verification follows), so a refused peer sees its connection
 * closed right after the handshake instead of a TLS alert; nothing of OpenFlow is exchanged.
 */
import { X509Certificate } from 'node:crypto';
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { createSecureContext, type DetailedPeerCertificate, type PeerCertificate, type SecureContext, type SecureContextOptions, type TLSSocket } from 'node:tls';
import { silentLogger, type Logger } from './log.js';

/** How long a TLS handshake may take before the connection is dropped (ms). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export class TlsError extends Error {
  override readonly name = 'TlsError';
}

/** The files TLS is configured with, as ovs-vsctl set-ssl and the command-line options name them. */
export interface TlsFiles {
  readonly privateKey: string;
  readonly certificate: string;
  /** The CA certificate a peer's certificate must be signed by. */
  readonly caCert: string;
  /** caCert is bootstrapped: while the file does not exist, the first peer's CA certificate is saved to it. */
  readonly bootstrapCaCert?: boolean;
}

/** What a new connection is made with. */
export interface TlsMaterial {
  /** Counts up each time the files were read anew. */
  readonly generation: number;
  /** key, cert and ca (no ca while bootstrapping), for a server's setSecureContext. */
  readonly options: SecureContextOptions;
  /** The same, made into a context once, for clients. */
  readonly context: SecureContext;
  /** No CA yet: the peer is trusted once and its CA certificate saved (bootstrap). */
  readonly bootstrapping: boolean;
}

/** A file's identity: changes when it is replaced, rewritten or removed. */
function stamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TlsError(`${what} ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

/** OpenSSL's verification codes as Node reports them, in words. */
const VERIFY_REASONS: Readonly<Record<string, string>> = {
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'certificate not signed by the trusted CA',
  UNABLE_TO_GET_ISSUER_CERT: 'certificate not signed by the trusted CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'certificate not signed by the trusted CA',
  SELF_SIGNED_CERT_IN_CHAIN: 'certificate chain ends in a CA that is not trusted',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate not trusted',
  CERT_SIGNATURE_FAILURE: 'certificate signature does not verify',
  CERT_REVOKED: 'certificate revoked',
};

export class TlsConfig {
  private filesValue: TlsFiles | null;
  private readonly log: Logger;
  private loaded: (TlsMaterial & { readonly key: string }) | null = null;
  private generation = 0;
  private lastError: string | null = null;

  constructor(files: TlsFiles | null, log: Logger = silentLogger) {
    this.filesValue = files;
    this.log = log;
  }

  get files(): TlsFiles | null {
    return this.filesValue;
  }

  /** New file names (a changed SSL row), or none; read at the next connection. */
  setFiles(files: TlsFiles | null): void {
    this.filesValue = files;
  }

  /**
   * The material for a new connection: read again when a file or a name changed. A read that fails
   * keeps the last good material (the failure logged once); with none, a TlsError.
   */
  material(): TlsMaterial {
    const files = this.filesValue;
    if (files === null) throw new TlsError('TLS is not configured: a private key, a certificate and a CA certificate are needed');
    const key = [files.privateKey, files.certificate, files.caCert, files.bootstrapCaCert === true]
      .map((p) => (typeof p === 'string' ? `${p}=${stamp(p)}` : String(p)))
      .join('\n');
    if (this.loaded?.key === key) return this.loaded;
    try {
      this.loaded = { ...this.load(files), key };
      this.lastError = null;
      return this.loaded;
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.lastError) {
        this.lastError = message;
        this.log.error('cannot load TLS files', { reason: message, ...(this.loaded ? { using: 'the files loaded before' } : {}) });
      }
      if (this.loaded) return this.loaded;
      throw err instanceof TlsError ? err : new TlsError(message);
    }
  }

  private load(files: TlsFiles): TlsMaterial {
    const keyPem = read(files.privateKey, 'private key');
    const cert = read(files.certificate, 'certificate');
    const bootstrapping = files.bootstrapCaCert === true && stamp(files.caCert) === 'missing';
    const ca = bootstrapping ? undefined : read(files.caCert, 'CA certificate');
    const options: SecureContextOptions = { key: keyPem, cert, ...(ca ? { ca } : {}) };
    let context: SecureContext;
    try {
      context = createSecureContext(options);
    } catch (err) {
      throw new TlsError(`${files.privateKey}, ${files.certificate}, ${files.caCert}: ${(err as Error).message}`);
    }
    return { generation: ++this.generation, options, context, bootstrapping };
  }

  /**
   * After a handshake made with `material`: null when the peer may go on, otherwise why it is
   * refused (the caller closes the connection and logs it). While bootstrapping, the peer's CA
   * certificate is saved and the connection refused all the same, as OVS does: it was not verified.
   */
  checkPeer(socket: TLSSocket, material: TlsMaterial): string | null {
    if (material.bootstrapping) return this.bootstrap(socket);
    if (socket.authorized) return null;
    const cert = socket.getPeerCertificate();
    if (!cert || Object.keys(cert).length === 0) return 'no certificate presented';
    const code = String(socket.authorizationError ?? 'unknown');
    return `${VERIFY_REASONS[code] ?? 'certificate not accepted'} (${code}; subject ${subjectOf(cert)})`;
  }

  private bootstrap(socket: TLSSocket): string {
    const file = this.filesValue?.caCert ?? '';
    let cert: DetailedPeerCertificate = socket.getPeerCertificate(true);
    if (!cert || Object.keys(cert).length === 0) return 'could not bootstrap CA cert: no certificate presented by peer';
    let count = 1;
    // The chain as Node links it: each certificate's issuer, the top one its own (self-signed).
    while (cert.issuerCertificate && cert.issuerCertificate !== cert && cert.issuerCertificate.raw) {
      cert = cert.issuerCertificate;
      count++;
    }
    const top = new X509Certificate(cert.raw);
    if (!top.checkIssued(top) || !top.verify(top.publicKey)) {
      return `could not bootstrap CA cert: obtained certificate is not self-signed${count < 2 ? ' (only one certificate was received: the peer probably does not send its CA certificate)' : ''}`;
    }
    try {
      const fd = openSync(file, 'wx', 0o444);
      try {
        writeSync(fd, top.toString());
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      return `could not bootstrap CA cert: ${file}: ${(err as Error).message}`;
    }
    this.log.info('successfully bootstrapped CA cert', { file, subject: top.subject.replaceAll('\n', ', ') });
    return 'CA certificate bootstrapped: this first connection was not verified, the next one will be';
  }
}

function subjectOf(cert: PeerCertificate): string {
  const cn = cert.subject?.CN;
  return typeof cn === 'string' ? `CN=${cn}` : JSON.stringify(cert.subject ?? {});
}

/** The words for a handshake that failed (an OpenSSL error as Node reports it). */
export function handshakeFailure(err: Error & { code?: string; reason?: string }): string {
  const code = err.code ?? '';
  const what = err.reason ?? err.message;
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_HTTP_REQUEST' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG')
    return `received data that is not TLS (a plain TCP peer?): ${what}`;
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return `no TLS handshake within ${TLS_HANDSHAKE_TIMEOUT_MS} ms`;
  if (code === 'ECONNRESET') return 'the peer closed the connection during the TLS handshake';
  return what;
}

/**
 * Whether the first bytes received on a plain OpenFlow connection are a TLS record (a handshake,
 * content type 22, version 3.x), as OVS's stream_guess_content tells SSL from OpenFlow.
 */
export function looksLikeTls(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x16 && bytes[1] === 0x03;
}
