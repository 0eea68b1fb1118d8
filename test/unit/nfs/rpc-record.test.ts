import t, { type Test } from 'tap';
import { RecordDecoder, finishRecord, frameRecord, newRecordWriter, recordMark } from '../../../protocols/nfs/rpc/record.js';
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
