import type { Entry } from '../../../src/fs/types.js';
import type { DavContext } from '../dav-context.js';
import { etagOf, lastModifiedOf } from '../http/conditional.js';
import { childPath, hrefOf } from '../http/paths.js';
import { escapeAttr, escapeXml } from '../xml/xml-write.js';

const MAX_LISTED = 1000;

/** GET on a folder: a plain HTML index of its first entries, for browsers. */
export async function sendCollectionListing(ctx: DavContext, dir: Entry, withBody: boolean): Promise<void> {
  const page = await ctx.services.view.list(ctx.path, { limit: MAX_LISTED });
  const rows = page.entries
    .map((e) => {
      const href = hrefOf(childPath(ctx.path, e.name), e.isDir);
      const label = escapeXml(e.name + (e.isDir ? '/' : ''));
      return `<li><a href="${escapeAttr(href)}">${label}</a></li>`;
    })
    .join('\n');
  const more = page.cursor ? '<p>(more entries not shown; use WebDAV PROPFIND)</p>' : '';
  const title = escapeXml(ctx.path);
  const html = `<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1><ul>\n${rows}\n</ul>${more}\n`;
  const body = Buffer.from(html, 'utf8');
  ctx.res.writeHead(200, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': String(body.length),
    ETag: etagOf(dir),
    'Last-Modified': lastModifiedOf(dir),
  });
  ctx.res.end(withBody ? body : undefined);
}
