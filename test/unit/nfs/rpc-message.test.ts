import t from 'tap';
import { XdrReader, XdrWriter } from '../../../protocols/nfs/xdr/index.js';
import {
  AUTH_STAT,
  decodeCall,
  decodeReply,
  encodeCall,
  encodeReply,
  type CallDecodeResult,
  type Reply,
} from '../../../protocols/nfs/rpc/message.js';
import { hex, toHex } from './fixtures/hex.js';

// NFSv3 GETATTR (prog 100003 = 0x186a3, vers 3, proc 1) from "libnfs",
// uid 1000 gid 100, groups [100, 27], with a 4-byte file handle as args.
const AUTH_SYS_BODY = '01020304 00000006 6c69626e66730000 000003e8 00000064 00000002 00000064 0000001b';
const GETATTR = hex(`
  12345678 00000000 00000002 000186a3 00000003 00000001
  00000001 00000024 ${AUTH_SYS_BODY}
  00000000 00000000
  00000004 deadbeef
`);
const HEADER = '12345678 00000000 00000002 000186a3 00000003 00000001';

const decode = (s: string): CallDecodeResult => decodeCall(new XdrReader(hex(s)));

t.test('call with AUTH_SYS', async (t) => {
  const r = new XdrReader(GETATTR);
  const res = decodeCall(r);
  if (!res.ok) throw new Error(res.reason);
  t.match(res.call, { xid: 0x12345678, prog: 100003, vers: 3, proc: 1 });
  t.same(res.call.cred, { kind: 'sys', stamp: 0x01020304, machinename: 'libnfs', uid: 1000, gid: 100, gids: [100, 27] });
  t.equal(res.call.verf.flavor, 0);
  t.equal(res.call.verf.body.length, 0);
  t.equal(toHex(r.readOpaque(64)), 'deadbeef', 'reader left at the arguments');
  r.assertEnd();

  const w = new XdrWriter();
  encodeCall(w, { xid: 0x12345678, prog: 100003, vers: 3, proc: 1, cred: res.call.cred }, (x) => x.writeOpaque(hex('deadbeef')));
  t.equal(toHex(w.finish()), toHex(GETATTR), 'encodeCall produces the same bytes');
});

t.test('call with AUTH_NONE and other flavors', async (t) => {
  const none = decode(`${HEADER} 00000000 00000000 00000000 00000000`);
  t.match(none, { ok: true, call: { cred: { kind: 'none' } } });
  const gss = decode(`${HEADER} 00000006 00000004 cafebabe 00000000 00000000`);
  t.match(gss, { ok: true, call: { cred: { kind: 'other', flavor: 6 } } }, 'unknown flavors are left to the dispatcher');
});

t.test('malformed credentials', async (t) => {
  const badcred = { ok: false, xid: 0x12345678, reply: { stat: 'AUTH_ERROR', why: AUTH_STAT.BADCRED } };
  const longName = '00000100' + '61'.repeat(256);
  t.match(decode(`${HEADER} 00000001 00000114 00000000 ${longName} 00000000 00000000 00000000 00000000 00000000`), badcred, 'machine name of 256 bytes');
  const gids17 = '00000011' + '00000001'.repeat(17);
  t.match(decode(`${HEADER} 00000001 00000058 00000000 00000000 00000000 00000000 ${gids17} 00000000 00000000`), badcred, '17 gids');
  t.match(decode(`${HEADER} 00000001 00000028 ${AUTH_SYS_BODY} 00000000 00000000 00000000`), badcred, 'AUTH_SYS body with trailing bytes');
  t.match(decode(`${HEADER} 00000001 00000010 00000000 00000000 00000000 00000000 00000000 00000000`), badcred, 'AUTH_SYS body cut short');
  t.match(decode(`${HEADER} 00000001 00000191`), badcred, 'credential body over 400 bytes, rejected before reading it');
  t.match(
    decode(`${HEADER} 00000000 00000000 00000000 00000191`),
    { ok: false, reply: { stat: 'AUTH_ERROR', why: AUTH_STAT.BADVERF } },
    'verifier over 400 bytes',
  );
});

