/**
 * What the convergence test compares once a cluster is quiescent: each instance's tree as
 * WebDAV shows it (main view and every /.splits/<instance>/ tree, with file sizes and
 * sha256s), and, with the instance stopped, its database and blobs read directly (heads,
 * change ids, the sha256 of every blob, and whether every blob matches its recorded block
 * hashes).
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { davUrl, request, expectStatus } from './http.js';

const BLOCK_SIZE = 128 * 1024;

// ---------------------------------------------------------------------------------------------
// WebDAV snapshots

export type Node = { readonly dir: true } | { readonly dir: false; readonly size: number; readonly sha256: string; readonly status: number };
/** Path relative to the tree's root ('d0/f1.bin') → what is there. */
export type TreeSnap = Map<string, Node>;

export interface DavSnapshot {
  readonly main: TreeSnap;
  /** Instance name under /.splits/ → that split tree. */
  readonly splits: Map<string, TreeSnap>;
}

const PROPFIND_BODY =
  '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontentlength/></D:prop></D:propfind>';

interface Listed {
  readonly name: string;
  readonly dir: boolean;
  readonly size: number;
}

/** The children of a collection (PROPFIND Depth 1), by name. */
async function listDir(url: string): Promise<Listed[]> {
  const r = await expectStatus(
    `PROPFIND ${url}`,
    request(url, { method: 'PROPFIND', headers: { Depth: '1', 'Content-Type': 'application/xml' }, body: PROPFIND_BODY, maxBody: 64 << 20 }),
    207,
  );
  const self = decodeURIComponent(new URL(url).pathname).replace(/\/$/, '');
  const out: Listed[] = [];
  for (const m of r.body.toString('utf8').matchAll(/<(?:[\w.-]+:)?response\b[^>]*>([\s\S]*?)<\/(?:[\w.-]+:)?response>/g)) {
    const inner = m[1]!;
    const h = /<(?:[\w.-]+:)?href\b[^>]*>([\s\S]*?)<\/(?:[\w.-]+:)?href>/.exec(inner);
    if (!h) continue;
    const href = h[1]!.trim().replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>');
    const p = decodeURIComponent(new URL(href, 'http://x').pathname).replace(/\/$/, '');
    if (p === self) continue;
    const len = /<(?:[\w.-]+:)?getcontentlength\b[^>]*>\s*(\d+)\s*</.exec(inner);
    out.push({ name: p.slice(p.lastIndexOf('/') + 1), dir: /<(?:[\w.-]+:)?collection\s*\/>/.test(inner), size: len ? Number(len[1]) : 0 });
  }
  return out;
}

/** Every file and folder below `base` (a collection URL ending in '/'), each file read whole. */
export async function treeSnapshot(base: string, skipAtRoot: ReadonlySet<string> = new Set()): Promise<TreeSnap> {
  const snap: TreeSnap = new Map();
  const walk = async (rel: string): Promise<void> => {
    const url = rel ? davUrl(base, rel) + '/' : base;
    for (const e of await listDir(url)) {
      if (!rel && skipAtRoot.has(e.name)) continue;
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.dir) {
        snap.set(p, { dir: true });
        await walk(p);
      } else {
        const g = await request(davUrl(base, p), { maxBody: 0 });
        snap.set(p, { dir: false, size: g.bodyBytes, sha256: g.sha256, status: g.status });
        if (g.status === 200 && g.bodyBytes !== e.size) snap.set(p, { dir: false, size: -e.size, sha256: g.sha256, status: g.status });
      }
    }
  };
  await walk('');
  return snap;
}

/** The main view (without /.history and /.splits) and every split tree of one instance. */
export async function davSnapshot(webdav: string): Promise<DavSnapshot> {
  const main = await treeSnapshot(webdav, new Set(['.history', '.splits']));
  const splits = new Map<string, TreeSnap>();
  for (const e of await listDir(davUrl(webdav, '.splits') + '/')) {
    if (e.dir) splits.set(e.name, await treeSnapshot(davUrl(webdav, '.splits', e.name) + '/'));
  }
  return { main, splits };
}

export function describeNode(n: Node | undefined): string {
  if (!n) return 'absent';
  if (n.dir) return 'dir';
  return n.status === 200 ? `${n.size} B ${n.sha256.slice(0, 12)}${n.size < 0 ? ' (PROPFIND size differs)' : ''}` : `HTTP ${n.status}`;
}

/** Paths where two trees differ (either side absent counts), sorted. */
export function treeDiff(a: TreeSnap, b: TreeSnap): string[] {
  const out: string[] = [];
  for (const p of new Set([...a.keys(), ...b.keys()])) {
    const x = describeNode(a.get(p));
    const y = describeNode(b.get(p));
    if (x !== y) out.push(p);
  }
  return out.sort();
}

