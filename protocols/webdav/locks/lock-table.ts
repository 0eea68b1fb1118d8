import { randomUUID } from 'node:crypto';
import { isWithin, parentOf } from '../http/paths.js';

/**
 * WebDAV write locks (RFC 4918 §6–7), kept in memory: locks are advisory for this
 * instance's WebDAV clients and do not survive a restart (clients re-lock, as with Apache
 * when its lock database is lost). Expired locks vanish lazily on lookup.
 */
export type LockScope = 'exclusive' | 'shared';

export interface ActiveLock {
  readonly token: string;
  /** View path of the locked resource (the lock root). */
  readonly root: string;
  readonly depth: 0 | 'infinity';
  readonly scope: LockScope;
  /** The DAV:owner content as a self-contained XML fragment ('' if none). */
  readonly owner: string;
  /** Authenticated user who took it, null without authentication. */
  readonly user: string | null;
  timeoutSeconds: number;
  expiresAt: number;
}

export class LockTable {
  private readonly byToken = new Map<string, ActiveLock>();
  private readonly byRoot = new Map<string, ActiveLock[]>();

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.byToken.size;
  }

  /** Locks whose scope includes `path`: on it, or depth-infinity locks on an ancestor. */
  covering(path: string): ActiveLock[] {
    if (this.byToken.size === 0) return [];
    const out: ActiveLock[] = [];
    let p = path;
    for (let self = true; ; self = false) {
      for (const l of this.live(this.byRoot.get(p))) if (self || l.depth === 'infinity') out.push(l);
      if (p === '/') break;
      p = parentOf(p);
    }
    return out;
  }

  /** Locks rooted at `path` or anywhere below it. */
  within(path: string): ActiveLock[] {
    if (this.byToken.size === 0) return [];
    const out: ActiveLock[] = [];
    for (const l of [...this.byToken.values()]) if (this.alive(l) && isWithin(l.root, path)) out.push(l);
    return out;
  }

  get(token: string): ActiveLock | undefined {
    const l = this.byToken.get(token);
    return l && this.alive(l) ? l : undefined;
  }

  add(spec: Omit<ActiveLock, 'token' | 'expiresAt'>): ActiveLock {
    const lock: ActiveLock = {
      ...spec,
      token: `opaquelocktoken:${randomUUID()}`,
      expiresAt: this.now() + spec.timeoutSeconds * 1000,
    };
    this.byToken.set(lock.token, lock);
    const list = this.byRoot.get(lock.root);
    if (list) list.push(lock);
    else this.byRoot.set(lock.root, [lock]);
    return lock;
  }

  refresh(lock: ActiveLock, timeoutSeconds: number): void {
    lock.timeoutSeconds = timeoutSeconds;
    lock.expiresAt = this.now() + timeoutSeconds * 1000;
  }

  remove(token: string): boolean {
    const lock = this.byToken.get(token);
    if (!lock) return false;
    this.byToken.delete(token);
    const list = this.byRoot.get(lock.root)?.filter((l) => l !== lock) ?? [];
    if (list.length) this.byRoot.set(lock.root, list);
    else this.byRoot.delete(lock.root);
    return true;
  }

  /** Drops every lock rooted at or below `path` (after DELETE, or on the source of a MOVE). */
  removeWithin(path: string): void {
    for (const l of this.within(path)) this.remove(l.token);
  }

  /** Seconds left, for the DAV:timeout element. */
  secondsLeft(lock: ActiveLock): number {
    return Math.max(0, Math.ceil((lock.expiresAt - this.now()) / 1000));
  }

  private alive(l: ActiveLock): boolean {
    if (l.expiresAt > this.now()) return true;
    this.remove(l.token);
    return false;
  }

  private live(list: ActiveLock[] | undefined): ActiveLock[] {
    if (!list) return [];
    return list.filter((l) => this.alive(l));
  }
}
