import type { IncomingMessage } from 'node:http';
import type { WriteFileOptions } from '../../../src/fs/types.js';
import { isFsError } from '../../../src/fs/errors.js';
import type { DavContext } from '../dav-context.js';
import { HttpError, toHttpError } from '../errors.js';
import { contentTagOfEtag, etagOf, lastModifiedOf, parseEtagList } from '../http/conditional.js';
import { parentOf } from '../http/paths.js';
import { sendEmpty } from '../http/respond.js';
import { checkIfAndLocks, hasConditions } from '../locks/lock-check.js';

/**
 * PUT: streams the body into view.writeFile (never buffered), chunked or with a
 * Content-Length that must be met exactly. 201 when created, 204 when replaced.
 * A client waiting on Expect: 100-continue gets it when the view first pulls the body, so
 * whatever the view refuses up front (a folder, a missing parent, a stale If-Match) costs
 * the client no upload.
 */
export async function handlePut(ctx: DavContext): Promise<void> {
  const { req } = ctx;
  if (req.headers['content-range'] !== undefined) throw new HttpError(400, 'Content-Range on PUT is not supported');
  // Without locks or conditions there is nothing to check first: writeFile resolves the path itself.
  if (hasConditions(ctx)) {
    const existing = await ctx.state.statOrNull(ctx.path);
    if (existing?.isDir) throw new HttpError(405, 'cannot PUT to a folder');
    await checkIfAndLocks(
      ctx,
      existing ? [{ path: ctx.path, kind: 'resource' }] : [{ path: parentOf(ctx.path), kind: 'members' }],
    );
  }
  const expectedSize = declaredLength(req);
  const opts: { -readonly [K in keyof WriteFileOptions]: WriteFileOptions[K] } = {};
  if (expectedSize !== undefined) opts.expectedSize = expectedSize;
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() === '*') opts.mode = 'create';
  const ifMatch = req.headers['if-match'];
  if (ifMatch !== undefined) {
    const tags = parseEtagList(ifMatch);
    if (tags[0] === '*') opts.mode = 'replace';
    else if (tags.length === 1) opts.ifContentTag = contentTagOfEtag(tags[0]!) ?? undefined;
  }
  let result;
  try {
    result = await ctx.services.view.writeFile(ctx.path, countedBody(ctx, expectedSize), opts);
  } catch (e) {
    if (isFsError(e, 'MARBLE_IS_DIR')) throw new HttpError(405, 'cannot PUT to a folder');
    throw toHttpError(e, { missingIsConflict: true, existsStatus: 412 }) ?? e;
  }
  const { entry, created } = result;
  sendEmpty(ctx.res, created ? 201 : 204, { ETag: etagOf(entry), 'Last-Modified': lastModifiedOf(entry) });
}

function declaredLength(req: IncomingMessage): number | undefined {
  const v = req.headers['content-length'];
  if (v === undefined || req.headers['transfer-encoding'] !== undefined) return undefined;
  if (!/^\d{1,15}$/.test(v.trim())) throw new HttpError(400, 'invalid Content-Length');
  return Number(v);
}

/**
 * The request body as chunks, checked against Content-Length; the first pull answers a
 * pending 100-continue. Iterating with destroyOnReturn: false means a view that stops early
 * leaves the socket usable for the answer.
 */
async function* countedBody(ctx: DavContext, expected: number | undefined): AsyncGenerator<Buffer> {
  const { req } = ctx;
  ctx.state.continueBody();
  let received = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    received += chunk.length;
    yield chunk;
  }
  if (expected !== undefined && received !== expected) {
    throw new HttpError(400, `body ended after ${received} of ${expected} bytes (Content-Length)`);
  }
}
