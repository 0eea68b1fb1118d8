/**
 * The randomized workload of the convergence test: a seeded sequence of steps, each a few
 * WebDAV operations on random instances (create, overwrite, 1-byte edit, truncate, identical
 * rewrite, move/rename with and without Overwrite, delete, mkdir, recursive rmdir, folder
 * move) and now and then a fault (SIGTERM + restart, kill -9 + restart, a cut link, an
 * isolated instance). The step sequence depends only on the seed: paths come from a small
 * fixed namespace, so what an operation finds depends on timing, but which operation runs
 * does not. Every operation and its answer is logged; the sha256 of every body a PUT stored
 * (2xx) is remembered for the history check.
 */
import { request, type Reply } from './http.js';
import { davUrl, patternBytes, sha256 } from './http.js';
import type { ProxiedCluster } from './proxied-cluster.js';
import { Rng } from './rng.js';

export const DIRS = ['d0', 'd1', 'd2', 'd0/e0', 'd1/e1', 'd2/e2', 'd0/e0/g0'] as const;
const FILE_NAMES = ['f0.bin', 'f1.bin', 'f2.bin', 'f3.txt', 'f4.txt'];

export type Op =
  | { readonly k: 'put'; readonly inst: string; readonly path: string; readonly size: number; readonly content: string }
  | { readonly k: 'edit1'; readonly inst: string; readonly path: string; readonly at: number; readonly xor: number }
  | { readonly k: 'truncate'; readonly inst: string; readonly path: string; readonly keep: number }
  | { readonly k: 'same'; readonly inst: string; readonly path: string }
  | { readonly k: 'move'; readonly inst: string; readonly from: string; readonly to: string; readonly overwrite: boolean }
  | { readonly k: 'delete'; readonly inst: string; readonly path: string }
  | { readonly k: 'mkcol'; readonly inst: string; readonly path: string }
  | { readonly k: 'rmdir'; readonly inst: string; readonly path: string };

export type Fault =
  | { readonly k: 'stop'; readonly inst: string; readonly downSteps: number }
  | { readonly k: 'kill'; readonly inst: string; readonly downSteps: number }
  | { readonly k: 'cut'; readonly link: number; readonly steps: number }
  | { readonly k: 'isolate'; readonly inst: string; readonly steps: number };

export interface Step {
  readonly index: number;
  readonly faults: Fault[];
  /** Run concurrently (each on a different instance). */
  readonly ops: Op[];
  readonly sleepMs: number;
}

export const OP_WEIGHTS = { put: 30, edit1: 8, truncate: 5, same: 4, move: 10, movedir: 6, delete: 7, mkcol: 14, rmdir: 4 } as const;

/** Sizes: small (inline in the change), just over the inline limit (fetched), multi-block. */
function drawSize(rng: Rng): number {
  const kind = rng.weighted({ empty: 3, small: 50, medium: 22, multi: 25 });
  if (kind === 'empty') return 0;
  if (kind === 'small') return rng.int(1, 4096);
  if (kind === 'medium') return rng.int(65 * 1024, 120 * 1024);
  return rng.int(260 * 1024, 420 * 1024);
}

/** Folders: the root and top-level ones more often, so most operations find their parent. */
function dirPath(rng: Rng): string {
  const depth = rng.weighted({ top: 6, nested: 4 });
  return depth === 'top' ? rng.pick(DIRS.slice(0, 3)) : rng.pick(DIRS.slice(3));
}

function filePath(rng: Rng): string {
  const dir = rng.weighted({ root: 35, top: 40, nested: 25 });
  const name = rng.pick(FILE_NAMES);
  if (dir === 'root') return name;
  return `${dir === 'top' ? rng.pick(DIRS.slice(0, 3)) : rng.pick(DIRS.slice(3))}/${name}`;
}

