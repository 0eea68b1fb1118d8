/**
 * Hostile and broken requests against a real `marble serve`: malformed XML, XML external
 * entities, entity expansion ("billion laughs"), a 100 MB PROPFIND body, `..` and
 * percent-encoded traversal, invalid Range and If headers, a lock token that is not ours.
 * Each must get a 4xx (Range: see below), the server must keep serving, and nothing outside
 * the tree may be read or written: sentinels beside the data directory are checked for
 * content, mtime and atime, and no response may ever carry their content.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, utimes, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { davUrl, hugePropfind, mkcol, patternBytes, put, request, sha256, type Reply, type RequestOptions } from '../helpers/http.js';
import { readRss, MiB, repoRoot, startMarble, tempDir } from '../helpers/marble.js';

/** What the checks below need of a tap test. */
interface Test {
  ok(value: unknown, message: string, extra: object): boolean;
}

const is4xx = (s: number) => s >= 400 && s < 500;

t.test('bad input gets 4xx, the server keeps serving, nothing outside the tree is touched', async (t) => {
  const base = await tempDir(t, 'marble-bad-');
  const data = path.join(base, 'data');
  const token = `SENTINEL-${randomBytes(12).toString('hex')}`;
  const listToken = randomBytes(10).toString('hex');
  const escToken = randomBytes(6).toString('hex');
  const sentinel = path.join(base, 'sentinel.txt');
  const outsideDir = path.join(base, 'outside-dir');
  await writeFile(sentinel, `${token}\nif you can read this through marble, the tree leaks\n`);
  await mkdir(outsideDir);
  await writeFile(path.join(outsideDir, `listing-${listToken}.txt`), token);
  // atime older than mtime: under relatime (the default) any read of the file updates atime
  const past = new Date(Date.now() - 2 * 86400_000);
  const control = path.join(base, 'control.txt');
  await writeFile(control, 'control');
  for (const f of [sentinel, control]) await utimes(f, past, (await stat(f)).mtime);
  await readFile(control);
  const atimeWorks = (await stat(control)).atimeMs > past.getTime() + 1000;
  const sentinelBefore = await stat(sentinel);

  const marble = await startMarble(t, { data, name: 'badinput' });
  const W = marble.webdav;
  const baseRss = readRss(marble.pid).currentBytes;

  // everything any response carried, to prove no outside content ever leaks
  const seen: { what: string; body: string }[] = [];
  const req = async (what: string, target: string, opts: RequestOptions = {}, rawPath?: string): Promise<Reply> => {
    const r = await request(target, { timeoutMs: 30_000, ...opts }, rawPath);
    seen.push({ what, body: r.body.toString('latin1') });
    return r;
  };

  const aliveBody = Buffer.from(`still here ${randomUUID()}\n`);
  await put(davUrl(W, 'alive.txt'), aliveBody);
  const stillServing = async (t: Test, after: string) => {
    const r = await request(davUrl(W, 'alive.txt'), { timeoutMs: 10_000 }).catch((e: Error) => ({ status: 0, sha256: e.message }));
    t.ok(marble.alive() && r.status === 200 && r.sha256 === sha256(aliveBody), `still serving after ${after}`, {
      stderr: marble.alive() ? undefined : marble.stderr().slice(-3000),
    });
  };
  const expect4xx = async (t: Test, what: string, target: string, opts: RequestOptions = {}, rawPath?: string) => {
    let r: Reply | null = null;
    let err = '';
    try {
      r = await req(what, target, opts, rawPath);
    } catch (e) {
      err = (e as Error).message;
    }
    t.ok(r !== null && is4xx(r.status), `${what}: 4xx (${r ? r.status : err})`, {
      body: r?.body.toString('utf8', 0, 600),
    });
    return r;
  };

  await mkcol(davUrl(W, 'sub'));
  const small = await patternBytes(1000, 'bad-input-small');
  await put(davUrl(W, 'sub', 'file.bin'), small);

  await t.test('malformed XML', async (t) => {
    const broken = '<?xml version="1.0" encoding="utf-8"?>\n<D:propfind xmlns:D="DAV:"><D:prop><D:getetag></D:prop>';
    const h = { 'Content-Type': 'application/xml' };
    await expect4xx(t, 'PROPFIND with unclosed element', davUrl(W, 'sub') + '/', { method: 'PROPFIND', headers: { ...h, Depth: '1' }, body: broken });
    await expect4xx(t, 'PROPFIND with a non-XML body', davUrl(W, 'sub') + '/', {
      method: 'PROPFIND',
      headers: { ...h, Depth: '0' },
      body: 'this is { not xml ]]> at all',
    });
    await expect4xx(t, 'PROPFIND with an undeclared prefix', davUrl(W, 'sub') + '/', {
      method: 'PROPFIND',
      headers: { ...h, Depth: '0' },
      body: '<?xml version="1.0"?><X:propfind><X:allprop/></X:propfind>',
    });
    await expect4xx(t, 'PROPPATCH with broken XML', davUrl(W, 'sub', 'file.bin'), {
      method: 'PROPPATCH',
      headers: h,
      body: '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><Z:x xmlns:Z="urn:z">1</D:prop></D:set>',
    });
    await expect4xx(t, 'LOCK with broken XML', davUrl(W, 'sub', 'file.bin'), {
      method: 'LOCK',
      headers: { ...h, Timeout: 'Second-60' },
      body: '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/>',
    });
    await stillServing(t, 'malformed XML');
  });

  await t.test('XML external entities are never resolved', async (t) => {
    const h = { 'Content-Type': 'application/xml' };
    for (const [label, sys] of [
      ['sentinel file', `file://${sentinel}`],
      ['/etc/passwd', 'file:///etc/passwd'],
      ['a URL on this server', `${W}alive.txt`],
    ] as const) {
      const dtd = `<?xml version="1.0"?>\n<!DOCTYPE D:propfind [ <!ENTITY xxe SYSTEM "${sys}"> ]>\n`;
      await expect4xx(t, `PROPFIND with an external entity (${label})`, davUrl(W, 'sub', 'file.bin'), {
        method: 'PROPFIND',
        headers: { ...h, Depth: '0' },
        body: `${dtd}<D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&xxe;</D:displayname></D:prop></D:propfind>`,
      });
      await expect4xx(t, `PROPPATCH storing an external entity (${label})`, davUrl(W, 'sub', 'file.bin'), {
        method: 'PROPPATCH',
        headers: h,
        body: `${dtd.replace('D:propfind', 'D:propertyupdate')}<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:marble-test"><D:set><D:prop><Z:leak>&xxe;</Z:leak></D:prop></D:set></D:propertyupdate>`,
      });
      await expect4xx(t, `LOCK owner with an external entity (${label})`, davUrl(W, 'sub', 'file.bin'), {
        method: 'LOCK',
        headers: { ...h, Timeout: 'Second-60' },
        body: `${dtd.replace('D:propfind', 'D:lockinfo')}<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>&xxe;</D:owner></D:lockinfo>`,
      });
    }
    // a parameter entity (out-of-band XXE) too
    await expect4xx(t, 'PROPFIND with an external parameter entity', davUrl(W, 'sub', 'file.bin'), {
      method: 'PROPFIND',
      headers: { ...h, Depth: '0' },
      body: `<?xml version="1.0"?><!DOCTYPE x [ <!ENTITY % p SYSTEM "file://${sentinel}"> %p; ]><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`,
    });
    // whatever happened, no dead property holds outside content
    const all = await req('PROPFIND allprop after XXE', davUrl(W, 'sub', 'file.bin'), {
      method: 'PROPFIND',
      headers: { Depth: '0', 'Content-Type': 'application/xml' },
      body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>',
    });
    t.equal(all.status, 207, 'PROPFIND allprop of the file afterwards: 207');
    t.notMatch(all.body.toString(), /root:x:0:0|SENTINEL-|still here/, 'no entity content was stored as a property');
    // the lock attempts above must not have left the file locked
    const unlocked = await req('PUT after LOCK attempts', davUrl(W, 'sub', 'file.bin'), { method: 'PUT', body: small });
    t.ok(unlocked.status >= 200 && unlocked.status < 300, `file is not locked by a refused LOCK (${unlocked.status})`);
    await stillServing(t, 'XXE bodies');
  });

  await t.test('entity expansion ("billion laughs") is refused, fast and without memory growth', async (t) => {
    let lol = '<!ENTITY lol0 "lollollollollollollollollollol">';
    for (let i = 1; i <= 9; i++) lol += `<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`;
    const dtd = `<?xml version="1.0"?>\n<!DOCTYPE D:propfind [ ${lol} ]>\n`;
    const started = Date.now();
    await expect4xx(t, 'PROPFIND with a billion laughs', davUrl(W, 'sub', 'file.bin'), {
      method: 'PROPFIND',
      headers: { 'Content-Type': 'application/xml', Depth: '0' },
      body: `${dtd}<D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&lol9;</D:displayname></D:prop></D:propfind>`,
    });
    await expect4xx(t, 'PROPPATCH with a billion laughs', davUrl(W, 'sub', 'file.bin'), {
      method: 'PROPPATCH',
      headers: { 'Content-Type': 'application/xml' },
      body: `${dtd.replace('D:propfind', 'D:propertyupdate')}<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:marble-test"><D:set><D:prop><Z:lol>&lol9;</Z:lol></D:prop></D:set></D:propertyupdate>`,
    });
    // quadratic blowup: one big entity referenced many times (no nesting)
    const big = 'x'.repeat(50_000);
    await expect4xx(t, 'PROPPATCH with a quadratic-blowup entity', davUrl(W, 'sub', 'file.bin'), {
      method: 'PROPPATCH',
      headers: { 'Content-Type': 'application/xml' },
      body: `<?xml version="1.0"?><!DOCTYPE D:propertyupdate [<!ENTITY a "${big}">]><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:marble-test"><D:set><D:prop><Z:q>${'&a;'.repeat(20_000)}</Z:q></D:prop></D:set></D:propertyupdate>`,
    });
    const ms = Date.now() - started;
    t.ok(ms < 10_000, `answered within 10 s (${ms} ms)`);
    const grew = readRss(marble.pid).peakBytes - baseRss;
    t.ok(grew < 150 * MiB, `server peak RSS grew by ${(grew / MiB).toFixed(1)} MiB (< 150)`);
    await stillServing(t, 'entity expansion');
  });

  await t.test('a 100 MB PROPFIND body gets 413 quickly', async (t) => {
    const total = 100_000_000;
    for (const chunked of [false, true]) {
      const how = chunked ? 'chunked' : 'Content-Length';
      const r = await hugePropfind(W, '/sub/', total, chunked);
      seen.push({ what: `100 MB PROPFIND (${how})`, body: r.head });
      t.equal(r.status, 413, `100 MB PROPFIND body (${how}): 413 (got ${r.status || `no answer: ${r.error ?? 'closed'} after ${(r.sentBytes / 1e6).toFixed(1)} MB sent`})`, { head: r.head.slice(0, 600) });
      t.ok(r.status !== 0 && r.ms < 5000, `answered within 5 s (${r.ms} ms)`);
      t.ok(r.sentBytes < total, `refused before the whole body was sent (${(r.sentBytes / 1e6).toFixed(1)} MB of 100 sent)`);
      await stillServing(t, `100 MB PROPFIND (${how})`);
    }
    const grew = readRss(marble.pid).peakBytes - baseRss;
    t.ok(grew < 150 * MiB, `server peak RSS grew by ${(grew / MiB).toFixed(1)} MiB (< 150): the body was not buffered`);
  });

  await t.test('traversal in request paths', async (t) => {
    // reads: the sentinel beside the data dir, the store itself, and /etc/passwd
    const reads = [
      '/../sentinel.txt',
      '/../../sentinel.txt',
      '/sub/../../sentinel.txt',
      '/%2e%2e/sentinel.txt',
      '/%2E%2E/sentinel.txt',
      '/..%2fsentinel.txt',
      '/..%2Fsentinel.txt',
      '/%2e%2e%2fsentinel.txt',
      '/sub/..%2f..%2fsentinel.txt',
      '/..%5csentinel.txt',
      '/.%2e/sentinel.txt',
      '/%252e%252e/sentinel.txt',
      '/../outside-dir/',
      '/%2e%2e/outside-dir/',
      '/../../../../../../../../etc/passwd',
      '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      '/..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
      '/sub/file.bin%00.txt',
      '/%00',
      '/sub%00/file.bin',
      '/marble.db',
      '/.marble_unique',
      '/blobs/',
      '/data/marble.db',
      '/../data/marble.db',
    ];
    for (const p of reads) {
      for (const method of ['GET', 'PROPFIND']) {
        await expect4xx(t, `${method} ${p}`, W, { method, headers: method === 'PROPFIND' ? { Depth: '1' } : {} }, p);
      }
    }
    // writes: PUT, MKCOL, and COPY/MOVE whose Destination climbs out
    const esc = `escaped-${escToken}`;
    const writes = [
      `/../${esc}.txt`,
      `/%2e%2e/${esc}.txt`,
      `/..%2f${esc}.txt`,
      `/%2e%2e%2f${esc}.txt`,
      `/sub/..%2f..%2f${esc}.txt`,
      `/sub/%2e%2e/%2e%2e/${esc}.txt`,
      `/${esc}%00.txt`,
      `/%2e%2e/outside-dir/${esc}.txt`,
      `/%2e%2e/sentinel.txt`,
    ];
    for (const p of writes) {
      await expect4xx(t, `PUT ${p}`, W, { method: 'PUT', body: `written by a traversal ${token}` }, p);
      await expect4xx(t, `MKCOL ${p}`, W, { method: 'MKCOL' }, p.replace(/\.txt$/, '-dir'));
    }
    const host = new URL(W).host;
    for (const d of [`/../${esc}.txt`, `/%2e%2e/${esc}.txt`, `/..%2f${esc}.txt`, `/sub/..%2f..%2f${esc}.txt`, `/%2e%2e/sentinel.txt`]) {
      for (const method of ['COPY', 'MOVE']) {
        await expect4xx(t, `${method} /sub/file.bin -> ${d}`, davUrl(W, 'sub', 'file.bin'), {
          method,
          headers: { Destination: `http://${host}${d}`, Overwrite: 'T' },
        });
      }
    }
    await expect4xx(t, 'DELETE /%2e%2e/sentinel.txt', W, { method: 'DELETE' }, '/%2e%2e/sentinel.txt');
    await expect4xx(t, 'DELETE /../outside-dir/', W, { method: 'DELETE' }, '/../outside-dir/');
    const still = await request(davUrl(W, 'sub', 'file.bin'));
    t.equal(still.sha256, sha256(small), 'the source of the refused COPY/MOVE is still in place');
    await stillServing(t, 'traversal attempts');
  });

  await t.test('invalid Range headers', async (t) => {
    const url = davUrl(W, 'sub', 'file.bin');
    // past the end: 416 with the size (RFC 9110 §15.5.17)
    for (const range of ['bytes=1000-', 'bytes=5000-6000', 'bytes=99999999999999-']) {
      const r = await req(`Range ${range}`, url, { headers: { Range: range } });
      t.equal(r.status, 416, `GET Range: ${range} on a 1000-byte file: 416 (${r.status})`);
      const cr = r.headers['content-range'];
      if (cr !== undefined) t.equal(cr, 'bytes */1000', '  its Content-Range gives the size: bytes */1000');
    }
    // syntactically invalid: HTTP says a server MAY ignore Range (then 200 with the whole
    // file) or refuse it (416); never a 5xx, never a wrong body
    for (const range of ['bytes=abc', 'bytes=-', 'bytes=500-100', 'bytes=1-2-3', 'bytes=--5', 'pages=1-2', 'bytes=0-0,' + '1-1,'.repeat(2000) + '2-2', 'bytes=99999999999999999999999999-']) {
      const r = await req(`Range ${range.slice(0, 40)}`, url, { headers: { Range: range } });
      const ok = r.status === 416 || (r.status === 200 && r.sha256 === sha256(small)) || r.status === 206;
      t.ok(ok, `GET Range: ${range.slice(0, 40)}: 200 with the whole file, 206 or 416 (${r.status})`);
      if (r.status === 206) t.ok(r.bodyBytes <= 1000, '  206 never sends more than the file');
    }
    await stillServing(t, 'invalid Range headers');
  });

  await t.test('invalid If / If-Match headers', async (t) => {
    const url = davUrl(W, 'sub', 'file.bin');
    const other = await patternBytes(1000, 'should-not-land');
    // a condition that cannot hold (a token or ETag that is not current) or that does not parse
    const ifs = [
      `(<opaquelocktoken:${randomUUID()}>)`, // Finder's PUT under a lock it does not hold here
      '(<opaquelocktoken:not-a-uuid>)',
      '([W/"no-such-etag"])',
      'garbage((',
      '(<opaquelocktoken:unterminated',
      '<>',
      `(<${'a'.repeat(20_000)}>)`,
    ];
    const proppatch = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:marble-test"><D:set><D:prop><Z:p>v</Z:p></D:prop></D:set></D:propertyupdate>';
    for (const value of ifs) {
      const label = value.length > 60 ? `${value.slice(0, 60)}…` : value;
      await expect4xx(t, `PUT with If: ${label}`, url, { method: 'PUT', headers: { If: value }, body: other });
      await expect4xx(t, `PROPPATCH with If: ${label}`, url, {
        method: 'PROPPATCH',
        headers: { If: value, 'Content-Type': 'application/xml' },
        body: proppatch,
      });
    }
    // odd but arguably acceptable (Apache takes them: an empty list, a tag naming another
    // resource): any answer but a 5xx or a crash. The PUT sends the current content, so
    // whatever the server decides, the file stays the same.
    for (const value of ['()', '(Not)', `<http://${new URL(W).host}/elsewhere> (<opaquelocktoken:${randomUUID()}>)`]) {
      const r = await req(`PUT with If: ${value}`, url, { method: 'PUT', headers: { If: value }, body: small });
      t.ok(r.status < 500, `PUT with If: ${value}: no server error (${r.status})`, { body: r.body.toString('utf8', 0, 400) });
      const p = await req(`PROPPATCH with If: ${value}`, url, { method: 'PROPPATCH', headers: { If: value, 'Content-Type': 'application/xml' }, body: proppatch });
      t.ok(p.status < 500, `PROPPATCH with If: ${value}: no server error (${p.status})`, { body: p.body.toString('utf8', 0, 400) });
    }
    await expect4xx(t, 'PUT with If-Match: "nope"', url, { method: 'PUT', headers: { 'If-Match': '"nope"' }, body: other });
    await expect4xx(t, 'PUT with If-None-Match: * on an existing file', url, { method: 'PUT', headers: { 'If-None-Match': '*' }, body: other });
    await expect4xx(t, 'DELETE with If-Match: "nope"', url, { method: 'DELETE', headers: { 'If-Match': '"nope"' } });
    const r = await request(url);
    t.equal(r.sha256, sha256(small), 'the file is unchanged by every refused conditional request');
    await stillServing(t, 'invalid If headers');
  });

  await t.test('a lock token that is not ours', async (t) => {
    const url = davUrl(W, 'sub', 'locked.txt');
    const content = Buffer.from('locked content\n');
    await put(url, content);
    const lock = await req('LOCK', url, {
      method: 'LOCK',
      headers: { 'Content-Type': 'application/xml', Timeout: 'Second-120' },
      body: '<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>marble test</D:owner></D:lockinfo>',
    });
    t.equal(lock.status, 200, 'LOCK: 200');
    const tok = String(lock.headers['lock-token'] ?? '').replace(/^<|>$/g, '');
    t.match(tok, /^\S+:\S+$/, `Lock-Token header: ${tok}`);
    const foreign = `opaquelocktoken:${randomUUID()}`;
    const other = Buffer.from('intruder\n');
    await expect4xx(t, 'PUT on a locked file without a token', url, { method: 'PUT', body: other });
    await expect4xx(t, 'PUT with a foreign token', url, { method: 'PUT', headers: { If: `(<${foreign}>)` }, body: other });
    await expect4xx(t, 'PUT with a foreign token tagged to this URL', url, {
      method: 'PUT',
      headers: { If: `<${url}> (<${foreign}>)` },
      body: other,
    });
    await expect4xx(t, 'DELETE with a foreign token', url, { method: 'DELETE', headers: { If: `(<${foreign}>)` } });
    await expect4xx(t, 'MOVE of a locked file with a foreign token', url, {
      method: 'MOVE',
      headers: { Destination: davUrl(W, 'sub', 'moved.txt'), If: `(<${foreign}>)` },
    });
    await expect4xx(t, 'PROPPATCH with a foreign token', url, {
      method: 'PROPPATCH',
      headers: { If: `(<${foreign}>)`, 'Content-Type': 'application/xml' },
      body: '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:marble-test"><D:set><D:prop><Z:p>v</Z:p></D:prop></D:set></D:propertyupdate>',
    });
    await expect4xx(t, 'LOCK refresh with a foreign token', url, { method: 'LOCK', headers: { If: `(<${foreign}>)`, Timeout: 'Second-60' } });
    await expect4xx(t, 'UNLOCK with a foreign token', url, { method: 'UNLOCK', headers: { 'Lock-Token': `<${foreign}>` } });
    await expect4xx(t, 'UNLOCK with a malformed Lock-Token', url, { method: 'UNLOCK', headers: { 'Lock-Token': 'no-brackets' } });
    await expect4xx(t, 'UNLOCK with our token on another resource', davUrl(W, 'sub', 'file.bin'), {
      method: 'UNLOCK',
      headers: { 'Lock-Token': `<${tok}>` },
    });
    t.equal((await request(url)).sha256, sha256(content), 'the locked file is unchanged');
    const withOurs = await req('PUT with our token', url, { method: 'PUT', headers: { If: `(<${tok}>)` }, body: content });
    t.ok(withOurs.status >= 200 && withOurs.status < 300, `PUT with our own token: 2xx (${withOurs.status})`);
    const un = await req('UNLOCK', url, { method: 'UNLOCK', headers: { 'Lock-Token': `<${tok}>` } });
    t.equal(un.status, 204, 'UNLOCK with our token: 204');
    const after = await req('PUT after UNLOCK', url, { method: 'PUT', body: other });
    t.ok(after.status >= 200 && after.status < 300, `PUT after UNLOCK: 2xx (${after.status})`);
    await stillServing(t, 'foreign lock tokens');
  });

  t.ok(marble.alive(), 'the server process never died');
  t.same(await marble.stop(), { code: 0, signal: null }, 'SIGTERM: clean exit 0');

  // nothing outside the tree read or written
  const leaked = seen.filter((s) => s.body.includes(token) || s.body.includes(listToken) || /root:x:0:0:/.test(s.body) || s.body.startsWith('SQLite format 3'));
  t.same(
    leaked.map((s) => s.what),
    [],
    'no response carried content from outside the tree (sentinel, outside listing, /etc/passwd, the database)',
  );
  const after = await stat(sentinel);
  t.equal(await readFile(sentinel, 'utf8').then((s) => s.startsWith(token)), true, 'sentinel content unchanged');
  t.equal(after.mtimeMs, sentinelBefore.mtimeMs, 'sentinel mtime unchanged');
  if (atimeWorks) t.equal(after.atimeMs, sentinelBefore.atimeMs, 'sentinel never read (atime unchanged)');
  else t.comment('atime is not updated on this filesystem (noatime): read check by content only');
  t.same((await readdir(outsideDir)).sort(), [`listing-${listToken}.txt`], 'nothing written into the folder beside the data dir');
  t.same((await readdir(base)).sort(), ['control.txt', 'data', 'outside-dir', 'sentinel.txt'], 'nothing written beside the data dir');
  const places = [base, path.dirname(base), repoRoot, path.dirname(repoRoot), '/', data, process.cwd()];
  const strays: string[] = [];
  for (const dir of places) {
    for (const n of await readdir(dir).catch(() => [] as string[])) if (n.includes(escToken)) strays.push(path.join(dir, n));
  }
  t.same(strays, [], 'no traversal file anywhere near (base, its parent, the repository, /)');
  t.notOk(existsSync(path.join(path.dirname(base), `escaped-${escToken}.txt`)), 'nothing escaped into the temp dir');
});
