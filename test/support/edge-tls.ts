/**
 * What the tests give the nginx edge: a throwaway self-signed certificate (openssl), and the request
 * rates under which the tests' own traffic runs. The tests' load (transfers from one client IP for a
 * minute, dozens of sign-ups and logins) would exceed the committed production limits by design, so it
 * runs with these, passed explicitly; the limit tests use the committed defaults.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import tls from 'node:tls';

export interface TestCertificate {
  certFile: string;
  keyFile: string;
  /** PEM: the certificate is its own trust anchor (give it as `ca`). */
  cert: string;
  fingerprint256: string;
}

/** A P-256 certificate for localhost and 127.0.0.1, valid for two days, written into `dir` (0644). */
export function makeTestCertificate(dir: string): TestCertificate {
  const certFile = join(dir, 'tls_cert.pem');
  const keyFile = join(dir, 'tls_key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/O=Protobank tests/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  // The key is bind-mounted into the nginx container as is; its master process (root) reads it.
  execFileSync('chmod', ['0644', certFile, keyFile]);
  const cert = readFileSync(certFile, 'utf8');
  return { certFile, keyFile, cert, fingerprint256: new X509Certificate(cert).fingerprint256 };
}

/** Limits that the tests' traffic through one client IP never reaches (see the file comment). */
export const LOAD_EDGE_LIMITS = {
  EDGE_RATE_GENERAL: '10000r/s',
  EDGE_BURST_GENERAL: '10000',
  EDGE_RATE_LOGIN: '10000r/s',
  EDGE_BURST_LOGIN: '10000',
  EDGE_RATE_REGISTER: '10000r/s',
  EDGE_BURST_REGISTER: '10000',
};

/** The nginx image's templates feature (envsubst of docker/nginx/templates/*.template), for a host nginx. */
export function renderEdgeTemplate(text: string, env: Record<string, string>): string {
  const out = text.replace(/\$\{(EDGE_[A-Z0-9_]+)\}/g, (whole, name: string) => {
    if (env[name] === undefined) throw new Error(`no value for ${name}`);
    return env[name];
  });
  return out;
}

/**
 * Makes every HTTPS request of this process trust `ca` besides the usual roots, until the returned
 * function is called: for the test helpers that call `request(running.baseUrl)` (supertest) against an
 * edge with a test certificate. Certificates are still verified. superagent passes `agent: false`, so
 * Node builds a fresh agent per request from the class of `https.globalAgent`: that class is swapped.
 */
export function trustCertificate(ca: string): () => void {
  const before = https.globalAgent;
  // One secure context for every request: a `ca` list given per agent (the ~140 roots and this one) is
  // parsed again for each connection, 61 ms of client CPU a request against 6 ms with the context reused
  // (measured here), which made the test client, not the stack, the bottleneck of the load through nginx.
  const secureContext = tls.createSecureContext({ ca: [...tls.rootCertificates, ca] });
  class TrustingAgent extends https.Agent {
    constructor(options?: https.AgentOptions) {
      super({ ...options, secureContext });
    }
  }
  https.globalAgent = new TrustingAgent({ keepAlive: true });
  return () => {
    https.globalAgent = before;
  };
}
