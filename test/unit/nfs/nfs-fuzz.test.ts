import t from 'tap';
import { startNfs } from '../../../protocols/nfs/index.js';
import { MOUNT_PROGRAM, NFS_PROGRAM, NFSPROC3, PORTMAP_PROGRAM } from '../../../protocols/nfs/constants.js';
import { packKey } from '../../../protocols/nfs/handles.js';
import { encodeCall, RpcClient, recordMark, type Credential } from '../../../protocols/nfs/rpc/index.js';
import { XdrWriter } from '../../../protocols/nfs/xdr/index.js';
import { makeView } from '../fs/view-fixture.js';
import { runFuzz, type Case, type Rng } from './fixtures/fuzz.js';
import { SYS } from './fixtures/nfs-harness.js';

// Seeded so a failure can be replayed: NFS_FUZZ_SEED=<seed> npx tap dist/test/unit/nfs/nfs-fuzz.test.js
const SEED = process.env.NFS_FUZZ_SEED ? Number(process.env.NFS_FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const RECORDS = Number(process.env.NFS_FUZZ_RECORDS ?? 12_000);
const WORKERS = 8;
const MAX_RECORD = 1024 * 1024 + 64 * 1024; // the server's default


/** NFS-shaped arguments: real and bogus handles, names, offsets, sattr3, counts. */
function nfsArgs(rng: Rng, w: XdrWriter, proc: number, handles: Buffer[]): void {
  const fh = () => {
    const k = rng.int(10);
    if (k < 6) return rng.pick(handles);
    if (k < 7) return packKey(`0b5e4a4e-2a53-4c55-9a7f-3c1d2e0f9a11:${rng.int(1000)}`)!; // well-formed, unknown: STALE
    return rng.bytes(rng.int(80)); // BADHANDLE or worse
  };
  const name = () => rng.pick(['a', 'b', 'x.txt', '.', '..', '', 'n'.repeat(rng.int(300)), `f${rng.int(50)}`, 'a/b', '\u00e9t\u00e9']);
  const sattr = () => {
    for (let i = 0; i < 4; i++) {
      const set = rng.int(3) === 0;
      w.writeBool(set);
      if (set) {
        if (i === 3) w.writeUhyper(BigInt(rng.pick([0, 1, 4096, 1 << 20, 2 ** 40, 2 ** 53])));
        else w.writeUint(rng.int(2 ** 32));
      }
    }
    for (let i = 0; i < 2; i++) {
      const how = rng.int(4);
      w.writeUint(how);
      if (how === 2) w.writeUint(rng.int(2 ** 32)).writeUint(rng.int(2 ** 32));
    }
  };
  w.writeOpaque(fh());
  switch (proc) {
    case NFSPROC3.SETATTR:
      sattr();
      w.writeBool(rng.int(2) === 0).writeUint(rng.int(100)).writeUint(0);
      break;
    case NFSPROC3.LOOKUP:
    case NFSPROC3.REMOVE:
    case NFSPROC3.RMDIR:
      w.writeString(name());
      break;
    case NFSPROC3.ACCESS:
      w.writeUint(rng.int(64));
      break;
    case NFSPROC3.READ:
      w.writeUhyper(BigInt(rng.pick([0, 1, 4096, 2 ** 40, 2 ** 63]))).writeUint(rng.pick([0, 1, 4096, 1 << 20, 2 ** 32 - 1]));
      break;
    case NFSPROC3.WRITE: {
      const data = rng.bytes(rng.int(5000));
      w.writeUhyper(BigInt(rng.pick([0, 7, 4096, 2 ** 40, 2 ** 53]))).writeUint(rng.pick([data.length, 0, 2 ** 32 - 1])).writeUint(rng.int(4)).writeOpaque(data);
      break;
    }
    case NFSPROC3.CREATE:
      w.writeString(name()).writeUint(rng.int(4));
      if (rng.int(2)) sattr();
      else w.writeFixedOpaque(rng.bytes(8));
      break;
    case NFSPROC3.MKDIR:
    case NFSPROC3.SYMLINK:
      w.writeString(name());
      sattr();
      if (proc === NFSPROC3.SYMLINK) w.writeString('target'.repeat(rng.int(10)));
      break;
    case NFSPROC3.RENAME:
    case NFSPROC3.LINK:
      w.writeString(name()).writeOpaque(fh()).writeString(name());
      break;
    case NFSPROC3.READDIR:
    case NFSPROC3.READDIRPLUS:
      w.writeUhyper(BigInt(rng.pick([0, 1, 2, 3, rng.int(2 ** 32)]))).writeFixedOpaque(rng.bytes(8)).writeUint(rng.pick([0, 10, 512, 8192, 2 ** 32 - 1]));
      if (proc === NFSPROC3.READDIRPLUS) w.writeUint(rng.pick([0, 100, 8192, 2 ** 32 - 1]));
      break;
    case NFSPROC3.COMMIT:
      w.writeUhyper(0n).writeUint(0);
      break;
    default:
      w.writeRaw(rng.bytes(rng.int(4) * 4));
  }
}

function randomCall(rng: Rng, xid: number, handles: Buffer[]): Buffer {
  const w = new XdrWriter();
  const cred: Credential = rng.int(10) < 8 ? SYS : { kind: 'none' };
  const k = rng.int(20);
  const prog = k < 16 ? NFS_PROGRAM : k < 18 ? MOUNT_PROGRAM : k < 19 ? PORTMAP_PROGRAM : rng.int(2 ** 32);
  const vers = rng.int(20) === 0 ? rng.int(5) : 3;
  const proc = prog === NFS_PROGRAM ? rng.int(24) : rng.int(7);
  encodeCall(w, { xid, prog, vers, proc, cred }, (a) => {
    if (prog === NFS_PROGRAM) nfsArgs(rng, a, proc, handles);
    else if (prog === MOUNT_PROGRAM) a.writeString(rng.pick(['/', '', '/d', '/nope', '/../x', 'x'.repeat(rng.int(2000))]));
    else a.writeRaw(rng.bytes(rng.int(5) * 4));
  });
  return w.finish();
}

function mutate(rng: Rng, msg: Buffer): Buffer {
  let m = Buffer.from(msg);
  for (let k = 1 + rng.int(3); k > 0; k--) {
    switch (rng.int(4)) {
      case 0:
        if (m.length) m[rng.int(m.length)] ^= 1 << rng.int(8);
        break;
      case 1:
        if (m.length >= 4) m.writeUInt32BE(rng.pick([0xffffffff, 0x7fffffff, 0x80000000, 65, 256, rng.int(2 ** 32)]), 4 * rng.int(m.length >> 2));
        break;
      case 2:
        m = m.subarray(0, rng.int(m.length + 1));
        break;
      case 3:
        m = Buffer.concat([m, rng.bytes(rng.int(32))]);
        break;
    }
  }
  return m;
}

function header(n: number, last = true): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(recordMark(n, last));
  return h;
}


