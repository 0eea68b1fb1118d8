import { HISTORY_DIR, SPLITS_DIR } from '../../../src/fs/paths.js';
import { NFS3 } from '../constants.js';
import { NfsError } from '../errors.js';
import type { NfsObject } from '../state.js';
import { readFh, readName, writePostOpAttr } from '../wire.js';
import { DirWcc, OK, reply, type NfsProcedure } from './procedure.js';

/**
 * LINK3: `name` in the folder becomes another name of the file (a hard link node, which
 * replicates like any node). Answers the file's attributes (nlink now one more) and the
 * folder's wcc_data. A folder cannot be linked (ISDIR, RFC 1813 §3.3.15); a version in
 * /.history or a file in /.splits cannot be linked into the main tree (XDEV), and nothing
 * can be added inside those read-only trees (ROFS).
 */
export const link: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  const dirFh = readFh(args);
  const name = readName(args);
  let file: NfsObject | undefined;
  let wcc: DirWcc | undefined;
  let status: number = OK;
  try {
    file = await nfs.resolve(fh);
    const dir = await nfs.resolve(dirFh);
    wcc = await DirWcc.of(nfs, call, dir);
    if (file.entry.isDir) throw new NfsError(NFS3.ERR_ISDIR, `${file.path}: is a folder`);
    const path = nfs.childPath(dir, name);
    if (inVirtualTree(file.path) && !inVirtualTree(path)) throw new NfsError(NFS3.ERR_XDEV, `${file.path}: cannot be linked outside its read-only tree`);
    await nfs.view.link(file.path, path);
  } catch (e) {
    status = nfs.status(e, call);
  }
  const attrs = file ? await nfs.attrsAfter(file, call) : undefined;
  const dirWcc = await (wcc ?? (await DirWcc.of(nfs, call, undefined))).after();
  return reply(status, (w) => {
    writePostOpAttr(w, attrs);
    dirWcc(w);
  });
};

function inVirtualTree(path: string): boolean {
  const top = path.split('/')[1];
  return top === HISTORY_DIR || top === SPLITS_DIR;
}
