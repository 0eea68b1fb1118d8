import type { DavContext } from '../dav-context.js';
import { HttpError, toHttpError } from '../errors.js';
import { parseDepth, parseTimeout } from '../http/dav-headers.js';
import { submittedTokens } from '../http/if-header.js';
import { parentOf } from '../http/paths.js';
import { sendXml } from '../http/respond.js';
import { checkHttpPreconditions, checkIfAndLocks, evaluateIf, ifListsOf } from '../locks/lock-check.js';
import type { ActiveLock, LockScope } from '../locks/lock-table.js';
import { activeLockXml } from '../locks/lock-xml.js';
import { childElements, findDavChild, isDav, type XmlElement } from '../xml/xml-parse.js';
import { escapeXml, serializeContent } from '../xml/xml-write.js';
import { xmlBodyOf } from './xml-body.js';
import { headerOf } from '../http/header.js';

/**
 * LOCK: a new exclusive or shared write lock (depth 0 or infinity), or a refresh when the
 * body is empty and the If header names the lock. Locking an unmapped URL creates an empty
 * file (RFC 4918 §7.3), answered 201.
 */
export async function handleLock(ctx: DavContext): Promise<void> {
  const body = await xmlBodyOf(ctx);
  const timeout = parseTimeout(headerOf(ctx.req, 'timeout'));
  if (!body) return refresh(ctx, timeout);
  const info = parseLockInfo(body);
  const depth = parseDepth(headerOf(ctx.req, 'depth'), 'infinity');
  if (depth === 1) throw new HttpError(400, 'LOCK accepts Depth 0 or infinity');
  await checkHttpPreconditions(ctx);
  const lists = ifListsOf(ctx);
  if (lists && !(await evaluateIf(ctx, lists))) throw new HttpError(412, 'If header condition failed');
  assertNoConflict(ctx, info.scope, depth);
  let entry = await ctx.state.statOrNull(ctx.path);
  let created = false;
  if (!entry) {
    await checkIfAndLocks(ctx, [{ path: parentOf(ctx.path), kind: 'members' }]);
    try {
      entry = await ctx.services.view.createFile(ctx.path, { exclusive: true });
      created = true;
    } catch (e) {
      throw toHttpError(e, { missingIsConflict: true, existsStatus: 412 }) ?? e;
    }
    assertNoConflict(ctx, info.scope, depth); // the tree may have changed while we waited
  }
  const lock = ctx.services.locks.add({
    root: ctx.path,
    depth: entry.isDir ? depth : 0,
    scope: info.scope,
    owner: info.owner,
    user: ctx.user,
    timeoutSeconds: timeout,
  });
  sendLockResponse(ctx, lock, created ? 201 : 200, true);
}

function refresh(ctx: DavContext, timeout: number): void {
  const lists = ifListsOf(ctx);
  if (!lists) throw new HttpError(400, 'LOCK without a body must name the lock to refresh in an If header');
  const tokens = submittedTokens(lists);
  const lock = ctx.services.locks.covering(ctx.path).find((l) => tokens.has(l.token));
  if (!lock) throw new HttpError(412, 'no lock named in the If header applies to this resource');
  if (lock.user !== null && lock.user !== ctx.user) throw new HttpError(403, 'lock belongs to another user');
  ctx.services.locks.refresh(lock, timeout);
  sendLockResponse(ctx, lock, 200, false);
}

function sendLockResponse(ctx: DavContext, lock: ActiveLock, status: number, withToken: boolean): void {
  const xml = `<D:prop xmlns:D="DAV:"><D:lockdiscovery>${activeLockXml(lock, ctx.services.locks)}</D:lockdiscovery></D:prop>`;
  sendXml(ctx.res, status, xml, withToken ? { 'Lock-Token': `<${lock.token}>` } : {});
}

function assertNoConflict(ctx: DavContext, scope: LockScope, depth: 0 | 'infinity'): void {
  const locks = ctx.services.locks;
  const existing = [...locks.covering(ctx.path), ...(depth === 'infinity' ? locks.within(ctx.path) : [])];
  const conflict = existing.find((l) => l.scope === 'exclusive' || scope === 'exclusive');
  if (conflict) {
    throw new HttpError(
      423,
      'already locked',
      {},
      `<D:error xmlns:D="DAV:"><D:no-conflicting-lock><D:href>${escapeXml(conflict.root)}</D:href></D:no-conflicting-lock></D:error>`,
    );
  }
}

interface LockInfo {
  readonly scope: LockScope;
  readonly owner: string;
}

function parseLockInfo(body: XmlElement): LockInfo {
  if (!isDav(body, 'lockinfo')) throw new HttpError(400, 'LOCK body must be a DAV:lockinfo');
  const scopeEl = findDavChild(body, 'lockscope');
  const typeEl = findDavChild(body, 'locktype');
  const scopeChild = scopeEl ? childElements(scopeEl)[0] : undefined;
  const typeChild = typeEl ? childElements(typeEl)[0] : undefined;
  if (!scopeChild || !(isDav(scopeChild, 'exclusive') || isDav(scopeChild, 'shared'))) {
    throw new HttpError(400, 'lockscope must be exclusive or shared');
  }
  if (!typeChild || !isDav(typeChild, 'write')) throw new HttpError(400, 'only write locks exist');
  const ownerEl = findDavChild(body, 'owner');
  return { scope: scopeChild.local as LockScope, owner: ownerEl ? serializeContent(ownerEl.children) : '' };
}
