/**
 * A 1 GiB file PUT and GET back through WebDAV: identical sha256, and the server never holds
 * the file in memory (its peak RSS stays under 200 MB). The test streams too: the content is
 * generated on the fly and hashed as it goes, in both directions.
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { davUrl, patternStream, request } from '../helpers/http.js';
import { MiB, readRss, startMarble } from '../helpers/marble.js';

const SIZE = 1024 * MiB;
const RSS_LIMIT = 200e6; // bytes ("200 MB")

t.test('1 GiB PUT then GET round-trips with identical sha256, server peak RSS < 200 MB', async (t) => {
  const marble = await startMarble(t, { name: 'large' });
  const url = davUrl(marble.webdav, 'big file 1GiB.bin');

  // sample VmRSS while transferring too, so a report can say when memory grew
  let maxSampled = 0;
  const sampler = setInterval(() => {
    try {
      maxSampled = Math.max(maxSampled, readRss(marble.pid).currentBytes);
    } catch {
      /* exited: the assertions below say so */
    }
  }, 50);
  t.teardown(() => clearInterval(sampler));

  const sent = createHash('sha256');
  const put = await request(url, {
    method: 'PUT',
    headers: { 'Content-Length': SIZE, 'Content-Type': 'application/octet-stream' },
    body: patternStream(SIZE, 'large-1g', (b) => sent.update(b)),
    timeoutMs: 300_000,
  });
  const sentSum = sent.digest('hex');
  t.ok(put.status === 201 || put.status === 204 || put.status === 200, `PUT 1 GiB: HTTP ${put.status} in ${(put.ms / 1000).toFixed(1)} s`, {
    body: put.body.toString('utf8', 0, 500),
  });
  t.comment(`PUT: ${(SIZE / 1e6 / (put.ms / 1000)).toFixed(0)} MB/s (including the test's own generation and hashing)`);

  const head = await request(url, { method: 'HEAD' });
  t.equal(head.status, 200, 'HEAD after PUT: 200');
  t.equal(Number(head.headers['content-length']), SIZE, 'HEAD: Content-Length is 1 GiB');

  const get = await request(url, { maxBody: 0, timeoutMs: 300_000 });
  t.equal(get.status, 200, `GET: HTTP 200 in ${(get.ms / 1000).toFixed(1)} s`);
  t.equal(get.bodyBytes, SIZE, 'GET: 1 GiB received');
  t.equal(get.sha256, sentSum, 'GET: sha256 identical to what was PUT');

  clearInterval(sampler);
  t.ok(marble.alive(), 'server still running');
  const rss = readRss(marble.pid);
  const mb = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
  t.comment(`server peak RSS (VmHWM) ${mb(rss.peakBytes)}, max sampled VmRSS ${mb(maxSampled)}, now ${mb(rss.currentBytes)}`);
  t.ok(rss.peakBytes < RSS_LIMIT, `server peak RSS ${mb(rss.peakBytes)} < 200 MB`, { stderr: marble.stderr().slice(-2000) });
  t.same(await marble.stop(), { code: 0, signal: null }, 'SIGTERM: clean exit 0');
});
