import { setTimeout as sleep } from 'node:timers/promises';
import type { RpcProgram, RpcLogger } from '../../../protocols/nfs/rpc/index.js';

/** A program in the transient range (RFC 5531 §13), versions 1..2, for RPC-layer tests. */
export const TEST_PROG = 0x4000_0001;

export const P = { NULL: 0, ECHO: 1, SLEEP: 2, THROW: 3, BAD_BODY: 4, BIG: 5, GARBAGE: 6, WHO: 7 } as const;

export interface TestProgState {
  running: number;
  maxRunning: number;
  started: number;
}

/** Procedures exercising each outcome a handler can produce. */
export function testProgram(state: TestProgState = { running: 0, maxRunning: 0, started: 0 }): RpcProgram {
  return {
    low: 1,
    high: 2,
    procedures: {
      [P.NULL]: () => () => {},
      // string<64>, unsigned int<8> → the same back. The string is echoed as bytes:
      // decoding invalid UTF-8 and re-encoding it can exceed the bound.
      [P.ECHO]: (args) => {
        const s = args.readOpaque(64);
        const xs = args.readArray(8, (r) => r.readUint());
        return (w) => w.writeOpaque(s, 64).writeArray(xs, (x, v) => x.writeUint(v), 8);
      },
      // unsigned int ms → waits (at most 100 ms, fuzzed values can be huge), returns ms; counts concurrency
      [P.SLEEP]: async (args) => {
        const ms = args.readUint();
        if (ms > 100) return { stat: 'GARBAGE_ARGS' };
        state.started++;
        state.running++;
        state.maxRunning = Math.max(state.maxRunning, state.running);
        try {
          await sleep(ms);
        } finally {
          state.running--;
        }
        return (w) => w.writeUint(ms);
      },
      [P.THROW]: async () => {
        throw new Error('handler bug');
      },
      [P.BAD_BODY]: () => () => {
        throw new Error('body bug');
      },
      // unsigned int n (at most 1 MiB) → opaque of n bytes
      [P.BIG]: (args) => {
        const n = args.readUint();
        if (n > 1024 * 1024) return { stat: 'GARBAGE_ARGS' };
        state.started++;
        return (w) => w.writeOpaque(Buffer.alloc(n, 0x5a));
      },
      [P.GARBAGE]: () => ({ stat: 'GARBAGE_ARGS' }),
      // → allowed flag and remote address
      [P.WHO]: (_args, call) => (w) => w.writeBool(call.allowed).writeString(call.remoteAddress),
    },
  };
}

/** A logger that remembers what it was told. */
export function recordingLogger(): RpcLogger & { errors: string[]; debugs: string[] } {
  const errors: string[] = [];
  const debugs: string[] = [];
  return {
    errors,
    debugs,
    debug: (o, m) => void debugs.push(`${m} ${JSON.stringify(o)}`),
    warn: (o, m) => void debugs.push(`${m} ${JSON.stringify(o)}`),
    error: (o, m) => void errors.push(`${m} ${JSON.stringify(o)}`),
  };
}
