import t from 'tap';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XdrWriter } from '../../../protocols/nfs/xdr/index.js';
import { RpcDispatcher, encodeCall, type CallHeader, type DispatchOutcome, type Peer } from '../../../protocols/nfs/rpc/index.js';
import { TEST_PROG, P, testProgram, recordingLogger } from './fixtures/rpc-testprog.js';
import { hex, toHex } from './fixtures/hex.js';

const XID = 0x0a0b0c0d;
const peer: Peer = { remoteAddress: '127.0.0.1', remotePort: 1000, allowed: true };
const signal = new AbortController().signal;

function call(h: Partial<CallHeader>, args?: (w: XdrWriter) => void): Buffer {
  const w = new XdrWriter();
  encodeCall(w, { xid: XID, prog: TEST_PROG, vers: 1, proc: P.NULL, ...h }, args);
  return w.finish();
}

function replyHex(o: DispatchOutcome): string {
  if (o.kind !== 'reply') throw new Error(`closed: ${o.reason}`);
  return toHex(o.record);
}

// Framed replies: mark, xid, REPLY, then the body.
const accepted = (len: number, rest: string) => `${(0x80000000 + len).toString(16)}0a0b0c0d00000001000000000000000000000000${rest.replace(/ /g, '')}`;
const denied = (len: number, rest: string) => `${(0x80000000 + len).toString(16)}0a0b0c0d0000000100000001${rest.replace(/ /g, '')}`;

t.test('routing and rejections, byte-exact', async (t) => {
  const log = recordingLogger();
  const d = new RpcDispatcher({ logger: log });
  d.register(TEST_PROG, testProgram());
  t.throws(() => d.register(TEST_PROG, testProgram()), 'a program registers once');
  const run = (rec: Buffer, p: Peer = peer) => d.dispatch(rec, p, signal).then(replyHex);

  t.equal(await run(call({})), accepted(24, '00000000'), 'NULL: SUCCESS, void');
  t.equal(
    await run(call({ proc: P.ECHO }, (w) => w.writeString('hi').writeArray([7], (x, v) => x.writeUint(v)))),
    accepted(40, '00000000 00000002 68690000 00000001 00000007'),
    'ECHO',
  );
  t.equal(await run(call({ prog: 100003 })), accepted(24, '00000001'), 'PROG_UNAVAIL');
  t.equal(await run(call({ vers: 3 })), accepted(32, '00000002 00000001 00000002'), 'PROG_MISMATCH 1..2');
  t.equal(await run(call({ proc: 99 })), accepted(24, '00000003'), 'PROC_UNAVAIL');
  t.equal(await run(call({ proc: 0xffffffff })), accepted(24, '00000003'), 'PROC_UNAVAIL for 2^32-1');
  t.equal(await run(call({ proc: P.ECHO }, (w) => w.writeUint(65))), accepted(24, '00000004'), 'GARBAGE_ARGS from an XdrError');
  t.equal(await run(call({ proc: P.GARBAGE })), accepted(24, '00000004'), 'GARBAGE_ARGS returned by the handler');
  t.equal(await run(call({ proc: P.THROW })), accepted(24, '00000005'), 'SYSTEM_ERR when the handler throws');
  t.equal(await run(call({ proc: P.BAD_BODY })), accepted(24, '00000005'), 'SYSTEM_ERR when the body throws');
  t.equal(log.errors.length, 2, 'both logged as errors');
  t.match(log.errors[0], /handler bug/);
  t.equal(
    await run(call({ cred: { kind: 'other', flavor: 6, body: hex('01') } })),
    denied(20, '00000001 00000001'),
    'AUTH_ERROR BADCRED for RPCSEC_GSS',
  );
  t.equal(await run(call({ verf: { flavor: 1, body: Buffer.alloc(0) } })), denied(20, '00000001 00000003'), 'AUTH_ERROR BADVERF');
  t.equal(await run(call({}), { ...peer, allowed: false }), denied(20, '00000001 00000005'), 'refused client: AUTH_ERROR TOOWEAK');
  t.equal(await run(call({ prog: 7 }), { ...peer, allowed: false }), denied(20, '00000001 00000005'), 'refused before PROG_UNAVAIL');
  const rpcv3 = call({});
  rpcv3.writeUInt32BE(3, 8);
  t.equal(await run(rpcv3), denied(24, '00000000 00000002 00000002'), 'RPC_MISMATCH');
});

t.test('calls without a reply close', async (t) => {
  const d = new RpcDispatcher();
  t.match(await d.dispatch(hex('0102'), peer, signal), { kind: 'close' }, 'no xid');
  const reply = call({});
  reply.writeUInt32BE(1, 4);
  t.match(await d.dispatch(reply, peer, signal), { kind: 'close' }, 'a REPLY message');
});