t.test('malformed headers', async (t) => {
  t.match(decode('123456'), { ok: false, xid: undefined, reply: undefined }, 'no xid: nothing to answer');
  t.match(decode('12345678'), { ok: false, xid: 0x12345678, reply: undefined }, 'no message type');
  t.match(decode('12345678 00000001 00000000'), { ok: false, reply: undefined }, 'a REPLY is not answered');
  t.match(decode('12345678 00000000'), { ok: false, reply: { stat: 'GARBAGE_ARGS' } }, 'no rpcvers');
  t.match(
    decode('12345678 00000000 00000003'),
    { ok: false, reply: { stat: 'RPC_MISMATCH', low: 2, high: 2 } },
    'rpcvers 3 answered RPC_MISMATCH even when the rest is missing',
  );
  t.match(decode('12345678 00000000 00000002 000186a3 00000003'), { ok: false, reply: { stat: 'GARBAGE_ARGS' } }, 'no proc');
  t.match(decode(`${HEADER} 00000001`), { ok: false, reply: { stat: 'GARBAGE_ARGS' } }, 'credential cut short');
  t.match(decode(`${HEADER} 00000001 00000024 01020304`), { ok: false, reply: { stat: 'GARBAGE_ARGS' } }, 'credential body cut short');
  t.match(decode(`${HEADER} 00000000 00000000 00000000`), { ok: false, reply: { stat: 'GARBAGE_ARGS' } }, 'verifier cut short');
});

const replyHex = (reply: Reply) => {
  const w = new XdrWriter();
  encodeReply(w, 0x12345678, reply);
  return toHex(w.finish());
};
const ACCEPTED = '12345678 00000001 00000000 00000000 00000000'.replace(/ /g, '');
const DENIED = '12345678 00000001 00000001'.replace(/ /g, '');

t.test('reply encodings, byte-exact', async (t) => {
  t.equal(replyHex({ stat: 'SUCCESS', body: (w) => w.writeUint(0).writeString('ok') }), ACCEPTED + '00000000' + '00000000' + '000000026f6b0000');
  t.equal(replyHex({ stat: 'SUCCESS', body: () => {} }), ACCEPTED + '00000000', 'void result');
  t.equal(replyHex({ stat: 'PROG_UNAVAIL' }), ACCEPTED + '00000001');
  t.equal(replyHex({ stat: 'PROG_MISMATCH', low: 3, high: 4 }), ACCEPTED + '00000002' + '00000003' + '00000004');
  t.equal(replyHex({ stat: 'PROC_UNAVAIL' }), ACCEPTED + '00000003');
  t.equal(replyHex({ stat: 'GARBAGE_ARGS' }), ACCEPTED + '00000004');
  t.equal(replyHex({ stat: 'SYSTEM_ERR' }), ACCEPTED + '00000005');
  t.equal(replyHex({ stat: 'RPC_MISMATCH', low: 2, high: 2 }), DENIED + '00000000' + '00000002' + '00000002');
  t.equal(replyHex({ stat: 'AUTH_ERROR', why: AUTH_STAT.BADCRED }), DENIED + '00000001' + '00000001');
  t.equal(replyHex({ stat: 'AUTH_ERROR', why: AUTH_STAT.TOOWEAK }), DENIED + '00000001' + '00000005');
});

t.test('decodeReply reads every encoding back', async (t) => {
  const back = (reply: Reply) => decodeReply(new XdrReader(hex(replyHex(reply))));
  const ok = back({ stat: 'SUCCESS', body: (w) => w.writeUint(42) });
  t.equal(ok.stat, 'SUCCESS');
  if (ok.stat === 'SUCCESS') t.equal(ok.results.readUint(), 42);
  t.match(back({ stat: 'PROG_MISMATCH', low: 3, high: 4 }), { xid: 0x12345678, stat: 'PROG_MISMATCH', low: 3, high: 4 });
  t.match(back({ stat: 'RPC_MISMATCH', low: 2, high: 2 }), { stat: 'RPC_MISMATCH', low: 2, high: 2 });
  t.match(back({ stat: 'AUTH_ERROR', why: AUTH_STAT.TOOWEAK }), { stat: 'AUTH_ERROR', why: 5 });
  for (const stat of ['PROG_UNAVAIL', 'PROC_UNAVAIL', 'GARBAGE_ARGS', 'SYSTEM_ERR'] as const) t.match(back({ stat }), { stat });
  t.throws(() => decodeReply(new XdrReader(hex('12345678 00000000'))), { code: 'XDR_BAD_ENUM' }, 'a CALL is not a reply');
});
