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
  const registers = [registry];
  const davRequests = new Counter({
    name: 'marble_webdav_requests_total',
    help: 'WebDAV requests answered, by method and HTTP status',
    labelNames: ['method', 'status'] as const,
    registers,
  });
  const davSeconds = new Histogram({
    name: 'marble_webdav_request_duration_seconds',
    help: 'WebDAV request latency, by method (until the response finished)',
    labelNames: ['method'] as const,
    buckets: BUCKETS,
    registers,
  });
  const nfsRequests = new Counter({
    name: 'marble_nfs_requests_total',
    help: 'NFS v3 calls answered, by procedure and status (nfsstat3, or the RPC outcome)',
    labelNames: ['procedure', 'status'] as const,
    registers,
  });
  const nfsSeconds = new Histogram({
    name: 'marble_nfs_request_duration_seconds',
    help: 'NFS v3 call latency, by procedure',
    labelNames: ['procedure'] as const,
    buckets: BUCKETS,
    registers,
  });
  return {
    onWebDavRequest(method, status, seconds) {
      const m = WEBDAV_METHODS.has(method) ? method : 'OTHER';
      davRequests.inc({ method: m, status: String(status) });
      davSeconds.observe({ method: m }, seconds);
    },
    onNfsCall(procedure, status, seconds) {
      nfsRequests.inc({ procedure, status });
      nfsSeconds.observe({ procedure }, seconds);
    },
  };
}
