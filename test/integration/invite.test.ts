/**
 * Pairing with a one-time invite: `marble invite` on a running instance A prints a code;
 * `marble join CODE` on B trusts A and remembers the code; B's serve dials A, proves its key
 * and is trusted by A from then on (also after A restarts). The code works once, expires, and
 * a peer presenting a wrong one is refused with 4401; the secret never appears in a log.
 */
import t, { type Test } from 'tap';
import { WebSocket } from 'ws';
import { eventually, get, initMembers, status, type Member } from '../helpers/cluster.js';
import { put } from '../helpers/http.js';
import { runMarbleCli, startMarble } from '../helpers/marble.js';
import { PROTOCOL_VERSION } from '../../src/replication/wire.js';

async function startA(t: Test, a: Member): Promise<void> {
  a.marble = await startMarble(t, { data: a.data, name: a.name, args: ['--http', `127.0.0.1:${a.httpPort}`] });
}

async function invite(a: Member, extra: string[] = []): Promise<{ code: string; stdout: string }> {
  const { stdout } = await runMarbleCli(['invite', '--data', a.data, '--http', `127.0.0.1:${a.httpPort}`, ...extra]);
  const code = /^invite: (MARBLE1-\S+)$/m.exec(stdout)?.[1];
  if (!code) throw new Error(`no invite line in:\n${stdout}`);
  return { code, stdout };
}

const peersOf = async (m: Member) => ((await status(m)).peers as Array<{ name: string }>).map((p) => p.name);

t.test('an invite pairs two instances both ways, once', async (t) => {
  const { members } = await initMembers(t, ['a', 'b', 'c'], 'marble-invite-');
  const [a, b, c] = ['a', 'b', 'c'].map((n) => members.get(n)!) as [Member, Member, Member];
  await startA(t, a);
  const { code, stdout } = await invite(a);
  t.match(stdout, new RegExp(`^peer: ws://127\\.0\\.0\\.1:${a.httpPort}/peer$`, 'm'), 'the code names where A listens');
  t.match(stdout, new RegExp(`^fingerprint: ${a.fingerprint}$`, 'm'));
  t.match(stdout, /^on the other machine: marble join MARBLE1-/m);

  const joined = await runMarbleCli(['join', code, '--data', b.data]);
  t.match(joined.stdout, new RegExp(`^trusted: ${a.fingerprint}$`, 'm'), 'B trusts A');
  b.marble = await startMarble(t, { data: b.data, name: 'b' });
  await eventually('a and b connected', async () => (await peersOf(a)).includes('b') && (await peersOf(b)).includes('a'), 20_000);
  await put(`${a.marble.webdav}from-a.txt`, 'hello from a\n');
  await put(`${b.marble.webdav}from-b.txt`, 'hello from b\n');
  await eventually('files cross both ways', async () => (await get(b, 'from-a.txt')).status === 200 && (await get(a, 'from-b.txt')).status === 200, 20_000);
  t.pass('edits replicate both ways after pairing');

  // A remembers B's key: after a restart B reconnects with the (now used) code still in its config.
  await a.marble.stop();
  await startA(t, a);
  await eventually('b reconnects to the restarted a', async () => (await peersOf(a)).includes('b'), 30_000);
  t.pass('A trusts B across restarts');

  // The same code a second time (C): refused, and C stays out.
  await runMarbleCli(['join', code, '--data', c.data]);
  c.marble = await startMarble(t, { data: c.data, name: 'c' });
  await eventually('a logs the refusal of c', async () => /invite that is not valid/.test(a.marble.stderr()), 20_000);
  t.notOk((await peersOf(a)).includes('c'), 'a used code does not admit a second instance');

  for (const m of [a, b, c]) t.notOk(m.marble.stderr().includes(code.slice(8, 40)), `${m.name}: the code never appears in the log`);
});

t.test('an expired code and a made-up one are refused with 4401', async (t) => {
  const { members } = await initMembers(t, ['a', 'b'], 'marble-invite-');
  const [a, b] = [members.get('a')!, members.get('b')!];
  await startA(t, a);
  const { code } = await invite(a, ['--valid-hours', '0.0003']); // about one second
  await new Promise((r) => setTimeout(r, 1500));
  await runMarbleCli(['join', code, '--data', b.data]);
  b.marble = await startMarble(t, { data: b.data, name: 'b' });
  await eventually('a refuses the expired code', async () => /invite that is not valid/.test(a.marble.stderr()), 20_000);
  t.same(await peersOf(a), [], 'nobody connected');
  await b.marble.stop();

  // A raw client with a key A never saw and a made-up secret: closed 4401 before any state.
  const closed = await new Promise<number>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${a.httpPort}/peer`);
    ws.on('open', () =>
      ws.send(JSON.stringify({ t: 'hello', v: PROTOCOL_VERSION, id: '11111111-2222-4333-8444-555555555555', name: 'x', key: Buffer.alloc(44).toString('base64'), nonce: Buffer.alloc(32).toString('base64'), invite: 'A'.repeat(24) })),
    );
    ws.on('close', (code) => resolve(code));
  });
  t.equal(closed, 4401, 'a made-up invite is refused as untrusted');
});

t.test('join refuses a damaged code with a clear message', async (t) => {
  const { members } = await initMembers(t, ['b'], 'marble-invite-');
  const err = await runMarbleCli(['join', 'MARBLE1-bm90IGEgY29kZQ', '--data', members.get('b')!.data]).then(
    () => '',
    (e: Error) => e.message,
  );
  t.match(err, /the invite code is damaged/);
  const other = await runMarbleCli(['join', 'hello', '--data', members.get('b')!.data]).then(
    () => '',
    (e: Error) => e.message,
  );
  t.match(other, /not a Marble invite code/);
});
