import { XdrReader } from '../xdr/reader.js';
import type { XdrWriter } from '../xdr/writer.js';

/** auth_flavor values (RFC 5531 §8.2, IANA registry). */
export const AUTH_NONE = 0;
export const AUTH_SYS = 1;
export const AUTH_SHORT = 2;
export const AUTH_DH = 3;
export const RPCSEC_GSS = 6;

/** Largest opaque_auth body (RFC 5531 §8.2). */
export const MAX_AUTH_BYTES = 400;
/** AUTH_SYS bounds (RFC 5531 appendix A). */
export const MAX_MACHINE_NAME = 255;
export const MAX_AUTH_SYS_GIDS = 16;

/** opaque_auth as on the wire. `body` is a view into the record it came from. */
export interface OpaqueAuth {
  flavor: number;
  body: Buffer;
}

/** authsys_parms (RFC 5531 appendix A). */
export interface AuthSysParms {
  stamp: number;
  /** at most 255 bytes on the wire; decoded as UTF-8 */
  machinename: string;
  uid: number;
  gid: number;
  /** at most 16 supplementary groups */
  gids: number[];
}

/** A call's credential, parsed for the flavors this server understands. */
export type Credential =
  | { kind: 'none' }
  | ({ kind: 'sys' } & AuthSysParms)
  /** any other flavor, left undecoded: the dispatcher refuses it with AUTH_BADCRED */
  | { kind: 'other'; flavor: number; body: Buffer };

export const NULL_AUTH: OpaqueAuth = Object.freeze({ flavor: AUTH_NONE, body: Buffer.alloc(0) }) as OpaqueAuth;

/**
 * Reads an opaque_auth.
 * @throws XdrError 'XDR_SHORT' when truncated, 'XDR_TOO_LONG' for a body over 400 bytes.
 */
export function readOpaqueAuth(r: XdrReader): OpaqueAuth {
  const flavor = r.readUint();
  const body = r.readOpaque(MAX_AUTH_BYTES);
  return { flavor, body };
}

export function writeOpaqueAuth(w: XdrWriter, auth: OpaqueAuth): void {
  w.writeUint(auth.flavor).writeOpaque(auth.body, MAX_AUTH_BYTES);
}

/**
 * Parses an AUTH_SYS body, which must hold exactly one authsys_parms.
 * @throws XdrError (any decode code) when it does not; callers answer AUTH_BADCRED.
 */
export function parseAuthSys(body: Buffer): AuthSysParms {
  const r = new XdrReader(body);
  const stamp = r.readUint();
  const machinename = r.readString(MAX_MACHINE_NAME);
  const uid = r.readUint();
  const gid = r.readUint();
  const gids = r.readArray(MAX_AUTH_SYS_GIDS, (x) => x.readUint());
  r.assertEnd();
  return { stamp, machinename, uid, gid, gids };
}

/** Writes an AUTH_SYS opaque_auth (flavor, then the body as an opaque). */
export function writeAuthSys(w: XdrWriter, p: AuthSysParms): void {
  w.writeUint(AUTH_SYS);
  const mark = w.beginOpaque();
  w.writeUint(p.stamp)
    .writeString(p.machinename, MAX_MACHINE_NAME)
    .writeUint(p.uid)
    .writeUint(p.gid)
    .writeArray(p.gids, (x, g) => x.writeUint(g), MAX_AUTH_SYS_GIDS);
  w.endOpaque(mark, MAX_AUTH_BYTES);
}

/** Writes a Credential back as an opaque_auth. */
export function writeCredential(w: XdrWriter, cred: Credential): void {
  switch (cred.kind) {
    case 'none':
      writeOpaqueAuth(w, NULL_AUTH);
      return;
    case 'sys':
      writeAuthSys(w, cred);
      return;
    case 'other':
      writeOpaqueAuth(w, { flavor: cred.flavor, body: cred.body });
      return;
  }
}
