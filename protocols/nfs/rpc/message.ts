import { isXdrDecodeError } from '../xdr/errors.js';
import type { XdrReader } from '../xdr/reader.js';
import type { XdrWriter } from '../xdr/writer.js';
import {
  AUTH_NONE,
  AUTH_SYS,
  NULL_AUTH,
  parseAuthSys,
  readOpaqueAuth,
  writeCredential,
  writeOpaqueAuth,
  type Credential,
  type OpaqueAuth,
} from './auth.js';

/** The only RPC protocol version (RFC 5531 §9). */
export const RPC_VERSION = 2;

export const MSG_CALL = 0;
export const MSG_REPLY = 1;
export const MSG_ACCEPTED = 0;
export const MSG_DENIED = 1;

/** accept_stat (RFC 5531 §9). */
export const ACCEPT_STAT = {
  SUCCESS: 0,
  PROG_UNAVAIL: 1,
  PROG_MISMATCH: 2,
  PROC_UNAVAIL: 3,
  GARBAGE_ARGS: 4,
  SYSTEM_ERR: 5,
} as const;

/** reject_stat (RFC 5531 §9). */
export const REJECT_STAT = { RPC_MISMATCH: 0, AUTH_ERROR: 1 } as const;

/** auth_stat (RFC 5531 §9). */
export const AUTH_STAT = {
  OK: 0,
  BADCRED: 1,
  REJECTEDCRED: 2,
  BADVERF: 3,
  REJECTEDVERF: 4,
  TOOWEAK: 5,
  INVALIDRESP: 6,
  FAILED: 7,
  KERB_GENERIC: 8,
  TIMEEXPIRE: 9,
  TKT_FILE: 10,
  DECODE: 11,
  NET_ADDR: 12,
  RPCSEC_GSS_CREDPROBLEM: 13,
  RPCSEC_GSS_CTXPROBLEM: 14,
} as const;
export type AuthStat = (typeof AUTH_STAT)[keyof typeof AUTH_STAT];

/** A decoded call header. The procedure's arguments follow it in the record. */
export interface RpcCall {
  xid: number;
  prog: number;
  vers: number;
  proc: number;
  cred: Credential;
  verf: OpaqueAuth;
}

/**
 * What a server answers to one call. 'SUCCESS' carries a function that writes
 * the procedure's results; every other variant is a fixed RPC-level answer.
 */
export type Reply =
  | { stat: 'SUCCESS'; body: (w: XdrWriter) => void; verf?: OpaqueAuth }
  | { stat: 'PROG_UNAVAIL' }
  | { stat: 'PROG_MISMATCH'; low: number; high: number }
  | { stat: 'PROC_UNAVAIL' }
  | { stat: 'GARBAGE_ARGS' }
  | { stat: 'SYSTEM_ERR' }
  | { stat: 'RPC_MISMATCH'; low: number; high: number }
  | { stat: 'AUTH_ERROR'; why: AuthStat };

export type CallDecodeResult =
  | { ok: true; call: RpcCall }
  /**
   * `reply` is the answer to send for `xid`; when it is absent no answer is
   * possible (no xid, or not a CALL) and the caller closes the connection.
   */
  | { ok: false; xid?: number; reply?: Reply; reason: string };

/**
 * Decodes an RPC call header from a whole record (RFC 5531 §9).
 *
 * Never throws for malformed input: it returns `{ ok: false }` with the
 * rejection to send, in RFC order: RPC_MISMATCH for rpcvers ≠ 2, GARBAGE_ARGS
 * for a header cut short, AUTH_ERROR/BADCRED for an oversized or malformed
 * credential (AUTH_SYS with a machine name over 255 bytes, more than 16 gids…),
 * AUTH_ERROR/BADVERF for an oversized verifier. Policy (which flavors are
 * accepted, which programs exist) is the dispatcher's, not this function's.
 *
 * On success `r` is positioned at the procedure arguments. `cred` and `verf`
 * hold views into the record (see XdrReader).
 */
