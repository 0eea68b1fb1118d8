import type { CallContext, RpcHandlerResult } from '../rpc/dispatcher.js';
import type { XdrReader } from '../xdr/reader.js';
import type { XdrWriter } from '../xdr/writer.js';
import { NFS3 } from '../constants.js';
import type { NfsObject, NfsState } from '../state.js';
import { wccOf, writePostOpAttr, writePostOpFh, writeWcc, type Fattr, type WccAttr } from '../wire.js';

/**
 * One NFS v3 procedure. Reads its arguments from `args` (an XdrError there becomes
 * GARBAGE_ARGS), does the work through `nfs`, and returns the function that writes
 * its results: the nfsstat3 then the arm for that status.
 */
export type NfsProcedure = (args: XdrReader, call: CallContext, nfs: NfsState) => Promise<RpcHandlerResult> | RpcHandlerResult;

/** Results: status word, then the arm's body. The function carries the status for metrics ({@link nfsStatusOf}). */
export function reply(status: number, body: (w: XdrWriter) => void = () => {}): (w: XdrWriter) => void {
  const write = (w: XdrWriter) => {
    w.writeUint(status);
    body(w);
  };
  return Object.assign(write, { nfsStatus: status });
}

/** The nfsstat3 of a result made by {@link reply}; undefined for others (NULL has none). */
export function nfsStatusOf(result: unknown): number | undefined {
  return (result as { nfsStatus?: number } | null)?.nfsStatus;
}

export const OK = NFS3.OK;

/** Attributes of a folder before a change, and a way to report them with the state after. */
export class DirWcc {
  private before: WccAttr | undefined;

  private constructor(
    private readonly nfs: NfsState,
    private readonly call: CallContext,
    readonly dir: NfsObject | undefined,
  ) {}

  static async of(nfs: NfsState, call: CallContext, dir: NfsObject | undefined): Promise<DirWcc> {
    const d = new DirWcc(nfs, call, dir);
    if (dir) d.before = wccOf(await nfs.attrs(dir, call).catch(() => undefined));
    return d;
  }

  /** Captures the state after the change; returns the writer of the wcc_data. */
  async after(): Promise<(w: XdrWriter) => void> {
    const before = this.before;
    const after: Fattr | undefined = this.dir ? await this.nfs.attrsAfter(this.dir, this.call) : undefined;
    return (w) => writeWcc(w, before, after);
  }
}

/** The answer of CREATE, MKDIR and SYMLINK: the new object's handle and attributes, and the folder's wcc_data. */
export async function createdReply(nfs: NfsState, call: CallContext, wcc: DirWcc, obj: NfsObject): Promise<(w: XdrWriter) => void> {
  const attrs = await nfs.attrs(obj, call);
  const dirWcc = await wcc.after();
  return reply(OK, (w) => {
    writePostOpFh(w, obj.fh);
    writePostOpAttr(w, attrs);
    dirWcc(w);
  });
}

/** A failed CREATE, MKDIR or SYMLINK: the status, and the folder's wcc_data where the folder was found. */
export async function createFailed(nfs: NfsState, call: CallContext, wcc: DirWcc | undefined, e: unknown): Promise<(w: XdrWriter) => void> {
  const status = nfs.status(e, call);
  const dirWcc = await (wcc ?? (await DirWcc.of(nfs, call, undefined))).after();
  return reply(status, dirWcc);
}

/** Resolves a handle, turning failure into the status to answer. */
export async function tryResolve(nfs: NfsState, fh: Buffer, call: CallContext): Promise<NfsObject | number> {
  try {
    return await nfs.resolve(fh);
  } catch (e) {
    return nfs.status(e, call);
  }
}
