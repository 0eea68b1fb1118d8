import { writeFh, readFh, readName, writePostOpAttr } from '../wire.js';
import { parentPath, type NfsObject } from '../state.js';
import { OK, reply, type NfsProcedure } from './procedure.js';

/** LOOKUP3: the handle and attributes of a name in a folder ('.' and '..' included). */
export const lookup: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  const name = readName(args);
  let dir: NfsObject | undefined;
  try {
    dir = await nfs.resolve(fh);
    const s = name.toString('utf8');
    let path: string;
    if (s === '.' && dir.entry.isDir) path = dir.path;
    else if (s === '..' && dir.entry.isDir) path = parentPath(dir.path);
    else path = nfs.childPath(dir, name);
    const obj = await nfs.at(path);
    const objAttrs = await nfs.attrs(obj, call);
    const dirAttrs = await nfs.attrs(dir, call);
    return reply(OK, (w) => {
      writeFh(w, obj.fh);
      writePostOpAttr(w, objAttrs);
      writePostOpAttr(w, dirAttrs);
    });
  } catch (e) {
    const status = nfs.status(e, call);
    const dirAttrs = dir ? await nfs.attrs(dir, call).catch(() => undefined) : undefined;
    return reply(status, (w) => writePostOpAttr(w, dirAttrs));
  }
};
