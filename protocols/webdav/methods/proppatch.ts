import type { DavContext } from '../dav-context.js';
import { HttpError } from '../errors.js';
import { hrefOf } from '../http/paths.js';
import { sendXml } from '../http/respond.js';
import { checkIfAndLocks } from '../locks/lock-check.js';
import { isLiveProp } from '../props/live-props.js';
import { MULTISTATUS_CLOSE, MULTISTATUS_OPEN, propstat, propXml, responseXml } from '../props/multistatus.js';
import { clarkKey } from '../props/prop-name.js';
import { parseProppatch, type PropOp } from '../props/proppatch-request.js';
import { xmlBodyOf } from './xml-body.js';

/**
 * PROPPATCH: all instructions apply or none (RFC 4918 §9.2): a protected (live) property
 * fails with 403 and every other with 424; otherwise one atomic view.patchProps. 207.
 */
export async function handleProppatch(ctx: DavContext): Promise<void> {
  const entry = await ctx.state.statOrNull(ctx.path);
  if (!entry) throw new HttpError(404, 'no such file or folder');
  await checkIfAndLocks(ctx, [{ path: ctx.path, kind: 'resource' }]);
  const ops = parseProppatch(await xmlBodyOf(ctx));
  const href = hrefOf(ctx.path, entry.isDir);
  const refused = ops.filter((o) => isLiveProp(o.name.ns, o.name.local));
  if (refused.length > 0) {
    const others = ops.filter((o) => !isLiveProp(o.name.ns, o.name.local));
    const stats =
      propstat(names(refused), 403, '<D:responsedescription>protected property</D:responsedescription>') +
      (others.length ? propstat(names(others), 424) : '');
    sendXml(ctx.res, 207, MULTISTATUS_OPEN + responseXml(href, stats) + MULTISTATUS_CLOSE);
    return;
  }
  const set = new Map<string, string>();
  const remove = new Set<string>();
  for (const o of ops) {
    const key = clarkKey(o.name);
    if (o.op === 'set') {
      set.set(key, o.value);
      remove.delete(key);
    } else {
      set.delete(key);
      remove.add(key);
    }
  }
  await ctx.services.view.patchProps(ctx.path, set, [...remove]);
  sendXml(ctx.res, 207, MULTISTATUS_OPEN + responseXml(href, propstat(names(ops), 200)) + MULTISTATUS_CLOSE);
}

function names(ops: readonly PropOp[]): string {
  const seen = new Set<string>();
  let xml = '';
  for (const o of ops) {
    const key = clarkKey(o.name);
    if (seen.has(key)) continue;
    seen.add(key);
    xml += propXml(o.name, '');
  }
  return xml;
}
