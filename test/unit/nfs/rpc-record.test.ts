import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { LARGE_FRAGMENT, RecordDecoder, finishRecord, frameRecord, newRecordWriter, recordMark } from '../../../protocols/nfs/rpc/record.js';
import { RecordBuffers } from '../../../protocols/nfs/rpc/record-buffers.js';
import { hex, toHex } from './fixtures/hex.js';

const throwsCode = (t: Test, f: () => unknown, code: string, msg: string) => t.throws(f, { name: 'RecordError', code }, msg);

// Three records: a single fragment, a three-fragment one (including an empty
// middle fragment), and an empty record (one empty last fragment).
const STREAM = hex(`
  8000000c 00000001 00000002 00000003
  00000004 aaaaaaaa 00000000 80000006 bbbbbbbbcccc
  80000000
`);
const RECORDS = ['000000010000000200000003', 'aaaaaaaabbbbbbbbcccc', ''];

function decodeAll(chunks: Buffer[], max = 1024): string[] {
  const d = new RecordDecoder({ maxRecordSize: max });
  const out: string[] = [];
  for (const c of chunks) for (const r of d.push(c)) out.push(toHex(r));
  return out;
}

t.test('whole stream in one chunk', async (t) => {
  t.same(decodeAll([STREAM]), RECORDS);
});

t.test('split at every byte boundary', async (t) => {
  for (let i = 0; i <= STREAM.length; i++) {
    t.same(decodeAll([STREAM.subarray(0, i), STREAM.subarray(i)]), RECORDS, `split at ${i}`);
  }
  for (let i = 0; i <= STREAM.length; i++) {
    for (let j = i; j <= STREAM.length; j++) {
      const got = decodeAll([STREAM.subarray(0, i), STREAM.subarray(i, j), STREAM.subarray(j)]);
      if (JSON.stringify(got) !== JSON.stringify(RECORDS)) t.fail(`split at ${i} and ${j}`);
    }
  }
  const bytes = [...STREAM].map((b) => Buffer.from([b]));
  t.same(decodeAll(bytes), RECORDS, 'one byte at a time');
});

t.test('record views and copies', async (t) => {
  const d = new RecordDecoder({ maxRecordSize: 64 });
  const chunk = hex('80000004 01020304');
  const [rec] = d.push(chunk);
  t.equal(rec!.buffer, chunk.buffer, 'single-fragment record within a chunk is a view');
  const [multi] = d.push(hex('00000002 0102 80000002 0304'));
  t.equal(toHex(multi!), '01020304', 'fragments joined');
});

t.test('midRecord and bufferedBytes', async (t) => {
  const d = new RecordDecoder({ maxRecordSize: 64 });
  t.equal(d.midRecord, false);
  d.push(hex('8000'));
  t.equal(d.midRecord, true, 'inside a header');
  d.push(hex('0008 0102'));
  t.equal(d.bufferedBytes, 2);
  t.equal(d.push(hex('030405060708')).length, 1);
  t.equal(d.midRecord, false);
  t.equal(d.bufferedBytes, 0);
  d.push(hex('00000001 ff'));
  t.equal(d.midRecord, true, 'between fragments');
});

t.test('oversized lengths are rejected at the header, before buffering', async (t) => {
  const d = new RecordDecoder({ maxRecordSize: 16 });
  throwsCode(t, () => d.push(hex('80000011')), 'RPC_RECORD_TOO_LARGE', 'one fragment over the limit');
  throwsCode(t, () => d.push(hex('80000001 00')), 'RPC_DECODER_FAILED', 'decoder stays failed');
  throwsCode(t, () => new RecordDecoder({ maxRecordSize: 1 << 20 }).push(hex('ffffffff')), 'RPC_RECORD_TOO_LARGE', '2 GiB fragment');
  throwsCode(t, () => new RecordDecoder({ maxRecordSize: 1 << 20 }).push(hex('7fffffff')), 'RPC_RECORD_TOO_LARGE', '2 GiB non-last fragment');
  throwsCode(
    t,
    () => new RecordDecoder({ maxRecordSize: 16 }).push(hex('0000000a 00000000000000000000 80000007')),
    'RPC_RECORD_TOO_LARGE',
    'fragments adding up over the limit',
  );
  t.same(decodeAll([hex('80000010 00000000000000000000000000000000')], 16).length, 1, 'exactly the limit is fine');
});

t.test('fragment count is bounded', async (t) => {
  const d = new RecordDecoder({ maxRecordSize: 1024, maxFragments: 3 });
  t.same(d.push(hex('00000000 00000000 80000000')).length, 1, 'three fragments fine');
  throwsCode(t, () => d.push(hex('00000000 00000000 00000000 80000000')), 'RPC_TOO_MANY_FRAGMENTS', 'fourth fragment');
});

/** `payload` framed as fragments of the given lengths (the last one marked last). */
function fragmented(payload: Buffer, lengths: number[]): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  lengths.forEach((n, i) => {
    const mark = Buffer.alloc(4);
    mark.writeUInt32BE(recordMark(n, i === lengths.length - 1));
    parts.push(mark, payload.subarray(at, at + n));
    at += n;
  });
  return Buffer.concat(parts);
}

