import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { normalizeFingerprint } from '../core/keys.js';

/** host:port to listen on. */
export interface Listen {
  readonly host: string;
  readonly port: number;
}

export interface Settings {
  readonly data: string;
  readonly name: string | undefined;
  readonly webdav: Listen;
  readonly http: Listen;
  readonly users: string | undefined;
  /** Bearer token for the HTTP API when it listens beyond loopback. */
  readonly apiToken: string | undefined;
  readonly allowInsecureAuth: boolean;
  readonly historyKeep: number | undefined;
  readonly logLevel: string;
  /** NFS v3 + MOUNT listen address. */
  readonly nfs: Listen;
  /** NFS clients served (addresses, CIDRs); empty: loopback only. */
  readonly nfsAllow: readonly string[];
  /** Also run a portmapper on port 111 (Windows NFS clients need one). */
  readonly portmap: boolean;
  /** Peer endpoints to keep connected to (ws://host:port/peer). */
  readonly peers: readonly string[];
  /** Key fingerprints of trusted peers. */
  readonly trust: readonly string[];
  /** One-time invite secrets to present, by peer URL (config file only; written by marble join). */
  readonly invites: Readonly<Record<string, string>>;
  /** PEM certificate and key: serve WebDAV and the HTTP API (and so wss:// peers) over TLS. */
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
}

export const DEFAULT_WEBDAV: Listen = { host: '127.0.0.1', port: 8437 };
export const DEFAULT_HTTP: Listen = { host: '127.0.0.1', port: 8438 };
export const DEFAULT_NFS: Listen = { host: '127.0.0.1', port: 8439 };

/** Flag values as commander hands them over (strings; undefined when not given). */
export type RawOptions = Partial<Record<keyof Settings | 'config', string | boolean | string[]>>;

const ENV: Record<Exclude<keyof Settings, 'invites'>, string> = {
  data: 'MARBLE_DATA',
  name: 'MARBLE_NAME',
  webdav: 'MARBLE_WEBDAV',
  http: 'MARBLE_HTTP',
  users: 'MARBLE_USERS',
  apiToken: 'MARBLE_API_TOKEN',
  allowInsecureAuth: 'MARBLE_ALLOW_INSECURE_AUTH',
  historyKeep: 'MARBLE_HISTORY_KEEP',
  logLevel: 'MARBLE_LOG_LEVEL',
  nfs: 'MARBLE_NFS',
  nfsAllow: 'MARBLE_NFS_ALLOW',
  portmap: 'MARBLE_PORTMAP',
  peers: 'MARBLE_PEERS',
  trust: 'MARBLE_TRUST',
  tlsCert: 'MARBLE_TLS_CERT',
  tlsKey: 'MARBLE_TLS_KEY',
};

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'marble');
}

/**
 * Settings from, lowest to highest precedence: built-in defaults, the JSON config file
 * (--config, else <data dir>/config.json), environment variables (MARBLE_*), flags.
 */
export function resolveSettings(flags: RawOptions, env: NodeJS.ProcessEnv = process.env): Settings {
  const early = (key: 'data' | 'config'): string | undefined =>
    (flags[key] as string | undefined) ?? (key === 'data' ? env.MARBLE_DATA : env.MARBLE_CONFIG);
  const dataGuess = resolve(early('data') ?? defaultDataDir(env));
  const configFile = early('config') ?? join(dataGuess, 'config.json');
  const file = readConfigFile(configFile, early('config') !== undefined);
  const pick = (key: keyof typeof ENV): unknown => flags[key] ?? env[ENV[key]] ?? file[key];
  /** Lists add up across sources: the config file's peers plus those given on the command line. */
  const gather = (key: 'peers' | 'trust'): string[] => [...new Set([...parseList(file[key]), ...parseList(env[ENV[key]]), ...parseList(flags[key])])];
  return {
    data: resolve(String(pick('data') ?? dataGuess)),
    name: optionalString(pick('name')),
    webdav: parseListen(pick('webdav'), DEFAULT_WEBDAV, 'webdav'),
    http: parseListen(pick('http'), DEFAULT_HTTP, 'http'),
    users: optionalString(pick('users')),
    apiToken: optionalString(pick('apiToken')),
    allowInsecureAuth: parseBool(pick('allowInsecureAuth')),
    historyKeep: parseCount(pick('historyKeep'), 'history-keep'),
    logLevel: String(pick('logLevel') ?? 'info'),
    nfs: parseListen(pick('nfs'), DEFAULT_NFS, 'nfs'),
    nfsAllow: parseAllow(pick('nfsAllow')),
    portmap: parseBool(pick('portmap')),
    peers: gather('peers').map(checkPeerUrl),
    trust: gather('trust').map(checkFingerprint),
    invites: parseInvites(file.invites),
    tlsCert: optionalString(pick('tlsCert')),
    tlsKey: optionalString(pick('tlsKey')),
  };
}

function parseInvites(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (!value || typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw new Error('config file: invites must be an object of peer URL → invite secret (marble join writes it)');
  }
  return value as Record<string, string>;
}

function readConfigFile(file: string, required: boolean): Partial<Record<keyof Settings, unknown>> {
  if (!existsSync(file)) {
    if (required) throw new Error(`config file ${file} does not exist`);
    return {};
  }
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as Record<string, unknown>;
  } catch (e) {
    throw new Error(`config file ${file}: ${(e as Error).message}`);
  }
}

/** "host:port", "[v6]:port", ":port" or "port". */
export function parseListen(value: unknown, fallback: Listen, what: string): Listen {
  if (value === undefined || value === null || value === '') return fallback;
  const s = String(value).trim();
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(s) ?? /^()()(\d+)$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--${what} ${s}: expected HOST:PORT, e.g. 127.0.0.1:${fallback.port}`);
  return { host: m[1] || m[2] || fallback.host, port };
}

/** A list from a repeated flag, a JSON array, or a comma-separated environment variable. */
function parseList(v: unknown): string[] {
  if (v === undefined || v === null || v === '') return [];
  if (Array.isArray(v)) return v.flatMap((x) => parseList(x));
  return String(v).split(',').map((x) => x.trim()).filter(Boolean);
}

function checkPeerUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--peer ${url}: expected a URL like ws://host:8438/peer`);
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new Error(`--peer ${url}: must start with ws:// or wss://`);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/peer';
  return u.toString();
}

function checkFingerprint(fp: string): string {
  const normal = normalizeFingerprint(fp);
  if (!normal) throw new Error(`--trust ${fp}: not a key fingerprint (marble id prints one: 8 groups of 5 letters and digits)`);
  return normal;
}

/** "a, b/24" or a JSON array of addresses and CIDRs. */
function parseAllow(v: unknown): string[] {
  if (v === undefined || v === null || v === '') return [];
  const items = Array.isArray(v) ? v.map(String) : String(v).split(',');
  return items.map((x) => x.trim()).filter(Boolean);
}

function optionalString(v: unknown): string | undefined {
  return v === undefined || v === null || v === '' ? undefined : String(v);
}

function parseBool(v: unknown): boolean {
  return v === true || v === 'true' || v === '1' || v === 'yes';
}

function parseCount(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${what} ${String(v)}: expected a whole number >= 0`);
  return n;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