function randomCase(rng: Rng, xid: () => number, handles: Buffer[]): Case {
  const r = rng.int(100);
  if (r < 2) {
    const len = MAX_RECORD + 1 + rng.int(0x7fffffff - MAX_RECORD);
    return { name: 'oversized length', bytes: Buffer.concat([header(len, rng.int(2) === 0), rng.bytes(rng.int(64))]), records: 1, expectClose: true };
  }
  if (r < 4) {
    const framed = Buffer.concat([header(0, false), Buffer.from(randomCall(rng, xid(), handles))]);
    const msg = randomCall(rng, xid(), handles);
    const whole = Buffer.concat([header(msg.length), msg]);
    return { name: 'truncated then EOF', bytes: rng.int(2) ? whole.subarray(0, rng.int(whole.length)) : framed.subarray(0, 4), records: 1, expectClose: true, end: true };
  }
  if (r < 10) return { name: 'random bytes', bytes: Buffer.concat([header(0, false), (() => { const b = rng.bytes(rng.int(300)); return Buffer.concat([header(b.length), b]); })()]), records: 1, expectClose: false };
  const msg = randomCall(rng, xid(), handles);
  const m = rng.int(100) < 50 ? mutate(rng, msg) : msg;
  return { name: 'call', bytes: Buffer.concat([header(m.length), m]), records: 1, expectClose: false };
}

