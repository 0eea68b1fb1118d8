import t from 'tap';
import { lockBody, startHarness, tokenOf, XML } from './harness.js';

t.test('exclusive lock: token required on PUT, DELETE, MOVE, COPY onto, PROPPATCH, MKCOL inside', async (t) => {
  const h = await startHarness(t);
  await h.send('MKCOL', '/d');
  await h.put('/d/f', 'x');
  const l = await h.send('LOCK', '/d/f', { body: lockBody('exclusive'), headers: { ...XML, Timeout: 'Second-100' } });
  t.equal(l.status, 200);
  const token = tokenOf(l);
  t.match(token, /^opaquelocktoken:[0-9a-f-]{36}$/);
  t.match(h.text(l), /<D:timeout>Second-(100|99)<\/D:timeout>/);
  t.match(h.text(l), /<D:owner>litmus-like test<\/D:owner>/);

  const dest = { Destination: `${h.url}d/g` };
  t.equal((await h.send('PUT', '/d/f', { body: 'y' })).status, 423);
  t.equal((await h.send('DELETE', '/d/f')).status, 423);
  t.equal((await h.send('MOVE', '/d/f', { headers: dest })).status, 423);
  t.equal((await h.send('DELETE', '/d')).status, 423, 'a locked member blocks deleting its folder');
  const pp = '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><Z:a xmlns:Z="urn:z">1</Z:a></D:prop></D:set></D:propertyupdate>';
  t.equal((await h.send('PROPPATCH', '/d/f', { body: pp, headers: XML })).status, 423);
  await h.put('/other', 'o');
  t.equal((await h.send('COPY', '/other', { headers: { Destination: `${h.url}d/f` } })).status, 423);
  t.equal((await h.send('COPY', '/d/f', { headers: { Destination: `${h.url}copy` } })).status, 201, 'copying a locked file is fine');
  t.equal((await h.send('LOCK', '/d/f', { body: lockBody('shared'), headers: XML })).status, 423, 'no second lock');

  const withToken = { If: `(<${token}>)` };
  t.equal((await h.send('PUT', '/d/f', { body: 'y', headers: withToken })).status, 204);
  t.equal((await h.send('PROPPATCH', '/d/f', { body: pp, headers: { ...XML, ...withToken } })).status, 207);
  t.equal((await h.send('PUT', '/d/f', { body: 'z', headers: { If: `<${h.url}d/f> (<${token}>)` } })).status, 204, 'tagged list');

  const un = await h.send('UNLOCK', '/d/f', { headers: { 'Lock-Token': '<opaquelocktoken:00000000-0000-0000-0000-000000000000>' } });
  t.equal(un.status, 409, 'UNLOCK with a token that is not ours');
  t.equal((await h.send('UNLOCK', '/d/f', { headers: { 'Lock-Token': `<${token}>` } })).status, 204);
  t.equal((await h.send('PUT', '/d/f', { body: 'free' })).status, 204, 'unlocked');
  t.equal((await h.send('PUT', '/d/f', { body: 'x', headers: withToken })).status, 412, 'a stale token makes the If header fail');
});

t.test('If header: untagged token that is not ours, etags, Not, and a parse failure never crash', async (t) => {
  const h = await startHarness(t);
  await h.put('/f', 'x');
  const foreign = '(<opaquelocktoken:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>)';
  // webdav-server 2.6.3 threw inside its If parser on exactly this header and the process died
  t.equal((await h.send('PUT', '/f', { body: 'y', headers: { If: foreign } })).status, 412);
  t.equal((await h.send('PROPPATCH', '/f', { body: '<x/>', headers: { If: foreign } })).status, 412);
  t.equal((await h.send('GET', '/f')).status, 200, 'still serving');

  const etag = (await h.send('HEAD', '/f')).headers.etag as string;
  t.equal((await h.send('PUT', '/f', { body: 'e', headers: { If: `([${etag}])` } })).status, 204, 'matching etag');
  t.equal((await h.send('PUT', '/f', { body: 'e', headers: { If: `([${etag}])` } })).status, 412, 'now stale');
  t.equal((await h.send('PUT', '/f', { body: 'n', headers: { If: '(Not <DAV:no-lock>)' } })).status, 204);
  t.equal((await h.send('PUT', '/f', { body: 'n', headers: { If: '(<DAV:no-lock>)' } })).status, 412);
  t.equal((await h.send('PUT', '/f', { body: 'n', headers: { If: `${foreign} (Not <DAV:no-lock>)` } })).status, 204, 'any list may hold');
  for (const bad of ['(', '<http://x/>', '(<a> [unterminated', '()', 'garbage', '(Not)', '([noquotes])']) {
    const r = await h.send('PUT', '/f', { body: 'b', headers: { If: bad } });
    t.equal(r.status, 400, `malformed If ${JSON.stringify(bad)}: 400`);
  }
  t.equal((await h.send('GET', '/f')).status, 200, 'still serving');
});

