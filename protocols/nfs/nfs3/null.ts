import type { NfsProcedure } from './procedure.js';

/** NFSPROC3_NULL: nothing in, nothing out (clients ping with it). */
export const nfsNull: NfsProcedure = () => () => {};
