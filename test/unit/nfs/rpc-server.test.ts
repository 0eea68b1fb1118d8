import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readInto } from '../../../protocols/nfs/rpc/read-into.js';
import { AUTH_STAT, RpcClient, RpcServer, recordMark, type RpcServerOptions, type RpcListenOptions } from '../../../protocols/nfs/rpc/index.js';
import { TEST_PROG, P, testProgram, recordingLogger, type TestProgState } from './fixtures/rpc-testprog.js';
import { RawConn, callMessage, callRecord } from './fixtures/rpc-socket.js';
import { hex } from './fixtures/hex.js';

async function start(t: Tap, opts: RpcServerOptions = {}, listen: RpcListenOptions = {}, state?: TestProgState) {
  const logger = recordingLogger();
  const server = new RpcServer({ logger, ...opts });
  server.register(TEST_PROG, testProgram(state));
  const { port } = await server.listen({ host: '127.0.0.1', port: 0, ...listen });
  t.teardown(() => server.close());
  return { server, port, logger };
}
type Tap = { teardown(f: () => unknown): void };

async function client(t: Tap, port: number): Promise<RpcClient> {
  const c = await RpcClient.connect(port);
  t.teardown(() => c.close());
  return c;
}

t.test('pipelined calls are answered as they complete, matched by xid', async (t) => {
  const { port } = await start(t);
  const c = await client(t, port);
  const order: number[] = [];
  const calls = [80, 40, 0].map((ms) =>
    c.call(TEST_PROG, 1, P.SLEEP, (w) => w.writeUint(ms)).then((r) => {
      if (r.stat !== 'SUCCESS') throw new Error(r.stat);
      order.push(r.results.readUint());
    }),
  );
  await Promise.all(calls);
  t.same(order, [0, 40, 80], 'fastest first');

  // Three calls in one TCP write, replies by xid.
  const raw = await RawConn.connect(port);
  t.teardown(() => raw.destroy());
  raw.write(
    Buffer.concat([
      callRecord({ xid: 1, prog: TEST_PROG, vers: 1, proc: P.SLEEP }, (w) => w.writeUint(50)),
      callRecord({ xid: 2, prog: TEST_PROG, vers: 1, proc: P.NULL }),
      callRecord({ xid: 3, prog: TEST_PROG, vers: 1, proc: P.SLEEP }, (w) => w.writeUint(10)),
    ]),
  );
  await raw.waitFor(3);
  t.same(
    raw.replies.map((r) => r.xid),
    [2, 3, 1],
  );
});

t.test('every rejection over a socket', async (t) => {
  const { port } = await start(t);
  const c = await client(t, port);
  t.match(await c.call(999, 1, 0), { stat: 'PROG_UNAVAIL' });
  t.match(await c.call(TEST_PROG, 3, 0), { stat: 'PROG_MISMATCH', low: 1, high: 2 });
  t.match(await c.call(TEST_PROG, 2, 77), { stat: 'PROC_UNAVAIL' });
  t.match(await c.call(TEST_PROG, 1, P.ECHO, (w) => w.writeString('x'.repeat(65))), { stat: 'GARBAGE_ARGS' });
  t.match(await c.call(TEST_PROG, 1, P.ECHO), { stat: 'GARBAGE_ARGS' }, 'missing args');
  t.match(await c.call(TEST_PROG, 1, 0, undefined, { cred: { kind: 'other', flavor: 6, body: hex('00') } }), {
    stat: 'AUTH_ERROR',
    why: AUTH_STAT.BADCRED,
  });
  const raw = await RawConn.connect(port);
  t.teardown(() => raw.destroy());
  const msg = callMessage({ xid: 9, prog: TEST_PROG, vers: 1, proc: 0 });
  msg.writeUInt32BE(1, 8);
  raw.write(Buffer.concat([hex(recordMark(msg.length).toString(16)), msg]));
  await raw.waitFor(1);
  t.match(raw.replies[0], { xid: 9, stat: 'RPC_MISMATCH', low: 2, high: 2 });
  t.match(await c.call(TEST_PROG, 2, P.ECHO, (w) => w.writeString('ok').writeArray([1, 2], (x, v) => x.writeUint(v))), { stat: 'SUCCESS' });
});

t.test('a throwing handler gets SYSTEM_ERR and is logged; the connection lives on', async (t) => {
  const { port, logger } = await start(t);
  const c = await client(t, port);
  t.match(await c.call(TEST_PROG, 1, P.THROW), { stat: 'SYSTEM_ERR' });
  t.match(await c.call(TEST_PROG, 1, P.BAD_BODY), { stat: 'SYSTEM_ERR' });
  t.match(await c.call(TEST_PROG, 1, P.NULL), { stat: 'SUCCESS' });
  t.equal(logger.errors.length, 2);
});

