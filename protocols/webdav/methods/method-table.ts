import type { MethodHandler } from './run-handler.js';
import { handleCopy } from './copy.js';
import { handleDelete } from './delete.js';
import { handleGet, handleHead } from './get.js';
import { handleLock } from './lock.js';
import { handleMkcol } from './mkcol.js';
import { handleMove } from './move.js';
import { handleOptions } from './options.js';
import { handlePropfind } from './propfind.js';
import { handleProppatch } from './proppatch.js';
import { handlePut } from './put.js';
import { handleUnlock } from './unlock.js';

/** Every WebDAV method we serve, by name; request-listener.ts dispatches on it. */
export const METHOD_TABLE: Readonly<Record<string, MethodHandler>> = {
  OPTIONS: handleOptions,
  GET: handleGet,
  HEAD: handleHead,
  PUT: handlePut,
  DELETE: handleDelete,
  MKCOL: handleMkcol,
  COPY: handleCopy,
  MOVE: handleMove,
  PROPFIND: handlePropfind,
  PROPPATCH: handleProppatch,
  LOCK: handleLock,
  UNLOCK: handleUnlock,
};
