import type { Entry } from '../../../src/fs/types.js';
import type { DavContext } from '../dav-context.js';
import { HttpError } from '../errors.js';
import { parseDepth } from '../http/dav-headers.js';
import { childPath } from '../http/paths.js';
import { XML_DECL } from '../http/respond.js';
import { needsSpace } from '../props/live-props.js';
import { MULTISTATUS_CLOSE, MULTISTATUS_OPEN } from '../props/multistatus.js';
import { parsePropfind, type PropfindRequest } from '../props/propfind-request.js';
import { needsDeadProps, propfindResponse, type PropfindSources } from '../props/propfind-response.js';
import { xmlBodyOf } from './xml-body.js';
import { headerOf } from '../http/header.js';

const PAGE = 1000;
/** Up to this many characters the answer is sent in one piece with a Content-Length. */
const STREAM_THRESHOLD = 512 * 1024;

/**
 * PROPFIND, Depth 0, 1 or infinity. A single page is answered with a Content-Length; a
 * longer listing streams page by page, so memory stays bounded by one page.
 */
export async function handlePropfind(ctx: DavContext): Promise<void> {
  const request = parsePropfind(await xmlBodyOf(ctx));
  const depth = parseDepth(headerOf(ctx.req, 'depth'), 'infinity');
  const entry = await ctx.state.statOrNull(ctx.path);
  if (!entry) throw new HttpError(404, 'no such file or folder');
  const space = request.kind === 'prop' && request.names.some((n) => needsSpace(n.ns, n.local))
    ? await ctx.services.view.space()
    : null;
  const out = new MultistatusWriter(ctx);
  const sources: PropfindSources = { locks: ctx.services.locks, space };
  await out.add(await describe(ctx, [[ctx.path, entry]], request, sources));
  if (entry.isDir && depth !== 0) await walk(ctx, ctx.path, depth === 'infinity', request, sources, out);
  out.end();
}

async function walk(
  ctx: DavContext,
  dir: string,
  recursive: boolean,
  request: PropfindRequest,
  sources: PropfindSources,
  out: MultistatusWriter,
): Promise<void> {
  let cursor: string | null = null;
  do {
    const page = await ctx.services.view.list(dir, { cursor, limit: PAGE });
    const items = page.entries.map((e): [string, Entry] => [childPath(dir, e.name), e]);
    await out.add(await describe(ctx, items, request, sources));
    if (recursive) for (const [p, e] of items) if (e.isDir) await walk(ctx, p, true, request, sources, out);
    cursor = page.cursor;
  } while (cursor !== null);
}

async function describe(
  ctx: DavContext,
  items: readonly (readonly [string, Entry])[],
  request: PropfindRequest,
  sources: PropfindSources,
): Promise<string> {
  const dead = needsDeadProps(request) ? await ctx.services.view.getPropsOf(items.map(([, e]) => e.key)) : null;
  let xml = '';
  for (let i = 0; i < items.length; i++) {
    const [p, e] = items[i]!;
    xml += propfindResponse(p, e, dead ? dead[i]! : null, request, sources);
  }
  return xml;
}

/** Buffers small answers; switches to chunked streaming once past STREAM_THRESHOLD. */
class MultistatusWriter {
  private pending: string | null = XML_DECL + MULTISTATUS_OPEN;
  constructor(private readonly ctx: DavContext) {}

  async add(xml: string): Promise<void> {
    if (this.pending === null) return this.write(xml);
    if (this.pending.length + xml.length > STREAM_THRESHOLD) {
      this.ctx.res.writeHead(207, { 'Content-Type': 'application/xml; charset=utf-8' });
      const first = this.pending + xml;
      this.pending = null;
      return this.write(first);
    }
    this.pending += xml;
  }

  /** Writes with backpressure: a slow client holds the listing, not the server's memory. */
  private async write(xml: string): Promise<void> {
    const res = this.ctx.res;
    if (res.write(xml)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
    if (res.destroyed) throw Object.assign(new Error('client went away during PROPFIND'), { code: 'ECONNRESET' });
  }

  end(): void {
    if (this.pending === null) {
      this.ctx.res.end(MULTISTATUS_CLOSE);
      return;
    }
    const body = Buffer.from(this.pending + MULTISTATUS_CLOSE, 'utf8');
    this.ctx.res.writeHead(207, {
      'Content-Type': 'application/xml; charset=utf-8',
      'Content-Length': String(body.length),
    });
    this.ctx.res.end(body);
  }
}