t.test(`NFS fuzz: ${RECORDS} random and mutated records (seed ${SEED})`, async (t) => {
  t.comment(`seed ${SEED} (replay: NFS_FUZZ_SEED=${SEED})`);
  const errors: string[] = [];
  const logger = { debug() {}, warn() {}, error: (o: object, m: string) => void errors.push(`${m} ${JSON.stringify(o).slice(0, 300)}`) };
  const stopFirst: Array<() => Promise<void>> = [];
  t.teardown(async () => {
    for (const f of stopFirst) await f();
  });
  const fx = makeView(t, { idleCommitMs: 100 });
  const server = await startNfs({ view: fx.view, host: '127.0.0.1', port: 0, logger, writeIdleMs: 100 });
  stopFirst.push(() => server.close());
  const port = server.port;

  // Handles worth aiming at: the root, a folder, a file, a history folder.
  await fx.view.mkdir('/d');
  await fx.view.createFile('/d/f.txt');
  const handles = ['root', (await fx.view.stat('/d')).key, (await fx.view.stat('/d/f.txt')).key, 'h:root'].map((k) => packKey(k)!);

  // A well-behaved client alongside: write, commit, read back, throughout.
  const good = await RpcClient.connect(port);
  stopFirst.unshift(async () => good.close());
  let goodCalls = 0;
  let fuzzing = true;
  const goodLoop = (async () => {
    const fileFh = handles[2]!;
    while (fuzzing) {
      const payload = Buffer.from(`good ${goodCalls}`);
      const wr = await good.call(NFS_PROGRAM, 3, NFSPROC3.GETATTR, (w) => w.writeOpaque(handles[1]!), { cred: SYS });
      if (wr.stat !== 'SUCCESS' || wr.results.readUint() !== 0) throw new Error(`good GETATTR: ${wr.stat}`);
      const rd = await good.call(NFS_PROGRAM, 3, NFSPROC3.READ, (w) => w.writeOpaque(fileFh).writeUhyper(0n).writeUint(16), { cred: SYS });
      if (rd.stat !== 'SUCCESS') throw new Error(`good READ: ${rd.stat}`);
      void payload;
      goodCalls++;
      await new Promise((res) => setTimeout(res, 2));
    }
  })();

  const rss0 = process.memoryUsage().rss;
  const { sent, answered, closes, failures } = await runFuzz({
    port,
    workers: WORKERS,
    records: RECORDS,
    seed: SEED,
    timeoutMs: 20_000,
    hexChars: 300,
    nextCase: (rng, xid) => randomCase(rng, xid, handles),
  });
  fuzzing = false;
  await goodLoop;
  const grownMiB = (process.memoryUsage().rss - rss0) / 2 ** 20;

  t.same(failures, [], `every record answered or its connection closed (seed ${SEED})`);
  t.ok(sent >= RECORDS, `${sent} records sent`);
  t.comment(`${answered} answered, ${closes} connections closed by the server, ${goodCalls} good-client rounds, RSS +${grownMiB.toFixed(0)} MiB`);
  t.ok(goodCalls > 0 && !good.closed, 'the well-behaved client was served throughout');
  t.ok(closes > 0 && answered > sent / 2, 'both outcomes exercised');
  t.ok(grownMiB < 256, `memory bounded: RSS grew ${grownMiB.toFixed(0)} MiB (< 256)`);
  t.same(errors.slice(0, 5), [], `no unexpected server errors (${errors.length})`);
  // still fully working afterwards
  const after = await RpcClient.connect(port);
  const rep = await after.call(NFS_PROGRAM, 3, NFSPROC3.GETATTR, (w) => w.writeOpaque(handles[0]!), { cred: SYS });
  after.close();
  t.equal(rep.stat, 'SUCCESS', 'a new client is served after the fuzzing');
});
