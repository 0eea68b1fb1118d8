import t, { type Test } from 'tap';
import { XdrReader, XdrWriter } from '../../../protocols/nfs/xdr/index.js';
import { hex, toHex } from './fixtures/hex.js';

const encode = (f: (w: XdrWriter) => void): string => {
  const w = new XdrWriter({ initialSize: 16 });
  f(w);
  return toHex(w.finish());
};

const throwsCode = (t: Test, f: () => unknown, code: string, msg: string) => t.throws(f, { name: 'XdrError', code }, msg);

t.test('integers (RFC 4506 §4.1-4.5)', async (t) => {
  t.equal(encode((w) => w.writeInt(-1)), 'ffffffff');
  t.equal(encode((w) => w.writeInt(1)), '00000001');
  t.equal(encode((w) => w.writeUint(0xfffffffe)), 'fffffffe');
  t.equal(encode((w) => w.writeHyper(-2n)), 'fffffffffffffffe');
  t.equal(encode((w) => w.writeUhyper(0x0102030405060708n)), '0102030405060708');
  t.equal(encode((w) => w.writeBool(true).writeBool(false)), '0000000100000000');
  t.equal(encode((w) => w.writeEnum(7)), '00000007');

  const r = new XdrReader(hex('ffffffff ffffffff fffffffffffffffe fffffffffffffffe 00000001 00000000'));
  t.equal(r.readInt(), -1);
  t.equal(r.readUint(), 0xffffffff);
  t.equal(r.readHyper(), -2n);
  t.equal(r.readUhyper(), 0xfffffffffffffffen);
  t.equal(r.readBool(), true);
  t.equal(r.readBool(), false);
  r.assertEnd();
  t.equal(r.remaining, 0);
});

t.test('writer range checks', async (t) => {
  const w = new XdrWriter();
  throwsCode(t, () => w.writeInt(2 ** 31), 'XDR_BAD_VALUE', 'int too big');
  throwsCode(t, () => w.writeInt(1.5), 'XDR_BAD_VALUE', 'int not integral');
  throwsCode(t, () => w.writeUint(-1), 'XDR_BAD_VALUE', 'uint negative');
  throwsCode(t, () => w.writeUint(2 ** 32), 'XDR_BAD_VALUE', 'uint too big');
  throwsCode(t, () => w.writeHyper(1n << 63n), 'XDR_BAD_VALUE', 'hyper too big');
  throwsCode(t, () => w.writeUhyper(-1n), 'XDR_BAD_VALUE', 'uhyper negative');
  throwsCode(t, () => w.writeString('abcd', 3), 'XDR_BAD_VALUE', 'string over max');
  throwsCode(t, () => w.writeArray([1, 2], (x, v) => x.writeUint(v), 1), 'XDR_BAD_VALUE', 'array over max');
  t.equal(w.length, 0, 'nothing appended by failed writes');
});

t.test('bool and enum validation', async (t) => {
  throwsCode(t, () => new XdrReader(hex('00000002')).readBool(), 'XDR_BAD_BOOL', 'bool 2');
  throwsCode(t, () => new XdrReader(hex('00000002')).readOptional((r) => r.readUint()), 'XDR_BAD_BOOL', 'optional 2');
  const colors = new Set([0, 1, 2] as const);
  t.equal(new XdrReader(hex('00000002')).readEnum(colors), 2);
  throwsCode(t, () => new XdrReader(hex('00000003')).readEnum(colors), 'XDR_BAD_ENUM', 'enum 3');
  throwsCode(t, () => new XdrReader(hex('ffffffff')).readEnum(colors), 'XDR_BAD_ENUM', 'enum -1');
});

t.test('short input', async (t) => {
  throwsCode(t, () => new XdrReader(hex('000000')).readUint(), 'XDR_SHORT', 'uint from 3 bytes');
  throwsCode(t, () => new XdrReader(hex('00000000 000000')).readHyper(), 'XDR_SHORT', 'hyper from 7 bytes');
  throwsCode(t, () => new XdrReader(hex('616263')).readFixedOpaque(3), 'XDR_SHORT', 'fixed opaque missing padding');
  throwsCode(t, () => new XdrReader(hex('00000003 6162')).readOpaque(10), 'XDR_SHORT', 'opaque body short');
  throwsCode(t, () => new XdrReader(hex('00000003 616263')).readOpaque(10), 'XDR_SHORT', 'opaque padding short');
  throwsCode(t, () => new XdrReader(hex('00000001')).readOptional((r) => r.readUint()), 'XDR_SHORT', 'optional body missing');
  throwsCode(t, () => new XdrReader(hex('00000000 00')).assertEnd(), 'XDR_TRAILING', 'trailing bytes');
});

t.test('opaque and string with padding (RFC 4506 §4.9-4.11)', async (t) => {
  t.equal(encode((w) => w.writeString('abc')), '00000003' + '61626300');
  t.equal(encode((w) => w.writeString('abcd')), '00000004' + '61626364');
  t.equal(encode((w) => w.writeString('')), '00000000');
  t.equal(encode((w) => w.writeOpaque(hex('0102030405'))), '00000005' + '0102030405000000');
  t.equal(encode((w) => w.writeFixedOpaque(hex('0102'))), '01020000');
  t.equal(encode((w) => w.writeFixedOpaque(hex('01020304'), 4)), '01020304');
  t.throws(() => new XdrWriter().writeFixedOpaque(hex('01'), 2), 'fixed opaque of the wrong length');
  t.equal(encode((w) => w.writeString('é')), '00000002' + 'c3a90000', 'max counts encoded bytes');

  const r = new XdrReader(hex('00000003 61626300 00000005 0102030405000000 01020000'));
  t.equal(r.readString(3), 'abc');
  t.equal(toHex(r.readOpaque(5)), '0102030405');
  t.equal(toHex(r.readFixedOpaque(2)), '0102');
  r.assertEnd();
});

