import { MAX_IO, NFS3 } from '../constants.js';
import { NfsError } from '../errors.js';
import { readFh, writePostOpAttr } from '../wire.js';
import type { NfsObject } from '../state.js';
import { OK, reply, type NfsProcedure } from './procedure.js';

const EMPTY = Buffer.alloc(0);

/**
 * READ3 through a cached read handle. Uncommitted writes to the file are committed
 * first, so a client reads back what it wrote (the view shows writes once committed).
 * Data already in the page cache goes out from there (a file tail, sent without a copy);
 * the rest is read into a buffer, sequential reads ahead (see ReadCache).
 */
export const read: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  const offset = args.readUhyper();
  const count = Math.min(args.readUint(), MAX_IO);
  let obj: NfsObject | undefined;
  try {
    obj = await nfs.resolve(fh);
    if (obj.entry.isDir) throw new NfsError(NFS3.ERR_ISDIR, `${obj.path}: is a folder`);
    if (nfs.writes.isDirty(obj.key)) {
      await nfs.writes.commit(obj.key);
      obj = await nfs.refresh(obj);
    }
    const size = obj.entry.size;
    const start = offset > BigInt(size) ? size : Number(offset);
    const want = Math.min(count, size - start);
    const file = want > 0 ? await nfs.reads.fileRange(obj.key, obj.path, obj.entry, start, want) : undefined;
    const data = want > 0 && !file ? await nfs.reads.read(obj.key, obj.path, obj.entry, start, want) : EMPTY;
    const got = file ? want : data.length;
    const attrs = await nfs.attrs(obj, call).catch((e: unknown) => {
      file?.release();
      throw e;
    });
    const eof = start + got >= size;
    const body = reply(OK, (w) => {
      writePostOpAttr(w, attrs);
      w.writeUint(got).writeBool(eof).writeUint(got);
    });
    // The data goes out after the header as it is, not copied into the reply.
    if (file) return Object.assign(body, { fileTail: file.tail, onSent: file.release });
    return Object.assign(body, want > 0 ? { tail: data, onSent: () => nfs.reads.recycle(data) } : { tail: data });
  } catch (e) {
    const status = nfs.status(e, call);
    const attrs = obj ? await nfs.attrsAfter(obj, call) : undefined;
    return reply(status, (w) => writePostOpAttr(w, attrs));
  }
};
