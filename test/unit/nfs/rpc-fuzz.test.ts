import t from 'tap';
import { XdrWriter } from '../../../protocols/nfs/xdr/index.js';
import { RpcClient, RpcServer, encodeCall, recordMark, type Credential } from '../../../protocols/nfs/rpc/index.js';
import { TEST_PROG, P, testProgram, recordingLogger } from './fixtures/rpc-testprog.js';
import { runFuzz, type Case, type Rng } from './fixtures/fuzz.js';

// Seeded so a failure can be replayed: FUZZ_SEED=<seed> npx tap dist/test/unit/nfs/rpc-fuzz.test.js
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const RECORDS = Number(process.env.FUZZ_RECORDS ?? 12_000);
const WORKERS = 8;
const MAX_RECORD = 64 * 1024;

/** mulberry32: small, fast, good enough to drive a fuzzer. */

/** A plausible call, valid or not, with arguments shaped for the test program. */
function randomCall(rng: Rng, xid: number): Buffer {
  const w = new XdrWriter();
  const credKind = rng.int(10);
  let cred: Credential = { kind: 'none' };
  if (credKind < 4) {
    const gids = Array.from({ length: rng.int(10) < 8 ? rng.int(17) : 16 }, () => rng.int(65536));
    cred = { kind: 'sys', stamp: rng.int(2 ** 32), machinename: 'm'.repeat(rng.int(10) < 9 ? rng.int(40) : 255), uid: rng.int(2 ** 32), gid: rng.int(100), gids };
  } else if (credKind === 4) {
    cred = { kind: 'other', flavor: rng.pick([2, 3, 6, 390003, rng.int(2 ** 32)]), body: rng.bytes(rng.int(100)) };
  }
  const verf = rng.int(20) === 0 ? { flavor: rng.int(8), body: rng.bytes(rng.int(20)) } : undefined;
  const prog = rng.int(10) < 8 ? TEST_PROG : rng.pick([100000, 100003, 100005, rng.int(2 ** 32)]);
  const vers = rng.int(10) < 8 ? 1 + rng.int(2) : rng.int(2 ** 32);
  const proc = rng.int(12);
  encodeCall(w, { xid, prog, vers, proc, cred, ...(verf ? { verf } : {}) }, (a) => {
    switch (proc) {
      case P.ECHO:
        a.writeString('e'.repeat(rng.int(70))).writeArray(Array.from({ length: rng.int(10) }, () => rng.int(1000)), (x, v) => x.writeUint(v));
        break;
      case P.SLEEP:
        a.writeUint(rng.int(3));
        break;
      case P.BIG:
        a.writeUint(rng.int(4096));
        break;
      default:
        a.writeRaw(rng.bytes(rng.int(3) * 4));
    }
  });
  return w.finish();
}

/** Mutations that keep the framing but break the message. */
function mutate(rng: Rng, msg: Buffer): Buffer {
  let m = Buffer.from(msg);
  for (let k = rng.int(4); k > 0; k--) {
    switch (rng.int(5)) {
      case 0: // flip a byte
        if (m.length) m[rng.int(m.length)] ^= 1 << rng.int(8);
        break;
      case 1: // an aligned word becomes a huge or random length
        if (m.length >= 4) m.writeUInt32BE(rng.pick([0xffffffff, 0x7fffffff, 0x80000000, 401, 256, 17, rng.int(2 ** 32)]), 4 * rng.int(m.length >> 2));
        break;
      case 2: // truncate
        m = m.subarray(0, rng.int(m.length + 1));
        break;
      case 3: // trailing garbage
        m = Buffer.concat([m, rng.bytes(rng.int(32))]);
        break;
      case 4: // a word inside the first 48 bytes gets a small random value (msg type, rpcvers, flavor…)
        if (m.length >= 4) m.writeUInt32BE(rng.int(8), 4 * rng.int(Math.min(12, m.length >> 2)));
        break;
    }
  }
  return m;
}

/** Frames a message, sometimes as several fragments. */
function frame(rng: Rng, msg: Buffer): Buffer {
  const parts: Buffer[] = [];
  let rest = msg;
  while (rng.int(4) === 0 && rest.length > 0) {
    const n = rng.int(rest.length + 1);
    parts.push(header(n, false), rest.subarray(0, n));
    rest = rest.subarray(n);
  }
  parts.push(header(rest.length, true), rest);
  return Buffer.concat(parts);
}

function header(n: number, last: boolean): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(recordMark(n, last));
  return h;
}