function drawOp(rng: Rng, inst: string, seed: number, step: number, j: number): Op {
  switch (rng.weighted(OP_WEIGHTS)) {
    case 'put':
      return { k: 'put', inst, path: filePath(rng), size: drawSize(rng), content: `${seed}/${step}/${j}` };
    case 'edit1':
      return { k: 'edit1', inst, path: filePath(rng), at: rng.next(), xor: rng.int(1, 255) };
    case 'truncate':
      return { k: 'truncate', inst, path: filePath(rng), keep: rng.next() };
    case 'same':
      return { k: 'same', inst, path: filePath(rng) };
    case 'move':
      return { k: 'move', inst, from: filePath(rng), to: filePath(rng), overwrite: rng.chance(0.5) };
    case 'movedir':
      return { k: 'move', inst, from: dirPath(rng), to: dirPath(rng), overwrite: rng.chance(0.3) };
    case 'delete':
      return { k: 'delete', inst, path: filePath(rng) };
    case 'mkcol':
      return { k: 'mkcol', inst, path: dirPath(rng) };
    case 'rmdir':
      return { k: 'rmdir', inst, path: dirPath(rng) };
  }
}

export function describeOp(op: Op): string {
  switch (op.k) {
    case 'put':
      return `${op.inst} PUT ${op.path} (${op.size} B, content ${op.content})`;
    case 'edit1':
      return `${op.inst} EDIT1 ${op.path} (at ${op.at.toFixed(4)} xor ${op.xor})`;
    case 'truncate':
      return `${op.inst} TRUNCATE ${op.path} (keep ${op.keep.toFixed(4)})`;
    case 'same':
      return `${op.inst} SAME ${op.path}`;
    case 'move':
      return `${op.inst} MOVE ${op.from} -> ${op.to} (Overwrite ${op.overwrite ? 'T' : 'F'})`;
    case 'delete':
      return `${op.inst} DELETE ${op.path}`;
    case 'mkcol':
      return `${op.inst} MKCOL ${op.path}`;
    case 'rmdir':
      return `${op.inst} RMDIR ${op.path}`;
  }
}

export function describeFault(f: Fault, linkName: (i: number) => string): string {
  switch (f.k) {
    case 'stop':
      return `SIGTERM ${f.inst}${f.downSteps ? `, down for ${f.downSteps} steps` : ', restart at once'}`;
    case 'kill':
      return `kill -9 ${f.inst}${f.downSteps ? `, down for ${f.downSteps} steps` : ', restart at once'}`;
    case 'cut':
      return `cut link ${linkName(f.link)} for ${f.steps} steps`;
    case 'isolate':
      return `isolate ${f.inst} (cut all its links) for ${f.steps} steps`;
  }
}

export interface WorkloadStats {
  ops: number;
  skipped: number;
  ok: Record<string, number>;
  refused: Record<string, number>;
  faults: Record<string, number>;
  errors: number;
}

/**
 * Runs `steps` seeded steps against the cluster. Throws (with the log so far available in
 * `log`) if an instance exits on its own or a request fails at the transport level.
 */
export class Workload {
  readonly log: string[] = [];
  /** sha256 of every body a PUT stored (2xx) → the operation that stored it, and where. */
  readonly written = new Map<string, { readonly what: string; readonly inst: string }>();
  readonly stats: WorkloadStats = { ops: 0, skipped: 0, ok: {}, refused: {}, faults: {}, errors: 0 };
  private readonly rng: Rng;
  private readonly down = new Map<string, number>(); // instance → step at which it restarts
  private readonly cutUntil = new Map<number, number>(); // link index → step at which it heals
  private readonly names: string[];

  constructor(
    private readonly cluster: ProxiedCluster,
    readonly seed: number,
  ) {
    this.rng = new Rng(seed);
    this.names = [...cluster.members.keys()];
  }

  isDown(name: string): boolean {
    return this.down.has(name);
  }

  linkName(i: number): string {
    const l = this.cluster.links[i]!;
    return `${l.from}->${l.to}`;
  }

