import { Writable, type Readable } from 'node:stream';
import { v2 as dav } from 'webdav-server';
import type { Entry, FileSystemView } from '../../../src/fs/types.js';
import { stateOf } from '../dav-context.js';
import { etagOf } from '../http/conditional.js';

type Path = dav.Path;
type Callback<T> = (error?: Error, data?: T) => void;

/** Settles a promise into a node-style callback outside the promise chain. */
function settle<T>(p: Promise<T>, callback: Callback<T>): void {
  p.then(
    (v) => process.nextTick(callback, undefined, v),
    (e: unknown) => process.nextTick(callback, e instanceof Error ? e : new Error(String(e))),
  );
}

const serializer: dav.FileSystemSerializer = {
  uid: () => 'marble-filesystem-view',
  serialize: (_fs, callback) => callback(undefined, {}),
  unserialize: (_data, callback) => callback(new Error('the filesystem view is not serializable')),
};

/**
 * webdav-server's FileSystem over our FileSystemView: the library resolves resources
 * through it (e.g. the type lookup behind the Allow header), and any library command would
 * read and write through the view. Our own method handlers call the view directly; their
 * locks and dead properties live in locks/lock-table.ts and view.getProps/patchProps, so
 * the library's lock and property managers below are placeholders it requires.
 */
export class ViewFileSystem extends dav.FileSystem {
  constructor(private readonly view: FileSystemView) {
    super(serializer);
  }

  private entry(path: Path, ctx: dav.RequestContext): Promise<Entry> {
    const p = path.toString();
    const state = ctx instanceof dav.HTTPRequestContext ? stateOf(ctx.request) : undefined;
    if (state && state.path === p) {
      return state.statOrNull(p).then((e) => e ?? Promise.reject(dav.Errors.ResourceNotFound));
    }
    return this.view.stat(p).catch(() => Promise.reject(dav.Errors.ResourceNotFound));
  }

  protected override _type(path: Path, info: dav.TypeInfo, callback: Callback<dav.ResourceType>): void {
    settle(
      this.entry(path, info.context).then((e) => (e.isDir ? dav.ResourceType.Directory : dav.ResourceType.File)),
      callback,
    );
  }

  protected override _size(path: Path, info: dav.SizeInfo, callback: Callback<number>): void {
    settle(this.entry(path, info.context).then((e) => e.size), callback);
  }

  protected override _etag(path: Path, info: dav.ETagInfo, callback: Callback<string>): void {
    settle(this.entry(path, info.context).then(etagOf), callback);
  }

  protected override _lastModifiedDate(path: Path, info: dav.LastModifiedDateInfo, callback: Callback<number>): void {
    settle(this.entry(path, info.context).then((e) => Number(e.mtimeNs / 1_000_000n)), callback);
  }

  protected override _creationDate(path: Path, info: dav.CreationDateInfo, callback: Callback<number>): void {
    settle(this.entry(path, info.context).then((e) => Number(e.birthNs / 1_000_000n)), callback);
  }

  protected override _readDir(path: Path, _info: dav.ReadDirInfo, callback: Callback<string[]>): void {
    const all = async (): Promise<string[]> => {
      const names: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await this.view.list(path.toString(), { cursor });
        for (const e of page.entries) names.push(e.name);
        cursor = page.cursor;
      } while (cursor !== null);
      return names;
    };
    settle(all(), callback);
  }

  protected override _openReadStream(path: Path, info: dav.OpenReadStreamInfo, callback: Callback<Readable>): void {
    const open = async (): Promise<Readable> => {
      const handle = await this.view.openRead(path.toString());
      const stream = handle.stream();
      stream.once('close', () => void handle.close());
      void info;
      return stream;
    };
    settle(open(), callback);
  }

  protected override _openWriteStream(path: Path, _info: dav.OpenWriteStreamInfo, callback: Callback<Writable>): void {
    // A Writable whose chunks are handed to view.writeFile as an async iterable.
    const queue: Buffer[] = [];
    let wake: (() => void) | null = null;
    let ended = false;
    const body = (async function* () {
      for (;;) {
        if (queue.length) yield queue.shift()!;
        else if (ended) return;
        else await new Promise<void>((r) => (wake = r));
      }
    })();
    const done = this.view.writeFile(path.toString(), body);
    const writable = new Writable({
      write(chunk: Buffer, _enc, cb) {
        queue.push(chunk);
        wake?.();
        cb();
      },
      final(cb) {
        ended = true;
        wake?.();
        done.then(() => cb(), (e: Error) => cb(e));
      },
    });
    done.catch((e: Error) => writable.destroy(e));
    process.nextTick(callback, undefined, writable);
  }

  protected override _create(path: Path, info: dav.CreateInfo, callback: (error?: Error) => void): void {
    const p = path.toString();
    const made = info.type.isDirectory ? this.view.mkdir(p) : this.view.createFile(p, { exclusive: true });
    settle(made.then(() => undefined), callback);
  }

  protected override _delete(path: Path, _info: dav.DeleteInfo, callback: (error?: Error) => void): void {
    settle(this.view.remove(path.toString(), { recursive: true }), callback);
  }

  protected override _move(from: Path, to: Path, info: dav.MoveInfo, callback: Callback<boolean>): void {
    settle(this.view.rename(from.toString(), to.toString(), { overwrite: info.overwrite }).then((r) => r.replaced), callback);
  }

  protected override _copy(from: Path, to: Path, info: dav.CopyInfo, callback: Callback<boolean>): void {
    const depth = info.depth === 0 ? 0 : 'infinity';
    settle(this.view.copy(from.toString(), to.toString(), { overwrite: info.overwrite, depth }).then((r) => r.replaced), callback);
  }

  protected override _lockManager(_path: Path, _info: dav.LockManagerInfo, callback: Callback<dav.ILockManager>): void {
    callback(undefined, new dav.LocalLockManager());
  }

  protected override _propertyManager(_path: Path, _info: dav.PropertyManagerInfo, callback: Callback<dav.IPropertyManager>): void {
    callback(undefined, new dav.LocalPropertyManager());
  }
}
