import { nowNs } from '../../../src/core/model.js';
import { FsError } from '../../../src/fs/errors.js';
import { PROP, type NfsObject, type NfsState } from '../state.js';
import type { Sattr } from '../wire.js';

/** Applies what a create asked for beyond the mode it was created with (size, times). */
export async function applyCreateAttrs(nfs: NfsState, obj: NfsObject, s: Sattr): Promise<void> {
  if (s.size !== undefined && !obj.entry.isDir && BigInt(obj.entry.size) !== s.size) {
    if (s.size > BigInt(Number.MAX_SAFE_INTEGER)) throw new FsError('MARBLE_TOO_LARGE', `${obj.path}: size ${s.size}`);
    await nfs.checkGrowth(obj, Number(s.size));
    await nfs.writes.truncate(obj.key, obj.path, Number(s.size));
    await nfs.writes.commit(obj.key);
  }
  if (s.mtime !== undefined) await nfs.view.setMeta(obj.path, { mtimeNs: s.mtime === 'server' ? nowNs() : s.mtime });
  if (s.atime !== undefined && s.atime !== 'server') {
    await nfs.view.patchProps(obj.path, new Map([[PROP.atime, s.atime.toString()]]), []);
    nfs.noteMeta(obj.key, { atimeNs: s.atime });
  }
}
