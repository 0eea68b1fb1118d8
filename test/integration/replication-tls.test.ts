import t from 'tap';
import { execFileSync } from 'node:child_process';
import https from 'node:https';
import path from 'node:path';
import { eventually, startCluster } from '../helpers/cluster.js';
import { tempDir } from '../helpers/marble.js';

/** WebDAV over TLS with a self-signed certificate, as a client that pinned it would talk. */
function davTls(url: string, method: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, rejectUnauthorized: false, headers: body ? { 'Content-Length': Buffer.byteLength(body) } : {} }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

t.test('peers replicate over wss:// with self-signed certificates', async (t) => {
  const dir = await tempDir(t);
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=marble-test', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const cluster = await startCluster(t, ['a', 'b'], [['b', 'a']], ['--tls-cert', cert, '--tls-key', key], 'wss');
  const [a, b] = [cluster.get('a'), cluster.get('b')];
  t.match(a.marble.webdav, /^https:/, 'WebDAV is served over TLS');
  t.match(a.marble.http, /^https:/, 'so is the HTTP API with the peer endpoint');
  t.equal((await davTls(`${a.marble.webdav}tls.txt`, 'PUT', 'sent over wss')).status, 201);
  await eventually('file on b', async () => (await davTls(`${b.marble.webdav}tls.txt`, 'GET')).body === 'sent over wss', 20_000, 50);
  t.pass('the file arrived on b through a TLS peer connection');
});
