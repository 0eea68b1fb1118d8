import { Counter, Histogram, type Registry } from 'prom-client';

export interface RequestHooks {
  /** protocols/webdav's onRequest hook. */
  readonly onWebDavRequest: (method: string, status: number, seconds: number) => void;
  /** protocols/nfs's onCall hook. */
  readonly onNfsCall: (procedure: string, status: string, seconds: number) => void;
}

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Methods counted by name; anything else a client invents is counted as OTHER (bounded labels). */
const WEBDAV_METHODS = new Set(['OPTIONS', 'GET', 'HEAD', 'PUT', 'DELETE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'POST']);

/** WebDAV and NFS requests by method/procedure and status, with latency histograms. */
export function registerRequestMetrics(registry: Registry): RequestHooks {
  const dav = requestMetrics(registry, 'webdav', 'method', 'WebDAV requests answered, by method and HTTP status', 'WebDAV request latency, by method (until the response finished)');
  const nfs = requestMetrics(registry, 'nfs', 'procedure', 'NFS v3 calls answered, by procedure and status (nfsstat3, or the RPC outcome)', 'NFS v3 call latency, by procedure');
  return {
    onWebDavRequest: (method, status, seconds) => dav(WEBDAV_METHODS.has(method) ? method : 'OTHER', String(status), seconds),
    onNfsCall: nfs,
  };
}

/** marble_<what>_requests_total{<label>, status} and marble_<what>_request_duration_seconds{<label>}; returns the recorder. */
function requestMetrics(registry: Registry, what: string, label: string, countHelp: string, latencyHelp: string): (name: string, status: string, seconds: number) => void {
  const registers = [registry];
  const count = new Counter({ name: `marble_${what}_requests_total`, help: countHelp, labelNames: [label, 'status'], registers });
  const latency = new Histogram({ name: `marble_${what}_request_duration_seconds`, help: latencyHelp, labelNames: [label], buckets: BUCKETS, registers });
  // Label sets are few and bounded: each pair's children are looked up once, not per request
  // (prom-client hashes the label object on every inc/observe otherwise).
  const children = new Map<string, { count: { inc(): void }; latency: { observe(v: number): void } }>();
  return (name, status, seconds) => {
    const key = `${name} ${status}`;
    let c = children.get(key);
    if (!c) {
      c = { count: count.labels({ [label]: name, status }), latency: latency.labels({ [label]: name }) };
      children.set(key, c);
    }
    c.count.inc();
    c.latency.observe(seconds);
  };
}
