import { Readable, type Writable } from 'node:stream';
import t from 'tap';
import { v2 as dav } from 'webdav-server';
import { ViewFileSystem } from '../../../protocols/webdav/library/view-filesystem.js';
import { MemoryView } from '../../fixtures/memory-view.js';

/** The webdav-server FileSystem over the view, driven through the library's own API. */
t.test('library FileSystem adapter reads and writes through the view', async (t) => {
  const view = new MemoryView();
  const fs = new ViewFileSystem(view);
  const server = new dav.WebDAVServer({ rootFileSystem: fs });
  const ctx = server.createExternalContext();
  const call = <T>(fn: (cb: (e?: Error, v?: T) => void) => void) =>
    new Promise<T>((resolve, reject) => fn((e, v) => (e ? reject(e) : resolve(v as T))));

  await call<void>((cb) => fs.create(ctx, '/d', dav.ResourceType.Directory, cb));
  const w = await call<Writable>((cb) => fs.openWriteStream(ctx, '/d/f.txt', 'canCreate', cb));
  await new Promise<void>((resolve, reject) => {
    Readable.from([Buffer.from('hello '), Buffer.from('world')]).pipe(w).on('finish', resolve).on('error', reject);
  });
  await new Promise((r) => setTimeout(r, 10));
  t.equal((await view.stat('/d/f.txt')).size, 11, 'written through view.writeFile');
  t.same(await call<string[]>((cb) => fs.readDir(ctx, '/d', cb)), ['f.txt']);
  t.equal(await call<number>((cb) => fs.size(ctx, '/d/f.txt', cb)), 11);
  const type = await call<dav.ResourceType>((cb) => fs.type(ctx, '/d', cb));
  t.ok(type.isDirectory);
  const r = await call<Readable>((cb) => fs.openReadStream(ctx, '/d/f.txt', cb));
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  t.equal(Buffer.concat(chunks).toString(), 'hello world');
  t.match(await call<string>((cb) => fs.etag(ctx, '/d/f.txt', cb)), /^"/);
  await call<boolean>((cb) => fs.move(ctx, '/d/f.txt', '/d/g.txt', false, cb));
  t.equal((await view.stat('/d/g.txt')).size, 11);
  await call<void>((cb) => fs.delete(ctx, '/d', cb));
  await t.rejects(view.stat('/d'), { code: 'MARBLE_NOT_FOUND' });
  await t.rejects(call((cb) => fs.type(ctx, '/nope', cb)));
});
