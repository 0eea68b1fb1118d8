import t from 'tap';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../../src/core/store.js';

t.test('a copied data directory takes a new id; the original keeps its own', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'marble-id-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const a = Store.open(join(root, 'a'), { name: 'laptop' });
  const id = a.instanceId;
  t.throws(() => Store.open(join(root, 'a')), { name: 'DirLocked' }, 'one process per data directory');
  a.close();
  cpSync(join(root, 'a'), join(root, 'b'), { recursive: true });
  const b = Store.open(join(root, 'b'));
  t.not(b.instanceId, id);
  t.match(b.instanceName, /^laptop-[0-9a-f]{4}$/);
  b.close();
  const again = Store.open(join(root, 'a'));
  t.equal(again.instanceId, id);
  again.close();
  const b2 = Store.open(join(root, 'b'));
  t.not(b2.instanceId, id, 'the copy keeps its new id');
  b2.close();
});
