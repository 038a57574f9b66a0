// Certificates for the TLS tests, made at test time with the openssl command line into a
// temporary directory (removed when the process exits): private keys are never committed.
// EC P-256 keys, because RSA key generation would cost seconds on a busy 2-core machine.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  readonly dir: string;
  /** The test CA: signs the server and client certificates. */
  readonly caFile: string;
  /** Server certificate for 127.0.0.1, localhost and relay.test (SAN), signed by the CA. */
  readonly serverCert: string;
  readonly serverKey: string;
  /** The server key again, encrypted with `passphrase`. */
  readonly serverKeyEncrypted: string;
  readonly passphrase: string;
  /** Client certificate (CN wsrelay-client, clientAuth), signed by the CA. */
  readonly clientCert: string;
  readonly clientKey: string;
  /** The client key again, encrypted with `passphrase`. */
  readonly clientKeyEncrypted: string;
  /** A self-signed certificate for 127.0.0.1: no CA vouches for it. */
  readonly selfSignedCert: string;
  readonly selfSignedKey: string;
  /** File contents, for servers and clients started by the tests themselves. */
  pem(path: string): string;
  /** File contents in base64 (eKuiper's *Raw properties). */
  base64(path: string): string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A leaf certificate signed by the test CA. */
function signed(dir: string, name: string, subject: string, extensions: string): void {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, ['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-set_serial',
    `0x${Date.now().toString(16)}${name.length}`,
    '-days',
    '2',
    '-out',
    `${name}.pem`,
    '-extfile',
    `${name}.ext`,
  ]);
}

let made: TestCerts | null = null;

/** Makes the certificates once per test process. */
export function testCerts(): TestCerts {
  if (made) return made;
  const dir = mkdtempSync(join(tmpdir(), 'wsrelay-certs-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  openssl(dir, [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=wsrelay test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  signed(
    dir,
    'server',
    '/CN=127.0.0.1',
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:relay.test\nextendedKeyUsage=serverAuth\n',
  );
  signed(dir, 'client', '/CN=wsrelay-client', 'extendedKeyUsage=clientAuth\n');
  const passphrase = 'correct horse';
  openssl(dir, ['pkey', '-in', 'server.key', '-aes256', '-passout', `pass:${passphrase}`, '-out', 'server-enc.key']);
  openssl(dir, ['pkey', '-in', 'client.key', '-aes256', '-passout', `pass:${passphrase}`, '-out', 'client-enc.key']);
  openssl(dir, [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    'self.key',
    '-out',
    'self.pem',
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  const at = (file: string): string => join(dir, file);
  made = {
    dir,
    caFile: at('ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    serverKeyEncrypted: at('server-enc.key'),
    passphrase,
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
    clientKeyEncrypted: at('client-enc.key'),
    selfSignedCert: at('self.pem'),
    selfSignedKey: at('self.key'),
    pem: (path) => readFileSync(path, 'utf8'),
    base64: (path) => readFileSync(path).toString('base64'),
  };
  return made;
}
