import t from 'tap';
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chunks, makeView, readAll } from './view-fixture.js';

// Hard links (link nodes) and symbolic links (a flag) in the view, over a real store.

const code = (c: string) => ({ code: c });
const text = async (view: ReturnType<typeof makeView>['view'], path: string) => (await readAll(await view.openRead(path))).toString();

t.test('a link is a second name for one file: same key, content and attributes; nlink counts names', async (t) => {
  const { view, store } = makeView(t);
  await view.mkdir('/d');
  await view.writeFile('/a.txt', chunks('shared'));
  const made = await view.link('/a.txt', '/d/b.txt');
  const [a, b] = [await view.stat('/a.txt'), await view.stat('/d/b.txt')];
  t.equal(made.name, 'b.txt');
  t.equal(b.name, 'b.txt', 'the link shows under its own name');
  t.equal(b.key, a.key, 'one key: NFS gives one handle, WebDAV one ETag');
  t.equal(b.contentTag, a.contentTag);
  t.equal(a.nlink, 2);
  t.equal(b.nlink, 2);
  t.equal(b.size, 6);
  t.equal(await text(view, '/d/b.txt'), 'shared');
  const listed = (await view.list('/d')).entries;
  t.same(listed.map((e) => [e.name, e.key, e.size, e.nlink]), [['b.txt', a.key, 6, 2]], 'listing shows the link with the file attributes');
  await view.link('/d/b.txt', '/c.txt');
  t.equal((await view.stat('/a.txt')).nlink, 3, 'a link to a link names the file');
  const third = store.headsNamed('root', 'c.txt')[0]!;
  t.equal(third.linkTo, a.key, 'stored as a link to the file, not to the other link');
  t.equal((await view.stat('/d')).nlink, 2, 'folders keep nlink 2');
});

t.test('writes, truncation and metadata through either name change the one file', async (t) => {
  const { view } = makeView(t);
  await view.writeFile('/a.txt', chunks('one'));
  await view.link('/a.txt', '/b.txt');
  const put = await view.writeFile('/b.txt', chunks('two via b'));
  t.notOk(put.created, 'a PUT to the link path writes the file, it creates nothing');
  t.equal(await text(view, '/a.txt'), 'two via b');
  const s = await view.openWrite('/a.txt');
  await s.write(0, Buffer.from('TWO'));
  await s.close();
  t.equal(await text(view, '/b.txt'), 'TWO via b', 'a session on one name is seen through the other');
  await view.truncate('/b.txt', 3);
  t.equal((await view.stat('/a.txt')).size, 3);
  await view.setMeta('/b.txt', { mode: 0o600 });
  t.equal((await view.stat('/a.txt')).mode, 0o600, 'mode belongs to the file, not the name');
  const versions = (await view.list('/.history/a.txt')).entries;
  t.equal(versions.length, 4, 'every version is under the file in /.history');
  await t.rejects(view.stat('/.history/b.txt'), code('MARBLE_NOT_FOUND'), 'a link has no history of its own');
});

t.test('removing either name keeps the file under the other', async (t) => {
  const { view } = makeView(t);
  await view.mkdir('/d');
  await view.writeFile('/a.txt', chunks('kept'));
  const key = (await view.stat('/a.txt')).key;
  await view.link('/a.txt', '/d/b.txt');
  await view.remove('/d/b.txt');
  t.equal((await view.stat('/a.txt')).nlink, 1, 'removing the link removes only the link');
  t.same((await view.list('/d')).entries, []);

  await view.link('/a.txt', '/d/b.txt');
  await view.link('/a.txt', '/c.txt');
  await view.remove('/a.txt');
  await t.rejects(view.stat('/a.txt'), code('MARBLE_NOT_FOUND'));
  const b = await view.stat('/d/b.txt');
  t.equal(b.key, key, 'the file moved to its oldest link, keeping its identity');
  t.equal(b.nlink, 2, 'and its other link');
  t.equal(await text(view, '/c.txt'), 'kept');
  t.equal((await view.list('/.history/d/b.txt')).entries.length, 1, 'its history follows it');
  t.equal(await view.pathOf(key), '/d/b.txt');
  await view.remove('/c.txt');
  await view.remove('/d/b.txt');
  await t.rejects(view.pathOf(key), code('MARBLE_NOT_FOUND'), 'the last name removes the file');
  t.equal((await view.list('/.history/d/b.txt')).entries.length, 1, 'its versions stay in history');
});

