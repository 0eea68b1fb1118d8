/**
 * Several real `marble serve` processes replicating over loopback: each knows the others'
 * fingerprints, and instance i dials the ones `links` says. HTTP ports are fixed per
 * instance so a restarted instance is found again by the peers that dial it.
 */
import path from 'node:path';
import { freePort, runMarbleCli, startMarble, tempDir, type Marble, type Teardown } from './marble.js';
import { request, type Reply } from './http.js';

export interface Member {
  readonly name: string;
  readonly data: string;
  readonly id: string;
  readonly fingerprint: string;
  httpPort: number;
  marble: Marble;
}

export interface Cluster {
  readonly members: Map<string, Member>;
  get(name: string): Member;
  /** Starts (again) a member that is stopped. */
  start(name: string): Promise<Member>;
  stop(name: string): Promise<void>;
  kill(name: string): Promise<void>;
}

/**
 * `marble init` for each name in a fresh temp root, with a fixed HTTP port each; the
 * members are not started yet.
 */
export async function initMembers(t: Teardown, names: string[], prefix: string): Promise<{ root: string; members: Map<string, Member> }> {
  const root = await tempDir(t, prefix);
  const members = new Map<string, Member>();
  for (const name of names) {
    const data = path.join(root, name);
    const { stdout } = await runMarbleCli(['init', '--data', data, '--name', name]);
    const id = /^id: (\S+)$/m.exec(stdout)![1]!;
    const fingerprint = /^fingerprint: (\S+)$/m.exec(stdout)![1]!;
    members.set(name, { name, data, id, fingerprint, httpPort: await freePort(), marble: null as unknown as Marble });
  }
  return { root, members };
}

/** links: [dialer, target] pairs, e.g. [['b', 'a'], ['c', 'b']] for the chain a–b–c. */
export async function startCluster(t: Teardown, names: string[], links: Array<[string, string]>, extra: string[] = [], scheme: 'ws' | 'wss' = 'ws'): Promise<Cluster> {
  const { members } = await initMembers(t, names, 'marble-cluster-');
  const started = new Set<string>();
  const argsOf = (m: Member) => {
    const args = ['--http', `127.0.0.1:${m.httpPort}`, ...extra];
    for (const other of members.values()) if (other !== m) args.push('--trust', other.fingerprint);
    for (const [from, to] of links) if (from === m.name) args.push('--peer', `${scheme}://127.0.0.1:${members.get(to)!.httpPort}/peer`);
    return args;
  };
  const cluster: Cluster = {
    members,
    get: (name) => members.get(name)!,
    async start(name) {
      const m = members.get(name)!;
      for (let attempt = 0; ; attempt++) {
        try {
          m.marble = await startMarble(t, { data: m.data, name, args: argsOf(m) });
          return m;
        } catch (e) {
          // Another test took the port between freePort() and the bind: take another, unless a
          // peer already knows this one (a restart must keep its address).
          if (attempt >= 3 || started.has(name) || !/EADDRINUSE/.test((e as Error).message)) throw e;
          m.httpPort = await freePort();
        }
      }
    },
    async stop(name) {
      await members.get(name)!.marble.stop();
    },
    async kill(name) {
      await members.get(name)!.marble.kill();
    },
  };
  for (const name of names) {
    await cluster.start(name);
    started.add(name);
  }
  return cluster;
}

/** Polls `check` every `everyMs` until it returns true, or fails after `timeoutMs` with `what`. */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 60_000, everyMs = 20): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not true after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function get(m: Member, p: string): Promise<Reply> {
  return request(m.marble.webdav + p.replace(/^\//, '').split('/').map(encodeURIComponent).join('/'), { maxBody: 64 << 20 });
}

export async function status(m: Member): Promise<Record<string, unknown>> {
  const r = await request(`${m.marble.http}api/status`);
  return JSON.parse(r.body.toString()) as Record<string, unknown>;
}
