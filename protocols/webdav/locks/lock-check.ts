import type { DavContext } from '../dav-context.js';
import { HttpError } from '../errors.js';
import { etagOf, evaluatePreconditions } from '../http/conditional.js';
import { parseIfHeader, submittedTokens, type IfList } from '../http/if-header.js';
import { hrefOf, isWithin } from '../http/paths.js';
import { escapeXml } from '../xml/xml-write.js';
import type { ActiveLock } from './lock-table.js';
import { headerOf } from '../http/header.js';

/**
 * What a modifying request touches, for the lock check:
 *  - 'resource': the resource itself (locks on it or depth-infinity locks above it);
 *  - 'tree': the resource and everything below (DELETE, MOVE source, COPY/MOVE over a folder);
 *  - 'members': the member list of a folder (creating or removing a child), which even a
 *    depth-0 lock on that folder protects.
 */
export interface LockScopeCheck {
  readonly path: string;
  readonly kind: 'resource' | 'tree' | 'members';
}

/** Parses the If header, or null without one. */
export function ifListsOf(ctx: DavContext): IfList[] | null {
  const h = headerOf(ctx.req, 'if');
  return h === undefined ? null : parseIfHeader(h);
}

function lockCovers(lock: ActiveLock, path: string): boolean {
  return lock.root === path || (lock.depth === 'infinity' && isWithin(path, lock.root));
}

/** If-Match, If-None-Match, If-Unmodified-Since on the request target (RFC 9110 §13): 412. */
export async function checkHttpPreconditions(ctx: DavContext): Promise<void> {
  const h = ctx.req.headers;
  if (h['if-match'] === undefined && h['if-none-match'] === undefined && h['if-unmodified-since'] === undefined) return;
  const entry = await ctx.state.statOrNull(ctx.path);
  if (evaluatePreconditions(ctx.req, entry) !== 'proceed') throw new HttpError(412, 'precondition failed (If-Match / If-None-Match / If-Unmodified-Since)');
}

/**
 * RFC 4918 §10.4: true if at least one list holds. A token in an untagged list also counts
 * for the other resources the request touches (`touched`, e.g. the parent folder whose
 * depth-0 lock guards a new member), as mod_dav does: clients send untagged lists.
 */
export async function evaluateIf(ctx: DavContext, lists: readonly IfList[], touched: readonly string[] = []): Promise<boolean> {
  for (const list of lists) {
    const resource = list.resource ?? ctx.path;
    let holds = true;
    for (const c of list.conditions) {
      let met: boolean;
      if (c.kind === 'token') {
        const lock = ctx.services.locks.get(c.value);
        met =
          lock !== undefined &&
          (lockCovers(lock, resource) || (list.resource === null && touched.some((p) => lockCovers(lock, p))));
      } else {
        const entry = await ctx.state.statOrNull(resource);
        met = entry !== null && etagOf(entry) === c.value.replace(/^W\//, '');
      }
      if (met === c.not) {
        holds = false;
        break;
      }
    }
    if (holds) return true;
  }
  return false;
}

/**
 * True if checkIfAndLocks could refuse this request: a lock exists somewhere, or the request
 * carries an If header or an HTTP precondition. False means the check can be skipped.
 */
export function hasConditions(ctx: DavContext): boolean {
  const h = ctx.req.headers;
  return (
    ctx.services.locks.size > 0 ||
    h['if'] !== undefined ||
    h['if-match'] !== undefined ||
    h['if-none-match'] !== undefined ||
    h['if-unmodified-since'] !== undefined
  );
}

/**
 * Checks the If header (412 if it fails) and that every lock on what the request touches has
 * its token submitted by its owner (423 otherwise). Call before changing anything.
 */
export async function checkIfAndLocks(ctx: DavContext, scopes: readonly LockScopeCheck[]): Promise<void> {
  await checkHttpPreconditions(ctx);
  const lists = ifListsOf(ctx);
  if (lists && !(await evaluateIf(ctx, lists, scopes.map((s) => s.path)))) throw new HttpError(412, 'If header condition failed');
  const locks = ctx.services.locks;
  if (locks.size === 0) return;
  const submitted = lists ? submittedTokens(lists) : new Set<string>();
  for (const scope of scopes) {
    const relevant =
      scope.kind === 'tree' ? [...locks.covering(scope.path), ...locks.within(scope.path)] : locks.covering(scope.path);
    for (const lock of relevant) {
      const ownsIt = submitted.has(lock.token) && (lock.user === null || lock.user === ctx.user);
      if (!ownsIt) throw lockedError(lock);
    }
  }
}

export function lockedError(lock: ActiveLock): HttpError {
  return new HttpError(
    423,
    'resource is locked',
    {},
    `<D:error xmlns:D="DAV:"><D:lock-token-submitted><D:href>${escapeXml(hrefOf(lock.root, false))}</D:href></D:lock-token-submitted></D:error>`,
  );
}