// ---------------------------------------------------------------------------------------------
// databases

export interface HeadRow {
  readonly node_id: string;
  readonly change_id: string;
  readonly deleted: number;
  readonly name: string;
  readonly parent_dir: string;
  readonly is_dir: number;
  readonly size: number;
  readonly content_change: string | null;
  readonly pending: number;
  readonly data_id: number | null;
}

export interface DbSnapshot {
  readonly heads: HeadRow[];
  /** Each head as one comparable line (local data ids left out). */
  readonly headLines: string[];
  readonly changeIds: string[];
  /** sha256 of every blob a data row names → the data ids holding it. */
  readonly blobShas: Map<string, number[]>;
  /** sha256 of the blob of each data id. */
  readonly shaOfData: Map<number, string>;
  /** sha256 of every blob → the changes whose content it was made for (data.change_id). */
  readonly changesOfSha: Map<string, string[]>;
  /** Changes this instance holds content for (a data row names them). */
  readonly changesWithData: Set<string>;
  readonly missing: number;
  /** Blobs absent, of the wrong size, or not matching their recorded block hashes. */
  readonly problems: string[];
  /** node id → the names its heads have (for reports). */
  readonly instanceNames: Map<string, string>;
}

export function headLine(h: HeadRow): string {
  return `${h.node_id} ${h.change_id} deleted=${h.deleted} dir=${h.is_dir} ${JSON.stringify(h.name)} in ${h.parent_dir} size=${h.size} content=${h.content_change}`;
}

/** Reads a stopped instance's database (read-only) and hashes its blobs. */
export function dbSnapshot(dataDir: string): DbSnapshot {
  const db = new Database(path.join(dataDir, 'marble.db'), { readonly: true, fileMustExist: true });
  try {
    const heads = db
      .prepare('SELECT node_id, change_id, deleted, name, parent_dir, is_dir, size, content_change, pending, data_id FROM heads ORDER BY node_id, change_id')
      .all() as HeadRow[];
    const changeIds = (db.prepare('SELECT id FROM changes ORDER BY id').all() as Array<{ id: string }>).map((r) => r.id);
    const missing = (db.prepare('SELECT count(*) AS n FROM missing').get() as { n: number }).n;
    const instanceNames = new Map((db.prepare('SELECT id, name FROM instances').all() as Array<{ id: string; name: string }>).map((r) => [r.id, r.name]));
    const blobShas = new Map<string, number[]>();
    const changesOfSha = new Map<string, string[]>();
    const changesWithData = new Set<string>();
    const shaOfData = new Map<number, string>();
    const problems: string[] = [];
    type DataRow = { id: number; change_id: string; size: number; hashes: Buffer; content: Buffer | null };
    for (const d of db.prepare('SELECT id, change_id, size, hashes, content FROM data').all() as DataRow[]) {
      const file = path.join(dataDir, 'blobs', (d.id & 0xff).toString(16).padStart(2, '0'), String(d.id));
      changesWithData.add(d.change_id);
      let bytes: Buffer;
      try {
        bytes = d.content ?? readFileSync(file); // resident content lives in the row
      } catch (e) {
        problems.push(`data ${d.id} (change ${d.change_id}): blob unreadable: ${(e as Error).message}`);
        continue;
      }
      if (bytes.length !== d.size) problems.push(`data ${d.id} (change ${d.change_id}): blob has ${bytes.length} bytes, row says ${d.size}`);
      const blocks: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += BLOCK_SIZE) blocks.push(createHash('sha256').update(bytes.subarray(at, at + BLOCK_SIZE)).digest());
      if (!Buffer.concat(blocks).equals(d.hashes)) problems.push(`data ${d.id} (change ${d.change_id}): blob does not match its recorded block hashes`);
      const sha = createHash('sha256').update(bytes).digest('hex');
      shaOfData.set(d.id, sha);
      blobShas.set(sha, [...(blobShas.get(sha) ?? []), d.id]);
      changesOfSha.set(sha, [...(changesOfSha.get(sha) ?? []), d.change_id]);
      changesWithData.add(d.change_id);
    }
    return { heads, headLines: heads.map(headLine), changeIds, blobShas, shaOfData, changesOfSha, changesWithData, missing, problems, instanceNames };
  } finally {
    db.close();
  }
}

/** Lines only in a, only in b (each list capped). */
export function lineDiff(a: readonly string[], b: readonly string[], cap = 20): { onlyA: string[]; onlyB: string[] } {
  const sa = new Set(a);
  const sb = new Set(b);
  return { onlyA: a.filter((x) => !sb.has(x)).slice(0, cap), onlyB: b.filter((x) => !sa.has(x)).slice(0, cap) };
}
