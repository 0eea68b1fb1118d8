import { XdrError } from './xdr/errors.js';
import type { XdrReader } from './xdr/reader.js';
import type { XdrWriter } from './xdr/writer.js';
import { DONT_CHANGE, NFS3_FHSIZE, SET_TO_CLIENT_TIME, SET_TO_SERVER_TIME } from './constants.js';

/**
 * NFS v3 wire shapes (RFC 1813 §2.5–2.6) and their codecs. Handlers convert between
 * these and the view's Entry here, at the edge; nothing below protocols/nfs sees XDR.
 */

/** fattr3, with times in nanoseconds. */
export interface Fattr {
  type: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: bigint;
  used: bigint;
  fsid: bigint;
  fileid: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** What a client asks SETATTR/CREATE/MKDIR to set; absent fields stay unchanged. */
export interface Sattr {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: bigint;
  /** 'server' = the server's current time */
  atime?: bigint | 'server';
  mtime?: bigint | 'server';
}

const NS = 1_000_000_000n;
const U32 = 0xffff_ffffn;

/** nfs_fh3: opaque<64>. Lengths above 64 are read (bounded by the record) and judged BADHANDLE later. */
export function readFh(r: XdrReader): Buffer {
  return r.readOpaque(NFS3_FHSIZE * 2);
}

export function writeFh(w: XdrWriter, fh: Buffer): void {
  w.writeOpaque(fh, NFS3_FHSIZE);
}

/** filename3 as raw bytes; bounded at 4 KiB here, the 255-byte limit is NAMETOOLONG later. */
export function readName(r: XdrReader): Buffer {
  return r.readOpaque(4096);
}

export function writeTime(w: XdrWriter, ns: bigint): void {
  const t = ns < 0n ? 0n : ns;
  const sec = t / NS;
  w.writeUint(Number(sec > U32 ? U32 : sec)).writeUint(Number(t % NS));
}

export function readTime(r: XdrReader): bigint {
  const sec = r.readUint();
  const nsec = r.readUint();
  return BigInt(sec) * NS + BigInt(Math.min(nsec, 999_999_999));
}

export function writeFattr(w: XdrWriter, a: Fattr): void {
  w.writeUint(a.type).writeUint(a.mode).writeUint(a.nlink).writeUint(a.uid).writeUint(a.gid);
  w.writeUhyper(a.size).writeUhyper(a.used);
  w.writeUint(0).writeUint(0); // rdev
  w.writeUhyper(a.fsid).writeUhyper(a.fileid);
  writeTime(w, a.atimeNs);
  writeTime(w, a.mtimeNs);
  writeTime(w, a.ctimeNs);
}

export function writePostOpAttr(w: XdrWriter, a: Fattr | undefined): void {
  if (!a) {
    w.writeBool(false);
    return;
  }
  w.writeBool(true);
  writeFattr(w, a);
}

/** wcc_attr: what the client needs to tell whether someone else changed the object. */
export interface WccAttr {
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export function wccOf(a: Fattr | undefined): WccAttr | undefined {
  return a && { size: a.size, mtimeNs: a.mtimeNs, ctimeNs: a.ctimeNs };
}

export function writeWcc(w: XdrWriter, before: WccAttr | undefined, after: Fattr | undefined): void {
  if (before) {
    w.writeBool(true).writeUhyper(before.size);
    writeTime(w, before.mtimeNs);
    writeTime(w, before.ctimeNs);
  } else w.writeBool(false);
  writePostOpAttr(w, after);
}

export function writePostOpFh(w: XdrWriter, fh: Buffer | undefined): void {
  if (!fh) {
    w.writeBool(false);
    return;
  }
  w.writeBool(true);
  writeFh(w, fh);
}

function readSetTime(r: XdrReader): bigint | 'server' | undefined {
  const how = r.readUint();
  if (how === DONT_CHANGE) return undefined;
  if (how === SET_TO_SERVER_TIME) return 'server';
  if (how === SET_TO_CLIENT_TIME) return readTime(r);
  throw new XdrError('XDR_BAD_ENUM', `time_how ${how} is not defined`, r.offset - 4);
}

export function readSattr(r: XdrReader): Sattr {
  const s: Sattr = {};
  if (r.readBool()) s.mode = r.readUint();
  if (r.readBool()) s.uid = r.readUint();
  if (r.readBool()) s.gid = r.readUint();
  if (r.readBool()) s.size = r.readUhyper();
  const atime = readSetTime(r);
  if (atime !== undefined) s.atime = atime;
  const mtime = readSetTime(r);
  if (mtime !== undefined) s.mtime = mtime;
  return s;
}

/** Bytes one fattr3 takes on the wire. */
export const FATTR3_SIZE = 84;