t.test('a garbage record closes only its own connection', async (t) => {
  const { port, server } = await start(t, { maxRecordSize: 4096 });
  const good = await client(t, port);
  t.match(await good.call(TEST_PROG, 1, P.NULL), { stat: 'SUCCESS' });
  const cases: Array<[string, Buffer]> = [
    ['oversized record mark', hex('ffffffff 00000000')],
    ['record over the limit', hex('80001001')],
    ['record too short for an xid', hex('80000002 0102')],
    ['a REPLY message', hex('80000008 00000001 00000001')],
  ];
  for (const [name, bytes] of cases) {
    const bad = await RawConn.connect(port);
    t.teardown(() => bad.destroy());
    bad.write(bytes);
    await bad.waitFor(1);
    t.ok(bad.closed, `${name}: closed`);
    t.equal(bad.replies.length, 0, `${name}: no reply`);
    t.match(await good.call(TEST_PROG, 1, P.NULL), { stat: 'SUCCESS' }, `${name}: other connection still served`);
  }
  const eof = await RawConn.connect(port);
  eof.write(hex('80000010 00000001'));
  eof.socket.end();
  await eof.waitFor(1);
  t.ok(eof.closed, 'EOF inside a record closes');
  await sleep(20);
  t.equal(server.connectionCount, 1, 'only the good connection remains');
});

t.test('EOF after whole calls: replies are still delivered', async (t) => {
  const { port } = await start(t);
  const raw = await RawConn.connect(port);
  raw.write(callRecord({ xid: 5, prog: TEST_PROG, vers: 1, proc: P.SLEEP }, (w) => w.writeUint(30)));
  raw.socket.end();
  await raw.waitFor(2);
  t.match(raw.replies, [{ xid: 5, stat: 'SUCCESS' }]);
  t.ok(raw.closed, 'server ends the connection afterwards');
});

t.test('multi-fragment calls', async (t) => {
  const { port } = await start(t);
  const raw = await RawConn.connect(port);
  t.teardown(() => raw.destroy());
  const msg = callMessage({ xid: 77, prog: TEST_PROG, vers: 1, proc: P.ECHO }, (w) => w.writeString('frag').writeArray([3], (x, v) => x.writeUint(v)));
  const parts = [msg.subarray(0, 5), msg.subarray(5, 5), msg.subarray(5, 30), msg.subarray(30)];
  const frames = parts.map((p, i) => {
    const h = Buffer.alloc(4);
    h.writeUInt32BE(recordMark(p.length, i === parts.length - 1));
    return Buffer.concat([h, p]);
  });
  const all = Buffer.concat(frames);
  for (let i = 0; i < all.length; i += 3) raw.write(all.subarray(i, i + 3));
  await raw.waitFor(1);
  const r = raw.replies[0]!;
  t.equal(r.stat, 'SUCCESS');
  if (r.stat === 'SUCCESS') t.equal(r.results.readString(64), 'frag');
});

t.test('large calls, pipelined, each read into a buffer of its own until its reply is sent', async (t) => {
  for (const readInto of [true, false]) {
    const { port } = await start(t, { readInto });
    const raw = await RawConn.connect(port);
    t.teardown(() => raw.destroy());
    // Sizes around the large-fragment threshold and the 1 MiB of a WRITE; slow and fast handlers
    // mixed, so buffers are reused while earlier calls still wait.
    const sizes = [70_000, 1024 * 1024, 65_536, 65_535, 1024 * 1024 + 100, 300_000, 1024 * 1024, 5, 200_000, 1024 * 1024];
    const sent = sizes.map((n) => randomBytes(n));
    const stream = Buffer.concat(sent.map((data, i) => callRecord({ xid: 100 + i, prog: TEST_PROG, vers: 1, proc: P.DIGEST }, (w) => w.writeUint(i % 3 === 0 ? 40 : 0).writeOpaque(data))));
    // Odd-sized writes, so reads split headers and payloads anywhere.
    for (let at = 0; at < stream.length; at += 50_001) raw.write(stream.subarray(at, at + 50_001));
    await raw.waitFor(sizes.length, 20000);
    t.equal(raw.replies.length, sizes.length, `readInto ${readInto}: every call answered`);
    for (const r of raw.replies) {
      if (r.stat !== 'SUCCESS') {
        t.fail(`xid ${r.xid}: ${r.stat}`);
        continue;
      }
      const want = createHash('sha256').update(sent[r.xid - 100]!).digest();
      t.same(r.results.readFixedOpaque(32), want, `readInto ${readInto}, xid ${r.xid}: the bytes sent arrived`);
      t.same(r.results.readFixedOpaque(32), want, `readInto ${readInto}, xid ${r.xid}: and did not change before the reply`);
    }
  }
});

