import t from 'tap';
import type { Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { RESIDENT_MAX } from '../../../src/core/blobs.js';
import { BLOCK_SIZE, BlockHasher } from '../../../src/core/blocks.js';
import type { WriteSession } from '../../../src/fs/types.js';
import { Rng } from '../../helpers/rng.js';
import { chunks, makeView, readAll } from './view-fixture.js';

/** The block hashes a session recorded must equal hashing what the file now reads as. */
async function checkHashes(t: Test, fx: ReturnType<typeof makeView>, path: string, model: Buffer): Promise<void> {
  const data = await readAll(await fx.view.openRead(path));
  t.equal(data.length, model.length, `${path}: size`);
  t.ok(data.equals(model), `${path}: content`);
  const head = fx.view.currentHead((await fx.view.stat(path)).key)!;
  const h = new BlockHasher();
  h.update(data);
  t.ok(fx.store.data(head.dataId!)!.hashes.equals(h.digest()), `${path}: stored block hashes match the content`);
}

function apply(model: Buffer, position: number, data: Buffer): Buffer {
  const out = Buffer.alloc(Math.max(model.length, position + data.length));
  model.copy(out);
  data.copy(out, position);
  return out;
}

function resize(model: Buffer, size: number): Buffer {
  const out = Buffer.alloc(size);
  model.copy(out, 0, 0, Math.min(size, model.length));
  return out;
}

type Step = [number, number] | ['truncate', number];

/** Applies writes of random bytes ([position, length]) and truncates to the session and to `model`; returns the new model. */
async function applySteps(s: WriteSession, model: Buffer, steps: readonly Step[]): Promise<Buffer> {
  for (const step of steps) {
    if (step[0] === 'truncate') {
      await s.truncate(step[1]);
      model = resize(model, step[1]);
    } else {
      const data = randomBytes(step[1]);
      await s.write(step[0], data);
      model = apply(model, step[0], data);
    }
  }
  return model;
}

t.test('sequential writes are hashed as they arrive, with any tail size', async (t) => {
  const fx = makeView(t);
  for (const size of [0, 1, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE * 3 + 17]) {
    const path = `/seq-${size}`;
    await fx.view.writeFile(path, chunks(randomBytes(BLOCK_SIZE * 4 + 5))); // a longer parent: the tail must not leak
    const s = await fx.view.openWrite(path);
    await s.truncate(0);
    const content = randomBytes(size);
    for (let at = 0; at < size; at += 50_000) await s.write(at, content.subarray(at, Math.min(size, at + 50_000)));
    await s.close();
    await checkHashes(t, fx, path, content);
  }
});

t.test('overwriting the start of a longer file keeps the rest', async (t) => {
  const fx = makeView(t);
  const parent = randomBytes(BLOCK_SIZE * 3 + 100);
  await fx.view.writeFile('/f', chunks(parent));
  const s = await fx.view.openWrite('/f');
  const head = randomBytes(BLOCK_SIZE + 300);
  await s.write(0, head.subarray(0, 1000));
  await s.write(1000, head.subarray(1000));
  await s.close();
  await checkHashes(t, fx, '/f', apply(parent, 0, head));
});

t.test('a write far past the end hashes the hole as zeros', async (t) => {
  const fx = makeView(t);
  await fx.view.writeFile('/h', chunks(randomBytes(1000)));
  let model = await readAll(await fx.view.openRead('/h'));
  const s = await fx.view.openWrite('/h');
  const tail = randomBytes(5000);
  const far = BLOCK_SIZE * 40 + 123;
  await s.write(far, tail);
  model = apply(model, far, tail);
  await s.truncate(far + 5000 + BLOCK_SIZE * 3 + 7);
  model = resize(model, far + 5000 + BLOCK_SIZE * 3 + 7);
  const entry = await s.close();
  await checkHashes(t, fx, '/h', model);
  const change = fx.store.change(entry.versionTag)!;
  t.ok(change.ranges.length >= 1, 'the write is recorded');
});

t.test('random writes, truncates and rewrites (seeded mix) keep hashes right', async (t) => {
  const fx = makeView(t);
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  let model: Buffer = randomBytes(BLOCK_SIZE * 2 + 77);
  await fx.view.writeFile('/r', chunks(model));
  for (let round = 0; round < 12; round++) {
    const s = await fx.view.openWrite('/r');
    let pos = rnd(3) === 0 ? 0 : rnd(BLOCK_SIZE * 5);
    if (rnd(2) === 0) pos -= pos % BLOCK_SIZE;
    for (let op = 0; op < 10; op++) {
      const kind = rnd(6);
      if (kind === 0) {
        const size = rnd(BLOCK_SIZE * 6);
        await s.truncate(size);
        model = resize(model, size);
      } else {
        const len = 1 + rnd(BLOCK_SIZE + 5000);
        const at = kind <= 3 ? pos : rnd(BLOCK_SIZE * 6);
        const data = randomBytes(len);
        await s.write(at, data);
        model = apply(model, at, data);
        pos = at + len;
      }
    }
    await s.close();
    await checkHashes(t, fx, '/r', model);
  }
});

t.test('whole blocks hashed on the worker: big aligned writes, rewrites and truncates before commit', async (t) => {
  const fx = makeView(t);
  let model: Buffer = randomBytes(BLOCK_SIZE * 3 + 11);
  await fx.view.writeFile('/big', chunks(model));
  const s = await fx.view.openWrite('/big');
  const steps: Step[] = [
    [0, BLOCK_SIZE * 8], // eight whole blocks, as one 1 MiB NFS WRITE
    [BLOCK_SIZE * 8, BLOCK_SIZE * 8],
    [BLOCK_SIZE * 2, BLOCK_SIZE * 2], // rewritten while their first hashes may still be on their way
    [BLOCK_SIZE * 5 + 7, 100], // a piece inside a block hashed whole before
    ['truncate', BLOCK_SIZE * 12 + 5],
    [BLOCK_SIZE * 12, BLOCK_SIZE * 2 + 9], // whole blocks after a partial one, growing the file
  ];
  model = await applySteps(s, model, steps);
  await s.close();
  await checkHashes(t, fx, '/big', model);
});

t.test('overlapping writes, small and over 1 MiB: every byte lands in order, and the caller may reuse its buffer at once', async (t) => {
  const fx = makeView(t);
  await fx.view.writeFile('/o', chunks(''));
  const s = await fx.view.openWrite('/o');
  let model: Buffer = Buffer.alloc(0);
  // Writes over 1 MiB go through the thread pool, the others are written at once; the last one written must win.
  const sizes = [BLOCK_SIZE * 2 + 1000, 1024 * 1024 + 1000, 5000, 1024 * 1024 + 1, BLOCK_SIZE * 9, 1024 * 1024 + BLOCK_SIZE];
  for (const [i, size] of sizes.entries()) {
    const data = Buffer.alloc(size, i + 1);
    const at = i * 1000;
    await s.write(at, data);
    model = apply(model, at, data);
    // An NFS request buffer is handed out again as soon as the WRITE is answered.
    data.fill(0xee);
  }
  await s.flush();
  await checkHashes(t, fx, '/o', model);
  await s.close();
});

t.test('a zero-length write past the end changes nothing (pwrite of no bytes does not grow a file)', async (t) => {
  const fx = makeView(t);
  const content = randomBytes(1000);
  await fx.view.writeFile('/z', chunks(content));
  const s = await fx.view.openWrite('/z');
  await s.write(4096, Buffer.alloc(0));
  await s.write(BLOCK_SIZE * 3, Buffer.alloc(0));
  await s.close();
  await checkHashes(t, fx, '/z', content);
});

/** Files under the blob directory (resident content has none). */
function blobFiles(fx: ReturnType<typeof makeView>): number {
  return readdirSync(fx.store.blobs.blobDir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).length;
}

t.test('a small file is written in memory: no blob file until a write takes it past RESIDENT_MAX', async (t) => {
  const fx = makeView(t);
  await fx.view.writeFile('/s', chunks(randomBytes(3000)));
  let model = await readAll(await fx.view.openRead('/s'));
  const before = blobFiles(fx);
  const s = await fx.view.openWrite('/s');
  model = await applySteps(s, model, [
    [5000, 100], // past the end: the gap reads as zeros
    ['truncate', 2000], // and shrinking clears what was cut off
    ['truncate', 6000],
    [RESIDENT_MAX - 10, 10], // exactly RESIDENT_MAX: still in memory
  ]);
  t.equal(blobFiles(fx), before, 'nothing written to disk while the file fits in RESIDENT_MAX');
  await s.flush();
  await checkHashes(t, fx, '/s', model);
  model = await applySteps(s, model, [
    [RESIDENT_MAX - 5, 20],
    [RESIDENT_MAX + BLOCK_SIZE, 7],
  ]);
  t.equal(blobFiles(fx), before + 1, 'one blob file once it outgrows it');
  model = await applySteps(s, model, [
    ['truncate', 1500],
    [1400, 50],
  ]);
  await s.close();
  await checkHashes(t, fx, '/s', model);
  t.equal(blobFiles(fx), before, 'committed small again: resident, the working file gone');
});

t.test('seeded writes and truncates around RESIDENT_MAX keep every byte and hash', async (t) => {
  const fx = makeView(t);
  const rng = new Rng(777);
  const rnd = (n: number) => rng.int(0, n - 1);
  let model: Buffer = randomBytes(rnd(RESIDENT_MAX));
  await fx.view.writeFile('/m', chunks(model));
  for (let round = 0; round < 30; round++) {
    const s = await fx.view.openWrite('/m');
    for (let op = 0; op < 6; op++) {
      if (rnd(4) === 0) {
        const size = rnd(RESIDENT_MAX * 2);
        await s.truncate(size);
        model = resize(model, size);
      } else {
        const data = randomBytes(1 + rnd(RESIDENT_MAX / 2));
        const at = rnd(RESIDENT_MAX * 2);
        await s.write(at, data);
        model = apply(model, at, data);
      }
    }
    await s.close();
    await checkHashes(t, fx, '/m', model);
  }
});