t.test('programs that accept refused clients', async (t) => {
  const d = new RpcDispatcher();
  d.register(TEST_PROG, { ...testProgram(), acceptsRefused: true });
  const o = await d.dispatch(call({ proc: P.WHO }), { ...peer, allowed: false }, signal);
  t.equal(replyHex(o), accepted(44, '00000000 00000000 00000009 3132372e302e302e31000000'), 'handler sees allowed=false');
});

t.test('credential reaches the handler', async (t) => {
  const d = new RpcDispatcher();
  let seen: unknown;
  d.register(5, { low: 1, high: 1, procedures: { 0: (_a, c) => ((seen = c.cred), () => {}) } });
  const cred = { kind: 'sys' as const, stamp: 1, machinename: 'libnfs', uid: 1000, gid: 100, gids: [100] };
  await d.dispatch(call({ prog: 5, cred }), peer, signal);
  t.same(seen, cred);
});

t.test('oversized replies become SYSTEM_ERR', async (t) => {
  const log = recordingLogger();
  const d = new RpcDispatcher({ maxReplySize: 1024, logger: log });
  d.register(TEST_PROG, testProgram());
  t.equal(replyHex(await d.dispatch(call({ proc: P.BIG }, (w) => w.writeUint(2000)), peer, signal)), accepted(24, '00000005'));
  t.match(log.errors[0], /XDR_OVERFLOW/);
  t.equal(replyHex(await d.dispatch(call({ proc: P.BIG }, (w) => w.writeUint(8)), peer, signal)).length, (4 + 24 + 12) * 2, 'small ones fine');
});

t.test('a body with a tail: sent uncopied after the header, padded, within maxReplySize; onSent once', async (t) => {
  const d = new RpcDispatcher({ maxReplySize: 64 });
  let sent = 0;
  const tail = Buffer.from('abcde');
  const body = Object.assign((w: XdrWriter) => w.writeUint(tail.length), { tail, onSent: () => sent++ });
  let big = 0;
  const bigBody = Object.assign((w: XdrWriter) => w.writeUint(100), { tail: Buffer.alloc(100), onSent: () => big++ });
  d.register(TEST_PROG, { low: 1, high: 1, procedures: { 1: () => body, 2: () => bigBody } });
  const o = await d.dispatch(call({ proc: 1 }), peer, signal);
  if (o.kind !== 'reply') throw new Error('closed');
  t.equal(o.chunks.length, 3, 'header, tail, padding');
  t.equal(o.chunks[1], tail, 'the tail itself, not a copy');
  t.equal(replyHex(o), accepted(36, '00000000 00000005 6162636465000000'), 'framed as one record');
  o.sent?.();
  t.equal(sent, 1);
  t.equal(replyHex(await d.dispatch(call({ proc: 2 }), peer, signal)), accepted(24, '00000005'), 'too large: SYSTEM_ERR');
  t.equal(big, 1, 'a tail not sent is released at once');
});

t.test('a body whose tail is a range of a file: framed with it, the file named for the transport; the joined record reads it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'marble-dispatch-'));
  writeFileSync(join(dir, 'f'), 'xxabcdeyy');
  const fd = openSync(join(dir, 'f'), 'r');
  t.teardown(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  const d = new RpcDispatcher({ maxReplySize: 64 });
  let sent = 0;
  const fileTail = { fd, offset: 2, length: 5 };
  const body = Object.assign((w: XdrWriter) => w.writeUint(5), { fileTail, onSent: () => sent++ });
  const tooBig = Object.assign((w: XdrWriter) => w.writeUint(100), { fileTail: { fd, offset: 0, length: 100 }, onSent: () => sent++ });
  d.register(TEST_PROG, { low: 1, high: 1, procedures: { 1: () => body, 2: () => tooBig } });
  const o = await d.dispatch(call({ proc: 1 }), peer, signal);
  if (o.kind !== 'reply') throw new Error('closed');
  t.equal(o.chunks.length, 1, 'the header alone');
  t.same(o.file, { tail: fileTail, pad: 3 }, 'then the file range and 3 bytes of padding');
  t.equal(replyHex(o), accepted(36, '00000000 00000005 6162636465000000'), 'the same record as with the bytes in memory');
  t.equal(sent, 0, 'the file is the transport\'s until it is sent');
  t.equal(replyHex(await d.dispatch(call({ proc: 2 }), peer, signal)), accepted(24, '00000005'), 'too large: SYSTEM_ERR');
  t.equal(sent, 1, 'and its file given back at once');
});
