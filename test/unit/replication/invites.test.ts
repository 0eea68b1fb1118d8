import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Store } from '../../../src/core/store.js';
import { decodeInvite, encodeInvite, Invites } from '../../../src/replication/invites.js';

const FP = 'ABCDE-FGHIJ-KLMNO-PQRST-UVWXY-Z2345-67ABC-DEFGH';

t.test('an invite works once, before it expires, and the key it admitted stays trusted', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'marble-invites-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  let store = Store.open(join(root, 'a'));
  const invites = new Invites(store);
  const { secret, expiresAt } = invites.create(60_000, 1_000);
  t.equal(expiresAt, 61_000);
  t.ok(invites.isValid(secret, 2_000));
  t.notOk(invites.isValid(secret, 61_000), 'expired');
  t.notOk(invites.redeem(secret, FP, 61_000), 'an expired invite is not redeemed');
  t.notOk(invites.isValid('x'.repeat(24), 2_000), 'a made-up secret');
  t.ok(invites.redeem(secret, FP, 2_000));
  t.notOk(invites.redeem(secret, FP, 2_000), 'second use');
  t.same(invites.trusted(), [FP]);
  t.notOk(store.getConfig('invites')?.includes(secret), 'only a hash of the secret is stored');
  store.close();
  store = Store.open(join(root, 'a'));
  t.same(new Invites(store).trusted(), [FP], 'trust survives a restart');
  store.close();
});

t.test('codes round-trip and damaged ones are refused', async (t) => {
  const code = { url: 'wss://laptop.local:8438/peer', fingerprint: FP, secret: 'abcdefghijklmnopqrstuvwx' };
  t.same(decodeInvite(`  ${encodeInvite(code)}\n`), code);
  t.throws(() => decodeInvite('MARBLE2-abc'), /not a Marble invite code/);
  t.throws(() => decodeInvite(encodeInvite(code).slice(0, 30)), /damaged/);
  t.throws(() => decodeInvite(encodeInvite({ ...code, url: 'http://x/peer' })), /damaged/);
});