t.test('removing a folder keeps a file that is linked from outside it; a folder holding every name removes the file', async (t) => {
  const { view } = makeView(t);
  await view.mkdir('/d');
  await view.writeFile('/d/a.txt', chunks('outlives d'));
  await view.link('/d/a.txt', '/out.txt');
  await view.remove('/d', { recursive: true });
  t.equal(await text(view, '/out.txt'), 'outlives d');
  t.equal((await view.stat('/out.txt')).nlink, 1);

  await view.mkdir('/e');
  await view.writeFile('/e/x', chunks('x'));
  await view.link('/e/x', '/e/y');
  const key = (await view.stat('/e/x')).key;
  await view.remove('/e', { recursive: true });
  await t.rejects(view.pathOf(key), code('MARBLE_NOT_FOUND'));
});

t.test('rename moves the link node; both names of one file: nothing happens; overwriting a name keeps linked files', async (t) => {
  const { view } = makeView(t);
  await view.mkdir('/d');
  await view.writeFile('/a.txt', chunks('A'));
  await view.link('/a.txt', '/b.txt');
  await view.rename('/b.txt', '/d/moved.txt');
  t.equal(await text(view, '/d/moved.txt'), 'A');
  t.equal((await view.stat('/a.txt')).nlink, 2, 'the file stays where it is');
  await t.rejects(view.stat('/b.txt'), code('MARBLE_NOT_FOUND'));
  const same = await view.rename('/d/moved.txt', '/a.txt', { overwrite: true });
  t.notOk(same.replaced, 'POSIX: renaming onto another name of the same file does nothing');
  t.equal((await view.stat('/d/moved.txt')).nlink, 2);

  await view.writeFile('/other.txt', chunks('other'));
  await view.rename('/other.txt', '/a.txt', { overwrite: true });
  t.equal(await text(view, '/a.txt'), 'other');
  t.equal(await text(view, '/d/moved.txt'), 'A', 'the replaced file lives on under its link');
  t.equal((await view.stat('/d/moved.txt')).nlink, 1);
});

t.test('copy of a link, or of a folder holding one, makes independent files', async (t) => {
  const { view } = makeView(t);
  await view.mkdir('/d');
  await view.writeFile('/a.txt', chunks('A'));
  await view.link('/a.txt', '/d/l.txt');
  await view.copy('/d/l.txt', '/copy.txt');
  await view.copy('/d', '/d2');
  await view.writeFile('/a.txt', chunks('changed'));
  t.equal(await text(view, '/copy.txt'), 'A');
  t.equal(await text(view, '/d2/l.txt'), 'A', 'the copied folder holds a file, not a link');
  t.not((await view.stat('/d2/l.txt')).key, (await view.stat('/a.txt')).key);
  t.equal((await view.stat('/a.txt')).nlink, 2);
});

t.test('refused links: folders, taken names, read-only trees', async (t) => {
  const { view } = makeView(t);
  await view.mkdir('/d');
  await view.writeFile('/a.txt', chunks('A'));
  await view.writeFile('/b.txt', chunks('B'));
  await t.rejects(view.link('/d', '/dl'), code('MARBLE_IS_DIR'));
  await t.rejects(view.link('/a.txt', '/b.txt'), code('MARBLE_EXISTS'));
  await t.rejects(view.link('/a.txt', '/d'), code('MARBLE_EXISTS'));
  await t.rejects(view.link('/nope', '/x'), code('MARBLE_NOT_FOUND'));
  await t.rejects(view.link('/a.txt', '/.history/x'), code('MARBLE_READ_ONLY'));
  const version = (await view.list('/.history/a.txt')).entries[0]!.name;
  await t.rejects(view.link(`/.history/a.txt/${version}`, '/old.txt'), code('MARBLE_READ_ONLY'));
  await t.rejects(view.link('/.history/a.txt', '/old.txt'), code('MARBLE_IS_DIR'));
  t.equal((await view.stat('/a.txt')).nlink, 1, 'nothing was made');
});

