import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../core/store.js';
import { normalizeFingerprint } from '../core/keys.js';

/** What an invite code carries: where to dial, whose key to trust, and the one-time secret. */
export interface InviteCode {
  readonly url: string;
  readonly fingerprint: string;
  readonly secret: string;
}

const PREFIX = 'MARBLE1-';
const SECRET_BYTES = 18;
const PENDING_KEY = 'invites';
const TRUSTED_KEY = 'trusted_peers';

/**
 * First-run pairing without copying fingerprints both ways: `marble invite` on one instance
 * makes a one-time code naming its peer URL, its key fingerprint and a random secret;
 * `marble join CODE` on the other trusts that fingerprint and dials the URL presenting the
 * secret. The inviting instance then trusts the joiner's key once it has proven it holds it
 * (the signed challenge), and remembers it in its database. Only a hash of each secret is
 * stored, and a secret works once, before it expires.
 */
export class Invites {
  constructor(private readonly store: Store) {}

  create(validMs: number, now = Date.now()): { secret: string; expiresAt: number } {
    const secret = randomBytes(SECRET_BYTES).toString('base64url');
    const pending = this.pending(now);
    pending[hashOf(secret)] = now + validMs;
    this.store.setConfig(PENDING_KEY, JSON.stringify(pending));
    return { secret, expiresAt: now + validMs };
  }

  /** Whether `secret` is an invite not used yet and not expired. */
  isValid(secret: string, now = Date.now()): boolean {
    return this.find(this.pending(now), secret) !== undefined;
  }

  /** Whether `secret` is a live invite; if so it is used up and `fingerprint` trusted from now on. */
  redeem(secret: string, fingerprint: string, now = Date.now()): boolean {
    const pending = this.pending(now);
    const match = this.find(pending, secret);
    if (!match) return false;
    delete pending[match];
    this.store.atomically(() => {
      this.store.setConfig(PENDING_KEY, JSON.stringify(pending));
      this.store.setConfig(TRUSTED_KEY, JSON.stringify([...new Set([...this.trusted(), fingerprint])]));
    });
    return true;
  }

  /** Fingerprints trusted through redeemed invites. */
  trusted(): string[] {
    return parseJson<string[]>(this.store.getConfig(TRUSTED_KEY), []);
  }

  private find(pending: Record<string, number>, secret: string): string | undefined {
    const wanted = Buffer.from(hashOf(secret), 'hex');
    return Object.keys(pending).find((h) => timingSafeEqual(Buffer.from(h, 'hex'), wanted));
  }

  /** Unexpired invites by secret hash → expiry (ms); expired ones are dropped. */
  private pending(now: number): Record<string, number> {
    const all = parseJson<Record<string, number>>(this.store.getConfig(PENDING_KEY), {});
    return Object.fromEntries(Object.entries(all).filter(([, expires]) => expires > now));
  }
}

export function encodeInvite(code: InviteCode): string {
  return PREFIX + Buffer.from(`${code.url}\n${code.fingerprint}\n${code.secret}`).toString('base64url');
}

/** @throws Error saying what is wrong with a code a person pasted. */
export function decodeInvite(text: string): InviteCode {
  const trimmed = text.trim();
  if (!trimmed.startsWith(PREFIX)) throw new Error(`not a Marble invite code (it starts with ${PREFIX})`);
  const [url, fp, secret, ...rest] = Buffer.from(trimmed.slice(PREFIX.length), 'base64url').toString('utf8').split('\n');
  const fingerprint = normalizeFingerprint(fp ?? '');
  if (!url || !/^wss?:\/\//.test(url) || !fingerprint || !secret || !isSecret(secret) || rest.length) {
    throw new Error('the invite code is damaged (copy all of it, from MARBLE1- to the end)');
  }
  return { url, fingerprint, secret };
}

/** The shape of a secret as it travels in a hello frame. */
export function isSecret(s: string): boolean {
  return /^[A-Za-z0-9_-]{16,64}$/.test(s);
}

function hashOf(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function parseJson<T>(text: string | undefined, fallback: T): T {
  if (text === undefined) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}
