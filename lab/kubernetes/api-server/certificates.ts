/**
 * The stand-in's TLS: a CA of its own and a server certificate for 127.0.0.1 and localhost signed by it (ECDSA
 * P-256, SHA-256), made with selfsigned. Clients trust the CA through the kubeconfig's certificate-authority-data,
 * so client-node and kubectl verify the server as they would a real cluster's.
 */
import { randomBytes } from 'node:crypto';

export interface ServerCertificate {
  /** PEM of the CA that signed `certPem`. */
  caPem: string;
  certPem: string;
  /** PKCS#8 PEM of the server certificate's key. */
  keyPem: string;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** A fresh CA (a random name, so two stand-ins never trust each other) and a server certificate it signed. */
export async function createCertificates(now = Date.now()): Promise<ServerCertificate> {
  // Loaded on first use: its X.509 stack takes a while to load, and modules that only read the lab's topology
  // import this one without starting a stand-in.
  const { generate } = await import('selfsigned');
  const options = {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    // From an hour back, so a client whose clock is a little behind still accepts it.
    notBeforeDate: new Date(now - HOUR_MS),
    notAfterDate: new Date(now + 365 * DAY_MS),
  } as const;
  const ca = await generate(
    [{ name: 'commonName', value: `baton-sandbox-ca-${randomBytes(4).toString('hex')}` }],
    {
      ...options,
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      ],
    },
  );
  const server = await generate([{ name: 'commonName', value: 'kube-apiserver' }], {
    ...options,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  return { caPem: withNewline(ca.cert), certPem: withNewline(server.cert), keyPem: server.private };
}

/** PEM files end with a newline; a CA written to a file for kubectl should too. */
const withNewline = (pem: string): string => (pem.endsWith('\n') ? pem : `${pem}\n`);