t.test('lengths are bounded before allocation', async (t) => {
  throwsCode(t, () => new XdrReader(hex('00000004 61626364')).readString(3), 'XDR_TOO_LONG', 'string over caller max');
  throwsCode(t, () => new XdrReader(hex('ffffffff')).readOpaque(0xffffffff), 'XDR_SHORT', '4 GiB claimed, 0 present');
  throwsCode(t, () => new XdrReader(hex('7fffffff')).readOpaque(100), 'XDR_TOO_LONG', 'huge length, small max');
  throwsCode(t, () => new XdrReader(hex('00000011 00000001')).readArray(16, (r) => r.readUint()), 'XDR_TOO_LONG', 'array count over max');
  // A count within the max but bigger than the bytes present fails before any item is read.
  let items = 0;
  throwsCode(
    t,
    () =>
      new XdrReader(hex('00000003 00000001 00000002')).readArray(16, (r) => {
        items++;
        return r.readUint();
      }),
    'XDR_SHORT',
    'array count over remaining bytes',
  );
  t.equal(items, 0, 'no item decoded');
  throwsCode(t, () => new XdrReader(hex('40000000')).readArray(0xffffffff, (r) => r.readUhyper(), 8), 'XDR_SHORT', 'count * item size checked');
  const e = t.throws(() => new XdrReader(hex('00000008 00000009 6162'), 4).readOpaque(8));
  t.match(e, { code: 'XDR_TOO_LONG', offset: 4 }, 'error carries the offset of the length');
});

t.test('arrays and optionals', async (t) => {
  const bytes = encode((w) =>
    w
      .writeArray([1, 2, 3], (x, v) => x.writeUint(v), 16)
      .writeOptional(undefined, (x, v: number) => x.writeUint(v))
      .writeOptional(9, (x, v) => x.writeUint(v)),
  );
  t.equal(bytes, '00000003 00000001 00000002 00000003 00000000 00000001 00000009'.replace(/ /g, ''));
  const r = new XdrReader(hex(bytes));
  t.same(r.readArray(16, (x) => x.readUint()), [1, 2, 3]);
  t.equal(r.readOptional((x) => x.readUint()), undefined);
  t.equal(r.readOptional((x) => x.readUint()), 9);
  t.same(new XdrReader(hex('00000001 00000002')).readFixedArray(2, (x) => x.readUint()), [1, 2]);
  throwsCode(t, () => new XdrReader(hex('00000001')).readFixedArray(2, (x) => x.readUint()), 'XDR_SHORT', 'fixed array short');
});

t.test('reader windows and views', async (t) => {
  const buf = hex('ffffffff 00000002 6869 0000 eeeeeeee');
  const r = new XdrReader(buf, 4, 12);
  const v = r.readOpaque(2);
  t.equal(v.toString(), 'hi');
  t.equal(v.buffer, buf.buffer, 'opaque is a view of the input');
  t.equal(r.remaining, 0);
  throwsCode(t, () => r.readUint(), 'XDR_SHORT', 'window end respected');
  t.throws(() => new XdrReader(buf, 8, 100), RangeError);
  const r2 = new XdrReader(hex('00000001 0a0b0c0d'));
  r2.readUint();
  t.equal(toHex(r2.readRest()), '0a0b0c0d');
});

t.test('writer growth, placeholders and finish', async (t) => {
  const w = new XdrWriter({ initialSize: 16 });
  const mark = w.reserveUint();
  for (let i = 0; i < 1000; i++) w.writeUint(i);
  w.patchUint(mark, 1000);
  const out = w.finish();
  t.equal(out.length, 4004);
  t.equal(out.readUInt32BE(0), 1000);
  t.equal(out.readUInt32BE(4000), 999);
  throwsCode(t, () => w.writeUint(1), 'XDR_FINISHED', 'write after finish');

  const nested = encode((x) => {
    const m = x.beginOpaque();
    x.writeUint(7).writeFixedOpaque(hex('01'));
    x.endOpaque(m);
  });
  t.equal(nested, '00000008 00000007 01000000'.replace(/ /g, ''), 'endOpaque patches the length');
  const odd = encode((x) => {
    const m = x.beginOpaque();
    x.writeRaw(hex('aabbcc'));
    x.endOpaque(m);
  });
  t.equal(odd, '00000003 aabbcc00'.replace(/ /g, ''), 'endOpaque pads');

  const capped = new XdrWriter({ initialSize: 4, maxSize: 8 });
  capped.writeUint(1).writeUint(2);
  throwsCode(t, () => capped.writeUint(3), 'XDR_OVERFLOW', 'maxSize enforced');
});

t.test('writer into a preallocated buffer', async (t) => {
  const buf = Buffer.alloc(12, 0xee);
  const w = XdrWriter.into(buf);
  w.writeString('abc');
  const out = w.finish();
  t.equal(toHex(out), '0000000361626300');
  t.equal(out.buffer, buf.buffer, 'written in place');
  const w2 = XdrWriter.into(Buffer.alloc(6));
  throwsCode(t, () => w2.writeString('abc'), 'XDR_OVERFLOW', 'fixed buffer never grows');
});
