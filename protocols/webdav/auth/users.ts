import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

/**
 * Stored secrets of the users map (name -> secret), as read from the users file
 * (`name:secret` lines, parsed by the CLI). A secret is either
 *   - `scrypt$<saltBase64>$<hashBase64>`: scrypt (N=16384, r=8, p=1, 32 bytes) of the password, or
 *   - anything else: the password itself (keep such a file chmod 600).
 * `hashPassword` makes the first form.
 */
const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LENGTH = 32;

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, KEY_LENGTH, SCRYPT);
  return `scrypt$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export function verifyPassword(password: string, secret: string): boolean {
  const m = /^scrypt\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(secret);
  if (m) {
    const expected = Buffer.from(m[2]!, 'base64');
    const actual = scryptSync(password, Buffer.from(m[1]!, 'base64'), expected.length, SCRYPT);
    return timingSafeEqual(actual, expected);
  }
  const a = Buffer.from(password, 'utf8');
  const b = Buffer.from(secret, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
