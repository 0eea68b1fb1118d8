import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { isFsError } from '../../../src/fs/errors.js';
import type { ReadHandle } from '../../../src/fs/types.js';
import type { DavContext } from '../dav-context.js';
import { HttpError } from '../errors.js';
import { etagOf, evaluatePreconditions, ifRangeAllows, lastModifiedOf } from '../http/conditional.js';
import { contentTypeOf } from '../http/mime.js';
import { parseRange } from '../http/range.js';
import { sendCollectionListing } from './collection-listing.js';

/** Bodies up to this size are read in one call and sent with one write (no stream set-up). */
const SMALL_BODY = 128 * 1024;

async function readExactly(handle: ReadHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = await handle.read(buf, got, length - got, position + got);
    if (n === 0) throw new Error(`file ended after ${got} of ${length} bytes while reading`);
    got += n;
  }
  return buf;
}

const CHUNK = 1024 * 1024;
const POOL = 3;

/**
 * Sends `length` bytes from `position` through a few reused buffers: each goes back to the pool
 * once the socket has taken it (the write callback), so a large GET allocates nothing per chunk
 * and the next read overlaps the send of the previous chunk. At most POOL chunks in memory.
 */
async function sendRange(handle: ReadHandle, res: ServerResponse, position: number, length: number): Promise<void> {
  const free: Buffer[] = [];
  let made = 0;
  let waiting: (() => void) | null = null;
  let failed: Error | null = null;
  const release = (buf: Buffer) => (e?: Error | null) => {
    if (e) failed ??= e;
    free.push(buf);
    const w = waiting;
    waiting = null;
    w?.();
  };
  const closed = once(res, 'close').then(() => {
    const w = waiting;
    waiting = null;
    w?.();
  });
  closed.catch(() => undefined);
  let sent = 0;
  while (sent < length) {
    if (failed) throw failed;
    if (res.destroyed) throw Object.assign(new Error('client went away during GET'), { code: 'ECONNRESET' });
    let buf = free.pop();
    if (!buf && made < POOL) {
      buf = Buffer.allocUnsafe(Math.min(CHUNK, length));
      made++;
    }
    if (!buf) {
      await new Promise<void>((resolve) => (waiting = resolve));
      continue;
    }
    const want = Math.min(buf.length, length - sent);
    const n = await handle.read(buf, 0, want, position + sent);
    if (n === 0) throw new Error(`file ended after ${sent} of ${length} bytes while reading`);
    sent += n;
    if (!res.write(n === buf.length ? buf : buf.subarray(0, n), release(buf)) && !res.destroyed) {
      const drained = once(res, 'drain');
      drained.catch(() => undefined); // an 'error' shows as the close below
      await Promise.race([drained, closed]);
    }
  }
  res.end();
}

/** GET: streams the file (or one byte range of it) with ETag and Last-Modified. */
export async function handleGet(ctx: DavContext): Promise<void> {
  await serveFile(ctx, true);
}

/** HEAD: the GET headers, from a stat (no read hold taken). */
export async function handleHead(ctx: DavContext): Promise<void> {
  await serveFile(ctx, false);
}

async function serveFile(ctx: DavContext, withBody: boolean): Promise<void> {
  // GET opens first (one view call for a file); a folder is then looked at with stat.
  let handle: ReadHandle | null = null;
  let openError: unknown = null;
  if (withBody) {
    try {
      handle = await ctx.services.view.openRead(ctx.path);
    } catch (e) {
      if (isFsError(e, 'MARBLE_NOT_FOUND') || isFsError(e, 'MARBLE_NOT_DIR')) throw new HttpError(404, 'no such file or folder');
      if (!isFsError(e, 'MARBLE_IS_DIR')) throw e;
      openError = e;
    }
  }
  const entry = handle ? handle.entry : await ctx.state.statOrNull(ctx.path);
  if (!entry) throw new HttpError(404, 'no such file or folder');
  if (entry.isDir) return sendCollectionListing(ctx, entry, withBody);
  if (openError) throw openError; // a folder when opened, a file now: report what open saw
  try {
    const validators = { ETag: etagOf(entry), 'Last-Modified': lastModifiedOf(entry) };
    const pre = evaluatePreconditions(ctx.req, entry);
    if (pre === 304) {
      ctx.res.writeHead(304, validators);
      ctx.res.end();
      return;
    }
    if (pre === 412) throw new HttpError(412, 'precondition failed', validators);
    const range = ifRangeAllows(ctx.req, entry) ? parseRange(ctx.req.headers.range, entry.size) : { kind: 'whole' as const };
    if (range.kind === 'unsatisfiable') {
      throw new HttpError(416, 'range not satisfiable', { ...validators, 'Content-Range': `bytes */${entry.size}` });
    }
    const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, entry.size - 1];
    const headers: Record<string, string> = {
      ...validators,
      'Accept-Ranges': 'bytes',
      'Content-Type': contentTypeOf(entry.name),
      'Content-Length': String(end - start + 1),
    };
    if (range.kind === 'partial') headers['Content-Range'] = `bytes ${start}-${end}/${entry.size}`;
    ctx.res.writeHead(range.kind === 'partial' ? 206 : 200, headers);
    if (!handle || entry.size === 0) {
      ctx.res.end();
      return;
    }
    const length = end - start + 1;
    if (length <= SMALL_BODY) {
      ctx.res.end(await readExactly(handle, start, length));
      return;
    }
    await sendRange(handle, ctx.res, start, length);
  } finally {
    await handle?.close();
  }
}