t.test('lock token checks against a locked resource (litmus cond_put family)', async (t) => {
  const h = await startHarness(t);
  await h.put('/f', 'x');
  const token = tokenOf(await h.send('LOCK', '/f', { body: lockBody('exclusive'), headers: XML }));
  const etag = (await h.send('HEAD', '/f')).headers.etag as string;
  t.equal((await h.send('PUT', '/f', { body: '1', headers: { If: `(<${token}> [${etag}])` } })).status, 204);
  t.equal((await h.send('PUT', '/f', { body: '2', headers: { If: `(<${token}> ["wrong"])` } })).status, 412);
  const corrupt = token.slice(0, -4) + 'beef';
  t.equal((await h.send('PUT', '/f', { body: '3', headers: { If: `(<${corrupt}>) (Not <DAV:no-lock>)` } })).status, 423, 'If holds but the lock token was not submitted');
  t.equal((await h.send('PUT', '/f', { body: '4', headers: { If: `(<${token}>) (Not <DAV:no-lock>)` } })).status, 204);
});

t.test('shared locks, depth infinity and depth 0 on a folder, refresh and expiry', async (t) => {
  const h = await startHarness(t);
  await h.send('MKCOL', '/c');
  await h.put('/c/a', 'a');
  const s1 = tokenOf(await h.send('LOCK', '/c/a', { body: lockBody('shared'), headers: XML }));
  const s2 = tokenOf(await h.send('LOCK', '/c/a', { body: lockBody('shared'), headers: XML }));
  t.not(s1, s2);
  t.equal((await h.send('LOCK', '/c/a', { body: lockBody('exclusive'), headers: XML })).status, 423);
  t.equal((await h.send('PUT', '/c/a', { body: 'y', headers: { If: `(<${s1}>)` } })).status, 423, 'every shared lock must be submitted');
  t.equal((await h.send('PUT', '/c/a', { body: 'y', headers: { If: `(<${s1}>) (<${s2}>)` } })).status, 204);
  const disc = await h.send('PROPFIND', '/c/a', { body: '<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>', headers: { ...XML, Depth: '0' } });
  t.equal((h.text(disc).match(/<D:activelock>/g) ?? []).length, 2, 'lockdiscovery lists both');
  await h.send('UNLOCK', '/c/a', { headers: { 'Lock-Token': `<${s1}>` } });
  await h.send('UNLOCK', '/c/a', { headers: { 'Lock-Token': `<${s2}>` } });

  const deep = tokenOf(await h.send('LOCK', '/c', { body: lockBody('exclusive'), headers: { ...XML, Depth: 'infinity' } }));
  t.equal((await h.send('PUT', '/c/a', { body: 'z' })).status, 423, 'member of a depth-infinity lock');
  t.equal((await h.send('PUT', '/c/new', { body: 'z' })).status, 423, 'new member of a locked folder');
  t.equal((await h.send('LOCK', '/c/a', { body: lockBody('shared'), headers: XML })).status, 423, 'inside an exclusive lock');
  t.equal((await h.send('PUT', '/c/a', { body: 'z', headers: { If: `(<${deep}>)` } })).status, 204);
  t.equal((await h.send('UNLOCK', '/c/a', { headers: { 'Lock-Token': `<${deep}>` } })).status, 204, 'UNLOCK through a member');

  const shallow = tokenOf(await h.send('LOCK', '/c', { body: lockBody('exclusive'), headers: { ...XML, Depth: '0' } }));
  t.equal((await h.send('PUT', '/c/a', { body: 'existing member' })).status, 204, 'depth 0 leaves members writable');
  t.equal((await h.send('PUT', '/c/b', { body: 'new' })).status, 423, 'but protects the member list');
  t.equal((await h.send('PUT', '/c/b', { body: 'new', headers: { If: `(<${shallow}>)` } })).status, 201);

  const refreshed = await h.send('LOCK', '/c', { headers: { If: `(<${shallow}>)`, Timeout: 'Second-500' } });
  t.equal(refreshed.status, 200, 'refresh');
  t.match(h.text(refreshed), /Second-(500|499)/);
  t.equal((await h.send('LOCK', '/c', { headers: { If: '(<opaquelocktoken:nope>)' } })).status, 412, 'refresh of a lock that is not ours');
  await h.send('UNLOCK', '/c', { headers: { 'Lock-Token': `<${shallow}>` } });

  tokenOf(await h.send('LOCK', '/c/a', { body: lockBody('exclusive'), headers: { ...XML, Timeout: 'Second-1' } }));
  t.equal((await h.send('PUT', '/c/a', { body: 'q' })).status, 423);
  await new Promise((r) => setTimeout(r, 1100));
  t.equal((await h.send('PUT', '/c/a', { body: 'q' })).status, 204, 'the lock expired');
});

t.test('LOCK on an unmapped URL creates an empty file (201); bad lockinfo is 400', async (t) => {
  const h = await startHarness(t);
  const l = await h.send('LOCK', '/new', { body: lockBody('exclusive'), headers: XML });
  t.equal(l.status, 201);
  const g = await h.send('GET', '/new');
  t.equal(g.status, 200);
  t.equal(g.bodyBytes, 0);
  t.equal((await h.send('LOCK', '/missing/parent', { body: lockBody('exclusive'), headers: XML })).status, 409);
  t.equal((await h.send('LOCK', '/x', { body: '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:weird/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>', headers: XML })).status, 400);
  t.equal((await h.send('LOCK', '/x', { body: '<D:other xmlns:D="DAV:"/>', headers: XML })).status, 400);
  t.equal((await h.send('UNLOCK', '/new', { headers: { 'Lock-Token': 'no brackets' } })).status, 400);
  t.equal((await h.send('GET', '/x')).status, 404, 'refused LOCKs created nothing');
});