t.test('readInto: an accepted socket receives into the buffers it is given', async (t) => {
  const got: Buffer[] = [];
  let dataEvents = 0;
  const scratch = Buffer.alloc(4);
  const target = Buffer.alloc(10);
  let inTarget = 0;
  const received = () => got.reduce((n, b) => n + b.length, 0);
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      socket.on('data', () => dataEvents++);
      socket.on('error', reject);
      const ok = readInto(
        socket,
        // Never an empty buffer: libuv would fail the read (ENOBUFS).
        () => (got.length === 0 || inTarget === target.length ? scratch : target.subarray(inTarget)),
        (n, buf) => {
          got.push(Buffer.from(buf.subarray(0, n)));
          if (buf !== scratch) inTarget += n;
          if (received() >= 14) resolve();
        },
      );
      if (!ok) reject(new Error('readInto is not available on this Node: uploads lose their fast path'));
      socket.resume();
    });
    t.teardown(() => server.close());
    server.listen(0, '127.0.0.1', () => {
      const c = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1', () => c.end(Buffer.from('abcdefghijklmn')));
      t.teardown(() => c.destroy());
    });
  });
  t.equal(Buffer.concat(got).toString(), 'abcdefghijklmn', 'every byte, in order');
  t.equal(got[0]!.length, 4, 'the first read filled the first buffer, no more');
  t.equal(target.toString(), 'efghijklmn', 'later reads landed in the buffer named next');
  t.equal(dataEvents, 0, "no 'data' events");
});

