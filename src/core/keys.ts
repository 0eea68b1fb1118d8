import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const KEY_FILE = 'key.pem';
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** An instance's Ed25519 key pair: peers trust it by fingerprint, like a Syncthing device ID. */
export interface InstanceKey {
  readonly privateKey: KeyObject;
  /** SubjectPublicKeyInfo, DER. */
  readonly publicKey: Buffer;
  readonly fingerprint: string;
}

/** Loads the key from the data directory, creating it (mode 0600) on first use. */
export function loadOrCreateKey(dataDir: string): InstanceKey {
  const file = join(dataDir, KEY_FILE);
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  }
  const privateKey = createPrivateKey(readFileSync(file));
  const publicKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return { privateKey, publicKey, fingerprint: fingerprintOf(publicKey) };
}

/** 40 base32 characters of the key's SHA-256, in groups of five: ABCDE-FGHIJ-… */
export function fingerprintOf(publicKeyDer: Buffer): string {
  const digest = createHash('sha256').update(publicKeyDer).digest().subarray(0, 25);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{5}/g)!.join('-');
}

/** Accepts a fingerprint as a person may type it: any case, with or without dashes or spaces. */
export function normalizeFingerprint(input: string): string | null {
  const raw = input.toUpperCase().replace(/[\s-]/g, '');
  if (!/^[A-Z2-7]{40}$/.test(raw)) return null;
  return raw.match(/.{5}/g)!.join('-');
}

export function signWith(key: InstanceKey, message: Buffer): Buffer {
  return sign(null, message, key.privateKey);
}

export function verifySignature(publicKeyDer: Buffer, message: Buffer, signature: Buffer): boolean {
  try {
    return verify(null, message, createPublicKey({ key: publicKeyDer, format: 'der', type: 'spki' }), signature);
  } catch {
    return false;
  }
}