function randomCase(rng: Rng, xid: () => number): Case {
  const r = rng.int(100);
  if (r < 3) {
    // A record mark over the limit: the server must close without waiting for the payload.
    const len = MAX_RECORD + 1 + rng.int(0x7fffffff - MAX_RECORD);
    return { name: 'oversized length', bytes: Buffer.concat([header(len, rng.int(2) === 0), rng.bytes(rng.int(64))]), records: 1, expectClose: true };
  }
  if (r < 5) {
    // A record cut short, then EOF.
    const msg = randomCall(rng, xid());
    const framed = frame(rng, msg);
    return { name: 'truncated stream then EOF', bytes: framed.subarray(0, rng.int(framed.length)), records: 1, expectClose: true, end: true };
  }
  if (r < 15) {
    return { name: 'random bytes', bytes: frame(rng, rng.bytes(rng.int(200))), records: 1, expectClose: false };
  }
  const n = rng.int(5) === 0 ? 1 + rng.int(4) : 1;
  const msgs = Array.from({ length: n }, () => {
    const msg = randomCall(rng, xid());
    return rng.int(100) < 60 ? mutate(rng, msg) : msg;
  });
  return { name: n > 1 ? `${n} pipelined calls` : 'call', bytes: Buffer.concat(msgs.map((m) => frame(rng, m))), records: n, expectClose: false };
}

t.test(`fuzz: ${RECORDS} random and mutated records (seed ${SEED})`, async (t) => {
  t.comment(`seed ${SEED} (replay: FUZZ_SEED=${SEED})`);
  const logger = recordingLogger();
  const server = new RpcServer({ logger, maxRecordSize: MAX_RECORD, maxInFlight: 16, maxBufferedBytes: 1024 * 1024 });
  server.register(TEST_PROG, testProgram());
  const { port } = await server.listen();
  t.teardown(() => server.close());

  // A well-behaved client alongside, calling throughout.
  const good = await RpcClient.connect(port);
  t.teardown(() => good.close());
  let goodCalls = 0;
  let fuzzing = true;
  const goodLoop = (async () => {
    while (fuzzing) {
      const r = await good.call(TEST_PROG, 2, P.ECHO, (w) => w.writeString('still here').writeArray([goodCalls], (x, v) => x.writeUint(v)));
      if (r.stat !== 'SUCCESS' || r.results.readString(64) !== 'still here') throw new Error(`good client got ${r.stat}`);
      goodCalls++;
      await new Promise((res) => setTimeout(res, 2));
    }
  })();

  // With NODE_OPTIONS=--expose-gc the retained heap is reported too.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const rss0 = process.memoryUsage().rss;
  const heap0 = process.memoryUsage().heapUsed;
  const { sent, answered, closes, failures } = await runFuzz({
    port,
    workers: WORKERS,
    records: RECORDS,
    seed: SEED,
    timeoutMs: 10_000,
    hexChars: 400,
    nextCase: randomCase,
  });
  fuzzing = false;
  await goodLoop;
  gc?.();
  const rss1 = process.memoryUsage().rss;
  if (gc) {
    const heapGrownMiB = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
    t.ok(heapGrownMiB < 32, `heap retained after gc grew by ${heapGrownMiB.toFixed(1)} MiB (< 32) (seed ${SEED})`);
  }

  t.same(failures, [], `no record left unanswered with the connection open (seed ${SEED})`);
  t.ok(sent >= RECORDS, `${sent} records sent`);
  t.comment(`${answered} answered on a live connection, ${closes} connections closed by the server, ${goodCalls} good-client calls`);
  t.ok(goodCalls > 0 && !good.closed, 'the well-behaved client was served throughout');
  t.ok(answered > sent / 2 && closes > 0, 'both outcomes exercised');
  const unexpected = logger.errors.filter((e) => !/handler bug|body bug/.test(e));
  t.same(unexpected.slice(0, 5), [], `no unexpected server errors (${unexpected.length})`);
  const grownMiB = (rss1 - rss0) / 2 ** 20;
  t.comment(`rss ${Math.round(rss0 / 2 ** 20)} MiB → ${Math.round(rss1 / 2 ** 20)} MiB`);
  t.ok(grownMiB < 150, `rss grew by ${grownMiB.toFixed(1)} MiB (< 150) (seed ${SEED})`);

  // And the server still takes new clients.
  const after = await RpcClient.connect(port);
  t.match(await after.call(TEST_PROG, 1, P.NULL), { stat: 'SUCCESS' }, 'new connections still served');
  after.close();
  await new Promise((res) => setTimeout(res, 50));
  t.ok(server.connectionCount <= 2, `closed connections were released (${server.connectionCount} open)`);
});