/** A file of random bytes, open for reading, for FILE replies; closed and removed after the test. */
function openFile(t: Tap, size: number): { bytes: Buffer; state: TestProgState & { file: { fd: number; given: number } } } {
  const dir = mkdtempSync(join(tmpdir(), 'marble-rpc-file-'));
  const bytes = randomBytes(size);
  writeFileSync(join(dir, 'data'), bytes);
  const fd = openSync(join(dir, 'data'), 'r');
  t.teardown(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  return { bytes, state: { running: 0, maxRunning: 0, started: 0, file: { fd, given: 0 } } };
}

const fileCall = (xid: number, offset: number, length: number, ms = 0) =>
  callRecord({ xid, prog: TEST_PROG, vers: 1, proc: P.FILE }, (w) => w.writeUint(offset).writeUint(length).writeUint(ms));

t.test('a reply ending in a range of a file arrives byte for byte, sent from the page cache or copied', async (t) => {
  for (const zeroCopy of [true, false]) {
    const { bytes, state } = openFile(t, 3 << 20);
    const { port } = await start(t, { zeroCopy }, {}, state);
    const raw = await RawConn.connect(port);
    t.teardown(() => raw.destroy());
    // Lengths with every padding (0-3 bytes), empty, at the file's end; plain replies in between.
    const ranges: Array<[number, number, number]> = [
      [0, 1 << 20, 0],
      [5, (1 << 20) + 3, 10],
      [7, 1, 0],
      [100, 0, 5],
      [(3 << 20) - 2, 2, 0],
      [12345, 654321, 20],
    ];
    const calls = ranges.flatMap(([offset, length, ms], i) => [fileCall(i + 1, offset, length, ms), callRecord({ xid: 100 + i, prog: TEST_PROG, vers: 1, proc: P.NULL })]);
    raw.write(Buffer.concat(calls));
    await raw.waitFor(calls.length);
    t.equal(raw.replies.length, calls.length, `zeroCopy ${zeroCopy}: every call answered`);
    for (const r of raw.replies) {
      if (r.stat !== 'SUCCESS') throw new Error(`xid ${r.xid}: ${r.stat}`);
      if (r.xid >= 100) continue;
      const [offset, length] = ranges[r.xid - 1]!;
      t.ok(r.results.readOpaque(4 << 20).equals(bytes.subarray(offset, offset + length)), `zeroCopy ${zeroCopy}: ${length} bytes from ${offset}`);
      t.equal(r.results.remaining, 0, 'the padding is part of the reply, nothing more');
    }
    t.equal(state.file.given, ranges.length, 'each reply gave its file back once');
  }
});

t.test('a client that does not read: replies ending in file ranges queue behind each other and arrive whole', async (t) => {
  const { bytes, state } = openFile(t, 4 << 20);
  const { port } = await start(t, { maxInFlight: 64, maxBufferedBytes: 64 << 20 }, {}, state);
  const raw = await RawConn.connect(port);
  t.teardown(() => raw.destroy());
  raw.socket.pause();
  const n = 40;
  const offsetOf = (i: number) => (i * 98_765) % (3 << 20);
  const lengthOf = (i: number) => (1 << 20) - (i % 4);
  raw.write(Buffer.concat(Array.from({ length: n }, (_, i) => fileCall(i + 1, offsetOf(i), lengthOf(i)))));
  await sleep(300); // the socket's buffer fills: sends stop part-way and the rest is queued
  raw.socket.resume();
  await raw.waitFor(n, 20000);
  t.equal(raw.replies.length, n, 'all answered once the client reads');
  let intact = 0;
  for (const r of raw.replies) {
    const i = r.xid - 1;
    if (r.stat === 'SUCCESS' && r.results.readOpaque(4 << 20).equals(bytes.subarray(offsetOf(i), offsetOf(i) + lengthOf(i)))) intact++;
  }
  t.equal(intact, n, 'every reply holds its range byte for byte');
  t.equal(state.file.given, n, 'and gave its file back');
});

t.test('a file range that cannot be read closes its connection, not the server', async (t) => {
  for (const zeroCopy of [true, false]) {
    const { state } = openFile(t, 4096);
    const { port, logger } = await start(t, { zeroCopy }, {}, state);
    const raw = await RawConn.connect(port);
    t.teardown(() => raw.destroy());
    raw.write(fileCall(1, 4000, 1000)); // 904 bytes past the file's end
    await raw.waitFor(1);
    t.ok(raw.closed, `zeroCopy ${zeroCopy}: the connection is closed (the reply's header may be out already)`);
    t.match(logger.errors.join('\n'), /reading the data of a reply failed/, 'and the failure logged');
    t.equal(state.file.given, 1, 'the file was given back');
    const c = await client(t, port);
    t.match(await c.call(TEST_PROG, 1, P.FILE, (w) => w.writeUint(0).writeUint(10).writeUint(0)), { stat: 'SUCCESS' }, 'the server serves the next client');
  }
});

t.test('allow-list refuses clients with AUTH_ERROR, except for programs that handle it', async (t) => {
  const seen: string[] = [];
  const { port, server } = await start(t, {}, { allow: (a) => (seen.push(a), false) });
  server.register(TEST_PROG + 1, { ...testProgram(), acceptsRefused: true });
  const c = await client(t, port);
  t.match(await c.call(TEST_PROG, 1, P.NULL), { stat: 'AUTH_ERROR', why: AUTH_STAT.TOOWEAK });
  const who = await c.call(TEST_PROG + 1, 1, P.WHO);
  t.equal(who.stat, 'SUCCESS');
  if (who.stat === 'SUCCESS') {
    t.equal(who.results.readBool(), false, 'handler told the client is refused');
    t.equal(who.results.readString(64), '127.0.0.1');
  }
  t.same(seen, ['127.0.0.1'], 'asked once per connection');

  const thrower = await start(t, {}, { allow: () => { throw new Error('bad list'); } });
  const c2 = await client(t, thrower.port);
  t.match(await c2.call(TEST_PROG, 1, P.NULL), { stat: 'AUTH_ERROR', why: AUTH_STAT.TOOWEAK }, 'a throwing allow-list refuses');
  t.equal(thrower.logger.errors.length, 1);
});

t.test('in-flight calls per connection are bounded', async (t) => {
  const state = { running: 0, maxRunning: 0, started: 0 };
  const { port } = await start(t, { maxInFlight: 3 }, {}, state);
  const c = await client(t, port);
  const replies = await Promise.all(Array.from({ length: 20 }, () => c.call(TEST_PROG, 1, P.SLEEP, (w) => w.writeUint(5))));
  t.equal(replies.filter((r) => r.stat === 'SUCCESS').length, 20, 'all answered');
  t.equal(state.maxRunning, 3, 'never more than 3 at once');
});

t.test('backpressure: a client that does not read stops the server from reading', async (t) => {
  const state = { running: 0, maxRunning: 0, started: 0 };
  const { port } = await start(t, { maxBufferedBytes: 1024 * 1024, maxInFlight: 64 }, {}, state);
  const raw = await RawConn.connect(port);
  t.teardown(() => raw.destroy());
  raw.socket.pause();
  const n = 200;
  const size = 256 * 1024;
  for (let i = 0; i < n; i++) raw.write(callRecord({ xid: i, prog: TEST_PROG, vers: 1, proc: P.BIG }, (w) => w.writeUint(size)));
  await sleep(300);
  const startedWhilePaused = state.started;
  t.ok(startedWhilePaused < n / 2, `server stopped computing replies (${startedWhilePaused} of ${n} started)`);
  raw.socket.resume();
  await raw.waitFor(n, 20000);
  t.equal(raw.replies.length, n, 'all answered once the client reads');
});

t.test('close() drops open connections', async (t) => {
  const server = new RpcServer();
  server.register(TEST_PROG, testProgram());
  const { port } = await server.listen();
  const raw = await RawConn.connect(port);
  raw.write(callRecord({ xid: 1, prog: TEST_PROG, vers: 1, proc: P.NULL }));
  await raw.waitFor(1);
  await server.close();
  await raw.waitFor(2);
  t.ok(raw.closed);
  await t.rejects(RawConn.connect(port), 'no longer listening');
});
