/**
 * A cluster like startCluster (cluster.ts), but every peer link runs through a LinkProxy so
 * a test can partition two running instances (cut) and heal them (restore). HTTP ports are
 * fixed per instance and the proxies forward to them, so a restarted instance is found again.
 */
import { initMembers, type Cluster, type Member } from './cluster.js';
import { startLinkProxy, type LinkProxy } from './link-proxy.js';
import { startMarble, type Teardown } from './marble.js';

export interface Link {
  /** The instance that dials. */
  readonly from: string;
  readonly to: string;
  readonly proxy: LinkProxy;
}

export interface ProxiedCluster extends Cluster {
  readonly root: string;
  readonly links: readonly Link[];
  /** Links each member is an end of. */
  linksOf(name: string): Link[];
}

/** links: [dialer, target] pairs; extra: arguments every `marble serve` gets. */
export async function startProxiedCluster(
  t: Teardown,
  names: string[],
  linkPairs: Array<[string, string]>,
  extra: string[] = [],
): Promise<ProxiedCluster> {
  const { root, members } = await initMembers(t, names, 'marble-convergence-');
  const links: Link[] = [];
  for (const [from, to] of linkPairs) links.push({ from, to, proxy: await startLinkProxy(t, members.get(to)!.httpPort) });
  const argsOf = (m: Member) => {
    const args = ['--http', `127.0.0.1:${m.httpPort}`, ...extra];
    for (const other of members.values()) if (other !== m) args.push('--trust', other.fingerprint);
    for (const l of links) if (l.from === m.name) args.push('--peer', `ws://127.0.0.1:${l.proxy.port}/peer`);
    return args;
  };
  const cluster: ProxiedCluster = {
    root,
    members,
    links,
    linksOf: (name) => links.filter((l) => l.from === name || l.to === name),
    get: (name) => members.get(name)!,
    async start(name) {
      const m = members.get(name)!;
      m.marble = await startMarble(t, { data: m.data, name, args: argsOf(m) });
      return m;
    },
    async stop(name) {
      await members.get(name)!.marble.stop();
    },
    async kill(name) {
      await members.get(name)!.marble.kill();
    },
  };
  for (const name of names) await cluster.start(name);
  return cluster;
}
