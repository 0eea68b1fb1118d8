/** Program numbers and protocol constants of MOUNT v3 and NFS v3 (RFC 1813), portmap v2 (RFC 1833). */

export const NFS_PROGRAM = 100003;
export const NFS_V3 = 3;
export const MOUNT_PROGRAM = 100005;
export const MOUNT_V3 = 3;
export const PORTMAP_PROGRAM = 100000;
export const PORTMAP_V2 = 2;

/** nfsstat3 (RFC 1813 §2.6). */
export const NFS3 = {
  OK: 0,
  ERR_PERM: 1,
  ERR_NOENT: 2,
  ERR_IO: 5,
  ERR_NXIO: 6,
  ERR_ACCES: 13,
  ERR_EXIST: 17,
  ERR_XDEV: 18,
  ERR_NODEV: 19,
  ERR_NOTDIR: 20,
  ERR_ISDIR: 21,
  ERR_INVAL: 22,
  ERR_FBIG: 27,
  ERR_NOSPC: 28,
  ERR_ROFS: 30,
  ERR_MLINK: 31,
  ERR_NAMETOOLONG: 63,
  ERR_NOTEMPTY: 66,
  ERR_DQUOT: 69,
  ERR_STALE: 70,
  ERR_REMOTE: 71,
  ERR_BADHANDLE: 10001,
  ERR_NOT_SYNC: 10002,
  ERR_BAD_COOKIE: 10003,
  ERR_NOTSUPP: 10004,
  ERR_TOOSMALL: 10005,
  ERR_SERVERFAULT: 10006,
  ERR_BADTYPE: 10007,
  ERR_JUKEBOX: 10008,
} as const;
export type NfsStat3 = (typeof NFS3)[keyof typeof NFS3];

/** NFS v3 procedure numbers. */
export const NFSPROC3 = {
  NULL: 0,
  GETATTR: 1,
  SETATTR: 2,
  LOOKUP: 3,
  ACCESS: 4,
  READLINK: 5,
  READ: 6,
  WRITE: 7,
  CREATE: 8,
  MKDIR: 9,
  SYMLINK: 10,
  MKNOD: 11,
  REMOVE: 12,
  RMDIR: 13,
  RENAME: 14,
  LINK: 15,
  READDIR: 16,
  READDIRPLUS: 17,
  FSSTAT: 18,
  FSINFO: 19,
  PATHCONF: 20,
  COMMIT: 21,
} as const;

/** MOUNT v3 procedure numbers and mountstat3. */
export const MOUNTPROC3 = { NULL: 0, MNT: 1, DUMP: 2, UMNT: 3, UMNTALL: 4, EXPORT: 5 } as const;
export const MNT3 = {
  OK: 0,
  ERR_PERM: 1,
  ERR_NOENT: 2,
  ERR_IO: 5,
  ERR_ACCES: 13,
  ERR_NOTDIR: 20,
  ERR_INVAL: 22,
  ERR_NAMETOOLONG: 63,
  ERR_NOTSUPP: 10004,
  ERR_SERVERFAULT: 10006,
} as const;

/** ftype3. */
export const NF3REG = 1;
export const NF3DIR = 2;
export const NF3BLK = 3;
export const NF3CHR = 4;
export const NF3LNK = 5;
export const NF3SOCK = 6;
export const NF3FIFO = 7;

/** stable_how. */
export const UNSTABLE = 0;
export const DATA_SYNC = 1;
export const FILE_SYNC = 2;

/** createmode3. */
export const CREATE_UNCHECKED = 0;
export const CREATE_GUARDED = 1;
export const CREATE_EXCLUSIVE = 2;

/** ACCESS3 bits. */
export const ACCESS3 = { READ: 0x1, LOOKUP: 0x2, MODIFY: 0x4, EXTEND: 0x8, DELETE: 0x10, EXECUTE: 0x20 } as const;

/** FSINFO properties. */
export const FSF3_LINK = 0x1;
export const FSF3_SYMLINK = 0x2;
export const FSF3_HOMOGENEOUS = 0x8;
export const FSF3_CANSETTIME = 0x10;

/** Sizes (RFC 1813 §2.4–2.5). */
export const NFS3_FHSIZE = 64;
export const NFS3_COOKIEVERFSIZE = 8;
export const NFS3_CREATEVERFSIZE = 8;
export const NFS3_WRITEVERFSIZE = 8;
export const MNTPATHLEN = 1024;
export const NFS_MAXNAMLEN = 255;
export const NFS_MAXPATHLEN = 4096;

/** Largest READ/WRITE transfer we offer (FSINFO rtmax/wtmax). */
export const MAX_IO = 1024 * 1024;

/** time_how (sattr3). */
export const DONT_CHANGE = 0;
export const SET_TO_SERVER_TIME = 1;
export const SET_TO_CLIENT_TIME = 2;