t.test('a link whose file was deleted (as by a peer) is hidden; the versions stay in history', async (t) => {
  const { view, store } = makeView(t);
  await view.writeFile('/a.txt', chunks('A'));
  await view.link('/a.txt', '/l.txt');
  // what a peer's concurrent delete does: the file goes without the link taking it over
  store.commit([{ kind: 'delete', head: store.headsNamed('root', 'a.txt')[0]! }]);
  await t.rejects(view.stat('/l.txt'), code('MARBLE_NOT_FOUND'));
  t.same((await view.list('/')).entries.map((e) => e.name), ['.history', '.splits']);
  t.equal((await view.list('/.history/a.txt')).entries.length, 1);
  await view.writeFile('/l.txt', chunks('new file'));
  t.equal(await text(view, '/l.txt'), 'new file', 'its name can be taken again');
  t.same((await view.list('/.splits')).entries, [], 'without showing as a name collision');
  await view.mkdir('/d');
  await view.writeFile('/d/f', chunks('F'));
  await view.link('/d/f', '/d/l');
  store.commit([{ kind: 'delete', head: store.headsNamed((await view.stat('/d')).key, 'f')[0]! }]);
  t.same((await view.list('/d')).entries, []);
  await view.remove('/d');
  await t.rejects(view.stat('/d'), code('MARBLE_NOT_FOUND'), 'a folder holding only a hidden link is empty');
});

t.test('link counts and symbolic links survive a restart', async (t) => {
  const fx = makeView(t);
  await fx.view.writeFile('/a.txt', chunks('A'));
  await fx.view.link('/a.txt', '/b.txt');
  const sym = await fx.view.symlink('/s', Buffer.from('a.txt'));
  t.ok(sym.symlink);
  t.equal(sym.mode, 0o777);
  await t.rejects(fx.view.symlink('/s', Buffer.from('x')), code('MARBLE_EXISTS'));
  const again = fx.reopen();
  t.equal((await again.view.stat('/a.txt')).nlink, 2);
  t.ok((await again.view.stat('/s')).symlink);
  t.equal(await text(again.view, '/s'), 'a.txt');
  t.notOk((await again.view.stat('/a.txt')).symlink);
  await again.view.rename('/s', '/s2');
  t.ok((await again.view.stat('/s2')).symlink, 'a rename keeps the flag');
  await again.view.copy('/s2', '/s3');
  t.ok((await again.view.stat('/s3')).symlink, 'so does a copy');
});

t.test('a version 2 database migrates: symbolic links marked by the old NFS property become flagged', async (t) => {
  const fx = makeView(t);
  await fx.view.writeFile('/old-link', chunks('target'));
  await fx.view.writeFile('/plain', chunks('plain'));
  await fx.view.patchProps('/old-link', new Map([['{urn:marble:nfs}symlink', '1']]), []);
  fx.store.close();
  // Back to the version 2 schema, as an older marble left it.
  const db = new Database(join(fx.dir, 'marble.db'));
  db.exec('DROP INDEX heads_link_to');
  for (const table of ['changes', 'heads']) for (const col of ['link_to', 'symlink']) db.exec(`ALTER TABLE ${table} DROP COLUMN ${col}`);
  // Version 4 made small content resident; before it every blob was a file.
  for (const r of db.prepare('SELECT id, content FROM data WHERE content IS NOT NULL').all() as Array<{ id: number; content: Buffer }>) {
    writeFileSync(fx.store.blobs.path(r.id), r.content);
  }
  db.exec('ALTER TABLE data DROP COLUMN content');
  db.pragma('user_version = 2');
  db.close();
  const again = fx.reopen();
  t.ok((await again.view.stat('/old-link')).symlink);
  t.notOk((await again.view.stat('/plain')).symlink);
  t.equal(await text(again.view, '/plain'), 'plain', 'content untouched');
  await again.view.link('/plain', '/plain2');
  t.equal((await again.view.stat('/plain')).nlink, 2, 'links work on the migrated database');
});