export function decodeCall(r: XdrReader): CallDecodeResult {
  if (r.remaining < 8) {
    return r.remaining < 4 ? { ok: false, reason: 'record shorter than an xid' } : { ok: false, xid: r.readUint(), reason: 'no message type' };
  }
  const xid = r.readUint();
  const mtype = r.readUint();
  if (mtype !== MSG_CALL) return { ok: false, xid, reason: `message type ${mtype} is not CALL` };
  const garbage: CallDecodeResult = { ok: false, xid, reply: { stat: 'GARBAGE_ARGS' }, reason: 'call header cut short' };
  if (r.remaining < 4) return garbage;
  const rpcvers = r.readUint();
  if (rpcvers !== RPC_VERSION) {
    return { ok: false, xid, reply: { stat: 'RPC_MISMATCH', low: RPC_VERSION, high: RPC_VERSION }, reason: `rpcvers ${rpcvers}` };
  }
  if (r.remaining < 12) return garbage;
  const prog = r.readUint();
  const vers = r.readUint();
  const proc = r.readUint();
  let rawCred: OpaqueAuth;
  let verf: OpaqueAuth;
  try {
    rawCred = readOpaqueAuth(r);
  } catch (e) {
    return badAuth(e, xid, AUTH_STAT.BADCRED, 'credential');
  }
  try {
    verf = readOpaqueAuth(r);
  } catch (e) {
    return badAuth(e, xid, AUTH_STAT.BADVERF, 'verifier');
  }
  let cred: Credential;
  if (rawCred.flavor === AUTH_NONE) {
    cred = { kind: 'none' };
  } else if (rawCred.flavor === AUTH_SYS) {
    try {
      cred = { kind: 'sys', ...parseAuthSys(rawCred.body) };
    } catch (e) {
      if (!isXdrDecodeError(e)) throw e;
      return { ok: false, xid, reply: { stat: 'AUTH_ERROR', why: AUTH_STAT.BADCRED }, reason: `AUTH_SYS body: ${e.message}` };
    }
  } else {
    cred = { kind: 'other', flavor: rawCred.flavor, body: rawCred.body };
  }
  return { ok: true, call: { xid, prog, vers, proc, cred, verf } };
}

function badAuth(e: unknown, xid: number, why: AuthStat, what: string): CallDecodeResult {
  if (!isXdrDecodeError(e)) throw e;
  // Too long is the client's authentication being bad; cut short is a garbled header.
  if (e.code === 'XDR_TOO_LONG') return { ok: false, xid, reply: { stat: 'AUTH_ERROR', why }, reason: `${what}: ${e.message}` };
  return { ok: false, xid, reply: { stat: 'GARBAGE_ARGS' }, reason: `${what}: ${e.message}` };
}

/**
 * Writes a reply message (xid, REPLY, then the accepted or denied body).
 * Throws whatever a SUCCESS `body` function throws, after having written part
 * of the reply: callers discard the writer and encode SYSTEM_ERR instead.
 */
export function encodeReply(w: XdrWriter, xid: number, reply: Reply): void {
  w.writeUint(xid).writeUint(MSG_REPLY);
  switch (reply.stat) {
    case 'RPC_MISMATCH':
      w.writeUint(MSG_DENIED).writeUint(REJECT_STAT.RPC_MISMATCH).writeUint(reply.low).writeUint(reply.high);
      return;
    case 'AUTH_ERROR':
      w.writeUint(MSG_DENIED).writeUint(REJECT_STAT.AUTH_ERROR).writeUint(reply.why);
      return;
    case 'SUCCESS':
      w.writeUint(MSG_ACCEPTED);
      writeOpaqueAuth(w, reply.verf ?? NULL_AUTH);
      w.writeUint(ACCEPT_STAT.SUCCESS);
      reply.body(w);
      return;
    case 'PROG_MISMATCH':
      w.writeUint(MSG_ACCEPTED);
      writeOpaqueAuth(w, NULL_AUTH);
      w.writeUint(ACCEPT_STAT.PROG_MISMATCH).writeUint(reply.low).writeUint(reply.high);
      return;
    case 'PROG_UNAVAIL':
    case 'PROC_UNAVAIL':
    case 'GARBAGE_ARGS':
    case 'SYSTEM_ERR':
      w.writeUint(MSG_ACCEPTED);
      writeOpaqueAuth(w, NULL_AUTH);
      w.writeUint(ACCEPT_STAT[reply.stat]);
      return;
  }
}

