import t from 'tap';
import { hashPassword, startWebDav, verifyPassword } from '../../../protocols/webdav/index.js';
import { MemoryView } from '../../fixtures/memory-view.js';
import { startHarness } from './harness.js';

const basic = (user: string, pass: string) => ({ Authorization: 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64') });

t.test('Basic auth from the users map; passwords with colons; scrypt secrets; nothing logged', async (t) => {
  const logged: string[] = [];
  const log = (o: object, m?: string) => void logged.push(JSON.stringify(o) + (m ?? ''));
  // 'p:ss>>?' encodes with '+' and '/' in base64, which webdav-server's own parser rejects
  const users = new Map([
    ['ann', 'p:ss>>?'],
    ['bob', hashPassword('s3cret')],
  ]);
  const h = await startHarness(t, { users, logger: { info: log, warn: log, error: log } });
  await h.view.writeFile('/f', (async function* () { yield Buffer.from('x'); })());
  const none = await h.send('GET', '/f');
  t.equal(none.status, 401);
  t.match(none.headers['www-authenticate'], /^Basic realm=/);
  t.equal((await h.send('GET', '/f', { headers: basic('ann', 'wrong') })).status, 401);
  t.equal((await h.send('GET', '/f', { headers: basic('ann', 'p') })).status, 401, 'a password is not cut at its first colon');
  t.equal((await h.send('GET', '/f', { headers: basic('ann', 'p:ss>>?') })).status, 200);
  t.ok(Buffer.from('ann:p:ss>>?').toString('base64').match(/[+/]/), 'the test credentials really contain + or /');
  t.equal((await h.send('GET', '/f', { headers: basic('bob', 's3cret') })).status, 200, 'scrypt secret');
  t.equal((await h.send('GET', '/f', { headers: basic('bob', 's3cret') })).status, 200, 'again (cached verification)');
  t.equal((await h.send('GET', '/f', { headers: basic('nobody', 'x') })).status, 401);
  t.equal((await h.send('GET', '/f', { headers: { Authorization: 'Basic !!!' } })).status, 401);
  t.equal((await h.send('GET', '/f', { headers: { Authorization: 'Digest username="ann"' } })).status, 401);
  const lock = await h.send('LOCK', '/f', {
    headers: { ...basic('ann', 'p:ss>>?'), 'Content-Type': 'application/xml' },
    body: '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>',
  });
  const token = /<(.+)>/.exec(lock.headers['lock-token'] as string)![1]!;
  const ifh = { If: `(<${token}>)` };
  t.equal((await h.send('PUT', '/f', { body: 'b', headers: { ...basic('bob', 's3cret'), ...ifh } })).status, 423, "another user cannot use ann's lock token");
  t.equal((await h.send('PUT', '/f', { body: 'a', headers: { ...basic('ann', 'p:ss>>?'), ...ifh } })).status, 204);
  t.notMatch(logged.join('\n'), /p:ss|s3cret|Basic /, 'credentials never logged');
});

t.test('verifyPassword: plain and scrypt secrets', async (t) => {
  t.ok(verifyPassword('a', 'a'));
  t.notOk(verifyPassword('a', 'b'));
  t.notOk(verifyPassword('', 'a'));
  const s = hashPassword('pw');
  t.match(s, /^scrypt\$/);
  t.ok(verifyPassword('pw', s));
  t.notOk(verifyPassword('pW', s));
});

t.test('Basic auth beyond loopback without TLS is refused unless forced', async (t) => {
  const view = new MemoryView();
  const users = new Map([['u', 'p']]);
  await t.rejects(startWebDav({ view, host: '0.0.0.0', port: 0, users }), /WEBDAV_INSECURE_AUTH/);
  const forced = await startWebDav({ view, host: '0.0.0.0', port: 0, users, allowInsecureAuth: true, logger: { info() {}, warn() {}, error() {} } });
  t.match(forced.url, /^http:\/\/0\.0\.0\.0:\d+\/$/);
  await forced.close();
  const loop = await startWebDav({ view, host: '127.0.0.1', port: 0, users });
  await loop.close();
  t.pass('loopback with auth starts');
});

t.test('the onRequest hook sees every request once', async (t) => {
  const seen: [string, number, number][] = [];
  const h = await startHarness(t, { onRequest: (m, s, sec) => void seen.push([m, s, sec]) });
  await h.send('PUT', '/a', { body: 'x' });
  await h.send('GET', '/a');
  await h.send('GET', '/%zz');
  await new Promise((r) => setTimeout(r, 50));
  t.same(seen.map(([m, s]) => [m, s]), [['PUT', 201], ['GET', 200], ['GET', 400]]);
  t.ok(seen.every(([, , sec]) => sec >= 0 && sec < 5), 'durations in seconds');
});