  /** Draws step `index` (faults first, then operations) from the seed and the fault state. */
  private drawStep(index: number): Step {
    const rng = this.rng;
    const faults: Fault[] = [];
    if (rng.chance(0.07)) {
      const up = this.names.filter((n) => !this.down.has(n));
      const kind = rng.weighted({ stop: 3, kill: 4, cut: 4, isolate: 2 });
      const inst = rng.pick(this.names);
      const downSteps = rng.chance(0.3) ? 0 : rng.int(2, 30);
      const steps = rng.int(2, 40);
      const link = rng.int(0, this.cluster.links.length - 1);
      // keep at least one instance up; a fault on a down instance is dropped
      if ((kind === 'stop' || kind === 'kill') && up.includes(inst) && up.length > 1) faults.push({ k: kind, inst, downSteps });
      else if (kind === 'cut') faults.push({ k: 'cut', link, steps });
      else if (kind === 'isolate') faults.push({ k: 'isolate', inst, steps });
    }
    const ops: Op[] = [];
    const burst = rng.chance(0.15) ? rng.int(2, this.names.length) : 1;
    const order = [...this.names];
    for (let j = 0; j < burst; j++) {
      const inst = order.splice(rng.int(0, order.length - 1), 1)[0]!;
      ops.push(drawOp(rng, inst, this.seed, index, j));
    }
    const sleepMs = rng.chance(0.1) ? rng.int(10, 400) : 0;
    return { index, faults, ops, sleepMs };
  }

  /** Runs steps [from, to). */
  async run(from: number, to: number): Promise<void> {
    for (let i = from; i < to; i++) {
      await this.recover(i);
      const step = this.drawStep(i);
      for (const f of step.faults) await this.fault(i, f);
      await Promise.all(step.ops.map((op, j) => this.op(`#${i}.${j}`, op)));
      if (step.sleepMs) {
        this.log.push(`#${i} sleep ${step.sleepMs} ms`);
        await new Promise((r) => setTimeout(r, step.sleepMs));
      }
      this.checkAlive(`after step #${i}`);
    }
  }

  /** Restores every link and starts every stopped instance. */
  async heal(): Promise<void> {
    for (const [i] of this.cutUntil) this.restoreLink(i, 'heal');
    for (const name of [...this.down.keys()]) await this.restart(name, 'heal');
  }

  private async recover(step: number): Promise<void> {
    for (const [i, until] of [...this.cutUntil]) if (until <= step) this.restoreLink(i, `#${step}`);
    for (const [name, until] of [...this.down]) if (until <= step) await this.restart(name, `#${step}`);
  }

  private restoreLink(i: number, when: string): void {
    this.cluster.links[i]!.proxy.restore();
    this.cutUntil.delete(i);
    this.log.push(`${when} restore link ${this.linkName(i)}`);
  }

  /** Warnings and errors each instance logged, across its restarts (pino lines, level >= 40). */
  readonly warnings = new Map<string, string[]>();

  /** Keeps the warnings of a member's current process (call before it is started again, and at the end). */
  collectWarnings(name: string): void {
    const lines = this.cluster.get(name).marble.stderr().split('\n').filter((l) => /"level":[456]0/.test(l));
    this.warnings.set(name, [...(this.warnings.get(name) ?? []), ...lines]);
  }

  private async restart(name: string, when: string): Promise<void> {
    this.collectWarnings(name);
    this.down.delete(name);
    const t0 = Date.now();
    await this.cluster.start(name);
    this.log.push(`${when} start ${name} (${Date.now() - t0} ms)`);
  }

  private async fault(step: number, f: Fault): Promise<void> {
    this.stats.faults[f.k] = (this.stats.faults[f.k] ?? 0) + 1;
    this.log.push(`#${step} FAULT ${describeFault(f, (i) => this.linkName(i))}`);
    if (f.k === 'stop' || f.k === 'kill') {
      const m = this.cluster.get(f.inst);
      const exit = f.k === 'stop' ? await m.marble.stop() : await m.marble.kill();
      if (f.k === 'stop' && exit.code !== 0) {
        throw new Error(`${f.inst} did not exit cleanly on SIGTERM (code ${exit.code}, signal ${exit.signal})\n${m.marble.stderr().slice(-4000)}`);
      }
      if (f.downSteps === 0) await this.restart(f.inst, `#${step}`);
      else this.down.set(f.inst, step + f.downSteps);
      return;
    }
    const steps = f.steps;
    const links = f.k === 'cut' ? [f.link] : this.cluster.links.map((l, i) => (l.from === f.inst || l.to === f.inst ? i : -1)).filter((i) => i >= 0);
    for (const i of links) {
      this.cluster.links[i]!.proxy.cut();
      this.cutUntil.set(i, Math.max(this.cutUntil.get(i) ?? 0, step + steps));
    }
  }

