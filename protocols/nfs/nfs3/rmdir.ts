import { NFS3 } from '../constants.js';
import { NfsError } from '../errors.js';
import { removeEntry } from './remove.js';

/** RMDIR3: an empty folder; NFS3ERR_NOTEMPTY otherwise. */
export const rmdir = removeEntry(
  (path, isDir) => {
    if (!isDir) throw new NfsError(NFS3.ERR_NOTDIR, `${path}: not a folder`);
  },
  (name) => {
    if (name === '.') throw new NfsError(NFS3.ERR_INVAL, 'cannot remove "."');
    if (name === '..') throw new NfsError(NFS3.ERR_EXIST, 'cannot remove ".."');
  },
);
