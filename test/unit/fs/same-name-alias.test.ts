import t from 'tap';
import { parseSameNameAlias, sameNameAlias } from '../../../src/fs/same-name-alias.js';

const node = '2947d962-b5de-4729-aa02-10ffe7c5b64d:52';

t.test('the alias keeps the extension and names the node', async (t) => {
  t.equal(sameNameAlias('f1.bin', node), 'f1 (2947d962-52).bin');
  t.equal(sameNameAlias('archive.tar.gz', node), 'archive.tar (2947d962-52).gz');
  t.equal(sameNameAlias('.bashrc', node), '.bashrc (2947d962-52)');
  t.equal(sameNameAlias('README', node), 'README (2947d962-52)');
});

t.test('an alias parses back to the name and matches only its node', async (t) => {
  for (const name of ['f1.bin', 'archive.tar.gz', '.bashrc', 'README', 'a (b).txt', 'x.y z']) {
    const parsed = parseSameNameAlias(sameNameAlias(name, node));
    t.equal(parsed?.name, name, name);
    t.ok(parsed?.matches(node), `${name}: matches its node`);
    t.notOk(parsed?.matches('2947d962-b5de-4729-aa02-10ffe7c5b64d:53'), `${name}: not another node`);
  }
});

t.test('ordinary names are no alias', async (t) => {
  for (const name of ['f1.bin', 'copy (2).txt', 'a (2947d962).txt', 'b ().txt']) t.equal(parseSameNameAlias(name), null, name);
});
