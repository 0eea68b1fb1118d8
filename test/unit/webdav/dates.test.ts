import t from 'tap';
import { httpDate, isoDate } from '../../../protocols/webdav/http/dates.js';

t.test('dates at second resolution, as Date formats them, before 1970 too', async (t) => {
  for (const ms of [0, 1_764_007_348_123, 1_764_007_348_999, -1, -500, -1_000, -86_400_001]) {
    const ns = BigInt(ms) * 1_000_000n + 456_789n;
    const floorMs = Math.floor(ms / 1000) * 1000;
    t.equal(httpDate(ns), new Date(floorMs).toUTCString(), `HTTP date of ${ms} ms`);
    t.equal(isoDate(ns), new Date(floorMs).toISOString().replace('.000Z', 'Z'), `ISO date of ${ms} ms`);
  }
  t.equal(httpDate(1_795_543_348_000_000_000n), 'Tue, 24 Nov 2026 18:02:28 GMT');
  t.equal(isoDate(1_795_543_348_000_000_000n), '2026-11-24T18:02:28Z');
  t.equal(httpDate(1_795_543_348_500_000_000n), httpDate(1_795_543_348_000_000_000n), 'remembered per second');
});