  private checkAlive(when: string): void {
    for (const m of this.cluster.members.values()) {
      if (!this.down.has(m.name) && !m.marble.alive()) {
        throw new Error(`${m.name} exited on its own (${when})\n--- stderr tail ---\n${m.marble.stderr().slice(-6000)}`);
      }
    }
  }

  private url(inst: string, p: string): string {
    return davUrl(this.cluster.get(inst).marble.webdav, p);
  }

  private async send(inst: string, method: string, p: string, opts: { body?: Buffer; headers?: Record<string, string>; maxBody?: number } = {}): Promise<Reply> {
    return request(this.url(inst, p), { method, body: opts.body, headers: opts.headers, maxBody: opts.maxBody ?? 4096, timeoutMs: 30_000 });
  }

  private count(kind: string, status: number): void {
    const bucket = status >= 200 && status < 300 ? this.stats.ok : this.stats.refused;
    bucket[kind] = (bucket[kind] ?? 0) + 1;
  }

  private async put(label: string, op: Op, p: string, body: Buffer): Promise<number> {
    const r = await this.send(op.inst, 'PUT', p, { body });
    if (r.status >= 200 && r.status < 300) {
      const digest = sha256(body);
      if (!this.written.has(digest)) this.written.set(digest, { what: `${label} ${describeOp(op)}`, inst: op.inst });
    }
    return r.status;
  }

  private async op(label: string, op: Op): Promise<void> {
    this.stats.ops++;
    if (this.down.has(op.inst)) {
      this.stats.skipped++;
      this.log.push(`${label} ${describeOp(op)} -> skipped (down)`);
      return;
    }
    let outcome: string;
    try {
      outcome = await this.perform(label, op);
    } catch (e) {
      this.stats.errors++;
      this.checkAlive(`during ${label} ${describeOp(op)}`);
      throw new Error(`${label} ${describeOp(op)}: ${(e as Error).message}`);
    }
    this.log.push(`${label} ${describeOp(op)} -> ${outcome}`);
  }

  private async perform(label: string, op: Op): Promise<string> {
    switch (op.k) {
      case 'put': {
        const status = await this.put(label, op, op.path, await patternBytes(op.size, op.content));
        this.count(op.k, status);
        return String(status);
      }
      case 'edit1':
      case 'truncate':
      case 'same': {
        const got = await this.send(op.inst, 'GET', op.path, { maxBody: 64 << 20 });
        if (got.status !== 200) {
          this.count(op.k, got.status);
          return `GET ${got.status}`;
        }
        let body = Buffer.from(got.body);
        if (op.k === 'edit1') {
          if (!body.length) {
            this.count(op.k, 409);
            return 'GET 200 (empty: nothing to edit)';
          }
          const at = Math.floor(op.at * body.length);
          body[at] = body[at]! ^ op.xor;
        } else if (op.k === 'truncate') body = body.subarray(0, Math.floor(op.keep * body.length));
        const status = await this.put(label, op, op.path, body);
        this.count(op.k, status);
        return `GET 200 (${got.body.length} B) PUT ${body.length} B -> ${status}`;
      }
      case 'move': {
        const r = await this.send(op.inst, 'MOVE', op.from, {
          headers: { Destination: this.url(op.inst, op.to), Overwrite: op.overwrite ? 'T' : 'F' },
        });
        this.count(DIRS.includes(op.from as (typeof DIRS)[number]) ? 'movedir' : 'move', r.status);
        return String(r.status);
      }
      case 'delete':
      case 'rmdir': {
        const r = await this.send(op.inst, 'DELETE', op.path, { headers: { Depth: 'infinity' } });
        this.count(op.k, r.status);
        return String(r.status);
      }
      case 'mkcol': {
        const r = await this.send(op.inst, 'MKCOL', op.path);
        this.count(op.k, r.status);
        return String(r.status);
      }
    }
  }
}
