import type { FileSystemView } from '../../src/fs/types.js';

export interface Logger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
  error(o: object, msg?: string): void;
}

export interface WebDavOptions {
  view: FileSystemView;
  host: string;
  port: number;
  /** user name -> secret (see auth/users.ts for the format); null or absent: no authentication. */
  users?: ReadonlyMap<string, string> | null;
  /** Allow Basic authentication over plain HTTP on a non-loopback address. */
  allowInsecureAuth?: boolean;
  tls?: { key: Buffer; cert: Buffer };
  logger?: Logger;
  /** Metrics hook: called once per finished (or aborted) request. */
  onRequest?: (method: string, status: number, seconds: number) => void;
  /** Cap on XML request bodies in bytes (default 1 MiB). */
  maxXmlBytes?: number;
}

export const DEFAULT_MAX_XML_BYTES = 1024 * 1024;

export const silentLogger: Logger = {
  info() {},
  warn() {},
  error(o, msg) {
    process.stderr.write(JSON.stringify({ level: 'error', msg, ...o }) + '\n');
  },
};