t.test('a large fragment is assembled in a buffer from the pool, whatever the chunking', async (t) => {
  const buffers = new RecordBuffers(256 * 1024);
  const payload = randomBytes(200_000);
  const stream = Buffer.concat([fragmented(payload, [payload.length]), frameRecord(hex('0a0b'))]);
  for (const step of [1000, 65_536, 99_999, stream.length]) {
    const d = new RecordDecoder({ maxRecordSize: 256 * 1024, buffers });
    const out: Buffer[] = [];
    for (let at = 0; at < stream.length; at += step) {
      // A reused chunk: overwritten right after push(), as the server's shared scratch is.
      const chunk = Buffer.from(stream.subarray(at, at + step));
      out.push(...d.push(chunk, true));
      chunk.fill(0xee);
    }
    t.equal(out.length, 2, `chunks of ${step}: two records`);
    t.ok(out[0]!.equals(payload), `chunks of ${step}: the large record's bytes`);
    t.equal(toHex(out[1]!), '0a0b', `chunks of ${step}: the small record is a copy, not a view of the reused chunk`);
    t.ok(buffers.give(out[0]!), `chunks of ${step}: the large record came from the pool`);
    t.notOk(buffers.give(out[1]!), `chunks of ${step}: the small one did not`);
  }
  t.equal(buffers.freeCount, 1, 'one slab served every run');
});

t.test('readTarget and filled: the rest of a large fragment is received in place', async (t) => {
  const buffers = new RecordBuffers(256 * 1024);
  const payload = randomBytes(LARGE_FRAGMENT + 10);
  const stream = fragmented(payload, [payload.length]);
  const d = new RecordDecoder({ maxRecordSize: 256 * 1024, buffers });
  t.equal(d.readTarget(), null, 'nothing to receive in place before a large header');
  t.same(d.push(stream.subarray(0, 100), true), []);
  let target = d.readTarget()!;
  t.equal(target.length, payload.length - 96, 'exactly the missing bytes');
  stream.copy(target, 0, 100, 30_100);
  t.same(d.filled(30_000), []);
  target = d.readTarget()!;
  t.equal(target.length, payload.length - 30_096);
  t.throws(() => d.filled(target.length + 1), RangeError, 'more than was missing');
  stream.copy(target, 0, 30_100);
  const [record] = d.filled(target.length);
  t.ok(record!.equals(payload), 'the record');
  t.equal(d.readTarget(), null, 'nothing in progress');
  t.equal(d.midRecord, false);
  t.throws(() => d.filled(1), RangeError, 'no large fragment in progress');
});

t.test('a record of several fragments, large ones among them, is joined; their slabs go back', async (t) => {
  const buffers = new RecordBuffers(256 * 1024);
  const payload = randomBytes(3 * LARGE_FRAGMENT);
  const d = new RecordDecoder({ maxRecordSize: 256 * 1024, buffers });
  const [record] = d.push(fragmented(payload, [LARGE_FRAGMENT, 100, payload.length - LARGE_FRAGMENT - 100]));
  t.ok(record!.equals(payload));
  t.notOk(buffers.give(record!), 'the joined record is a fresh buffer');
  t.equal(buffers.freeCount, 2, 'both large fragments given back');
  const failing = new RecordDecoder({ maxRecordSize: LARGE_FRAGMENT + 100, buffers });
  const first = fragmented(payload.subarray(0, LARGE_FRAGMENT), [LARGE_FRAGMENT]);
  first.writeUInt32BE(recordMark(LARGE_FRAGMENT, false));
  t.same(failing.push(first), []);
  t.equal(buffers.freeCount, 1, 'the first fragment holds a slab');
  throwsCode(t, () => failing.push(hex('800000c8')), 'RPC_RECORD_TOO_LARGE', 'a second fragment over the limit');
  t.equal(buffers.freeCount, 2, 'the failed record gave its slab back');
});

t.test('RecordBuffers: slabs are reused, given back once, and bounded', async (t) => {
  const buffers = new RecordBuffers(1000, 2);
  const a = buffers.take(600);
  t.equal(a.length, 600);
  t.ok(buffers.give(a.subarray(10, 20)), 'a view of the slab gives it back');
  t.notOk(buffers.give(a), 'a second give of the same slab is ignored');
  t.equal(buffers.freeCount, 1);
  const b = buffers.take(1000);
  t.equal(b.buffer, a.buffer, 'the slab is handed out again');
  t.notOk(buffers.give(Buffer.alloc(1000)), 'a foreign buffer is not taken');
  t.throws(() => buffers.take(1001), RangeError);
  const more = [b, buffers.take(1), buffers.take(1)];
  for (const m of more) buffers.give(m);
  t.equal(buffers.freeCount, 2, 'at most `keep` free slabs');
});

t.test('encoder writes single-fragment records', async (t) => {
  t.equal(toHex(frameRecord(hex('01020304'))), '8000000401020304');
  t.equal(toHex(frameRecord(Buffer.alloc(0))), '80000000');
  const w = newRecordWriter();
  w.writeString('abc');
  t.equal(toHex(finishRecord(w)), '80000008' + '0000000361626300');
  t.equal(recordMark(5), 0x80000005);
  t.equal(recordMark(5, false), 5);
  t.throws(() => recordMark(2 ** 31));
});
