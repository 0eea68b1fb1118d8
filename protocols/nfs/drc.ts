import type { RpcHandlerResult } from './rpc/dispatcher.js';

/**
 * Duplicate-request cache for non-idempotent calls (CREATE, REMOVE, RENAME…): a client
 * that did not get our reply retransmits the same xid, and must get the same answer,
 * not a fresh NFS3ERR_NOENT from repeating a REMOVE that already happened.
 *
 * Keyed by (client address, xid, procedure). A retransmission that arrives while the
 * first call still runs waits for it. At most `maxEntries` replies are kept, each for
 * at most `ttlMs`; the oldest go first. Result bodies are pure functions of values the
 * handler copied out of the request, so writing one twice is safe.
 */
export class DuplicateRequestCache {
  private readonly entries = new Map<string, { at: number; result: Promise<RpcHandlerResult> }>();
  hits = 0;

  constructor(
    private readonly maxEntries = 4096,
    private readonly ttlMs = 120_000,
  ) {}

  run(address: string, xid: number, proc: number, execute: () => Promise<RpcHandlerResult>): Promise<RpcHandlerResult> {
    const key = `${address}|${xid}|${proc}`;
    const now = Date.now();
    const have = this.entries.get(key);
    if (have && now - have.at < this.ttlMs) {
      this.hits++;
      return have.result;
    }
    const result = execute();
    this.entries.delete(key);
    this.entries.set(key, { at: now, result });
    // A call that failed outright (SYSTEM_ERR) may be retried for real.
    result.catch(() => this.entries.delete(key));
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return result;
  }

  get size(): number {
    return this.entries.size;
  }
}