/** Client side: what {@link encodeCall} needs. `cred` and `verf` default to AUTH_NONE. */
export interface CallHeader {
  xid: number;
  prog: number;
  vers: number;
  proc: number;
  cred?: Credential;
  verf?: OpaqueAuth;
}

/** Client side: writes a call message; `args` writes the procedure arguments. */
export function encodeCall(w: XdrWriter, call: CallHeader, args?: (w: XdrWriter) => void): void {
  w.writeUint(call.xid).writeUint(MSG_CALL).writeUint(RPC_VERSION).writeUint(call.prog).writeUint(call.vers).writeUint(call.proc);
  writeCredential(w, call.cred ?? { kind: 'none' });
  writeOpaqueAuth(w, call.verf ?? NULL_AUTH);
  args?.(w);
}

/** Client side: a decoded reply. For SUCCESS, `results` is positioned at the procedure's results. */
export type DecodedReply =
  | { xid: number; stat: 'SUCCESS'; verf: OpaqueAuth; results: XdrReader }
  | { xid: number; stat: 'PROG_MISMATCH'; verf: OpaqueAuth; low: number; high: number }
  | { xid: number; stat: 'PROG_UNAVAIL' | 'PROC_UNAVAIL' | 'GARBAGE_ARGS' | 'SYSTEM_ERR'; verf: OpaqueAuth }
  | { xid: number; stat: 'RPC_MISMATCH'; low: number; high: number }
  | { xid: number; stat: 'AUTH_ERROR'; why: number };

const MSG_TYPES: ReadonlySet<number> = new Set([MSG_REPLY]);
const REPLY_STATS: ReadonlySet<number> = new Set([MSG_ACCEPTED, MSG_DENIED]);
const REJECT_STATS: ReadonlySet<number> = new Set(Object.values(REJECT_STAT));
const ACCEPT_STATS: ReadonlySet<number> = new Set(Object.values(ACCEPT_STAT));
const ACCEPT_NAMES = ['SUCCESS', 'PROG_UNAVAIL', 'PROG_MISMATCH', 'PROC_UNAVAIL', 'GARBAGE_ARGS', 'SYSTEM_ERR'] as const;

/**
 * Client side: decodes a reply message from a whole record.
 * @throws XdrError (decode codes) when the record is not a well-formed reply.
 */
export function decodeReply(r: XdrReader): DecodedReply {
  const xid = r.readUint();
  r.readEnum(MSG_TYPES);
  if (r.readEnum(REPLY_STATS) === MSG_DENIED) {
    if (r.readEnum(REJECT_STATS) === REJECT_STAT.RPC_MISMATCH) return { xid, stat: 'RPC_MISMATCH', low: r.readUint(), high: r.readUint() };
    return { xid, stat: 'AUTH_ERROR', why: r.readUint() };
  }
  const verf = readOpaqueAuth(r);
  const stat = ACCEPT_NAMES[r.readEnum(ACCEPT_STATS)]!;
  switch (stat) {
    case 'SUCCESS':
      return { xid, stat, verf, results: r };
    case 'PROG_MISMATCH':
      return { xid, stat, verf, low: r.readUint(), high: r.readUint() };
    default:
      return { xid, stat, verf };
  }
}
