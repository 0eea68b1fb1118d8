/**
 * Test harness for real `marble` processes: start `marble serve` as a child process on loopback
 * port 0, wait for its readiness lines, stop it (SIGTERM) or crash it (SIGKILL); temp dirs that
 * are removed after the test; peak RSS of a pid from /proc; and the shared client scripts
 * (../shared/tools/...) run with their closing `N passed, M failed` line parsed.
 *
 * Everything here works from the compiled file (dist/test/helpers/marble.js) and from the
 * source, so paths are found by walking up to the repository's package.json.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What tap's `t` offers that the helpers need (keeps the helpers usable outside tap). */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

function findRepoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && existsSync(path.join(dir, 'bin', 'marble.js'))) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'marble-synch') return dir;
      } catch {
        /* not ours; keep walking */
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`marble test helpers: no marble-synch package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

export const repoRoot = findRepoRoot();
export const marbleBin = path.join(repoRoot, 'bin', 'marble.js');
/** shared/ sits beside the clone, both here (/work/main + /work/shared) and in CI. */
export const sharedTools = path.resolve(repoRoot, '../shared/tools');

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

// ---------------------------------------------------------------------------------------------
// temp dirs

/**
 * A fresh directory under the system temp dir, removed when the test ends (unless
 * MARBLE_KEEP_TMP=1, for a post-mortem). 0700 like any mkdtemp.
 */
export async function tempDir(t: Teardown, prefix = 'marble-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  t.teardown(async () => {
    if (process.env.MARBLE_KEEP_TMP === '1') {
      console.error(`# kept ${dir}`);
      return;
    }
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });
  return dir;
}

/** Every regular file under dir, as paths relative to it ('/'-separated), sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let ents;
    try {
      ents = await readdir(path.join(dir, rel), { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const e of ents) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else out.push(r);
    }
  };
  await walk('');
  return out.sort();
}

// ---------------------------------------------------------------------------------------------
// ports

/** A loopback port that was free a moment ago (for servers that cannot take port 0). */
/**
 * A port for a server that must keep its address across restarts. Taken below the kernel's
 * ephemeral range (32768–60999 here), so a listener on port 0 started meanwhile — another
 * instance's WebDAV, say — can never be handed the same port; checked free by binding it.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * 20_000);
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.unref();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port in 10000-29999');
}

// ---------------------------------------------------------------------------------------------
// marble serve

export interface StartOptions {
  /** Data directory; default a fresh temp dir (removed after the test). */
  data?: string;
  /** Instance name; default 'test'. */
  name?: string;
  /** Extra arguments after the standard ones. */
  args?: string[];
  /**
   * false: pass none of --data/--name/--webdav/--http (settings come from `env` or a config
   * file; `data` must then say where that data directory is, for the Marble handle).
   */
  flags?: boolean;
  /** Extra environment. */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for `ready` (default 30 s). */
  readyTimeoutMs?: number;
}

export interface Marble {
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly data: string;
  readonly name: string;
  /** `http://127.0.0.1:PORT/` of the WebDAV front end (ends in '/'). */
  readonly webdav: string;
  /** `http://127.0.0.1:PORT/` of the HTTP API. */
  readonly http: string;
  /** Port of the NFS v3 + MOUNT server (from the `nfs: HOST:PORT` line). */
  readonly nfsPort: number;
  /** Resolves with the exit code / signal once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True while the process has not exited. */
  alive(): boolean;
  /** The last 64 KiB the process wrote to stderr (its pino log). */
  stderr(): string;
  /** SIGTERM and wait for the exit (SIGKILL after timeoutMs, default 20 s); returns the exit. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL (a crash) and wait for the exit. */
  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const STDERR_KEEP = 64 * 1024;

/**
 * Starts `node bin/marble.js serve --data DIR --name N --webdav 127.0.0.1:0 --http 127.0.0.1:0
 * --nfs 127.0.0.1:0` and waits for the lines CONTRACTS.md promises on stdout (`webdav: URL`,
 * `http: URL`, `nfs: HOST:PORT`, `ready`). Rejects with the child's stderr if it exits first, prints something else on
 * stdout, or is not ready in time. The process is SIGKILLed at teardown if still running.
 */
export async function startMarble(t: Teardown, opts: StartOptions = {}): Promise<Marble> {
  const data = opts.data ?? path.join(await tempDir(t, 'marble-data-'), 'data');
  const name = opts.name ?? 'test';
  const standard = ['--data', data, '--name', name, '--webdav', '127.0.0.1:0', '--http', '127.0.0.1:0', '--nfs', '127.0.0.1:0'];
  const args = [marbleBin, 'serve', ...(opts.flags === false ? [] : standard), ...(opts.args ?? [])];
  const proc = spawn(process.execPath, args, {
    cwd: repoRoot,
    // NFS on a free port unless the test says otherwise (the default 8439 would collide between tests)
    env: { MARBLE_NFS: '127.0.0.1:0', ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (s: string) => {
    err += s;
    if (err.length > 2 * STDERR_KEEP) err = err.slice(-STDERR_KEEP);
  });
  const stderr = () => err.slice(-STDERR_KEEP);
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  const alive = () => exitInfo === null;
  t.teardown(async () => {
    if (alive()) {
      proc.kill('SIGKILL');
      await exited;
    }
  });

  const timeoutMs = opts.readyTimeoutMs ?? 30_000;
  const { webdav, http, nfsPort } = await new Promise<{ webdav: string; http: string; nfsPort: number }>((resolve, reject) => {
    let out = '';
    let webdav = '';
    let http = '';
    let nfsPort = 0;
    let done = false;
    const fail = (why: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (alive()) proc.kill('SIGKILL');
      reject(
        new Error(
          `marble serve (${args.slice(1).join(' ')}): ${why}\n--- stdout ---\n${out}\n--- stderr (tail) ---\n${stderr().slice(-8000)}`,
        ),
      );
    };
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    proc.on('error', (e) => fail(`spawn failed: ${e.message}`));
    proc.on('exit', (code, signal) => fail(`exited (code ${code}, signal ${signal}) before ready`));
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (s: string) => {
      if (done) return; // contract: nothing else on stdout; after ready we only drain
      out += s;
      let nl: number;
      while (!done && (nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl).trim();
        out = out.slice(nl + 1);
        let m: RegExpMatchArray | null;
        if (!webdav && (m = /^webdav: (https?:\/\/127\.0\.0\.1:\d+\/)$/.exec(line))) webdav = m[1]!;
        else if (webdav && !http && (m = /^http: (https?:\/\/127\.0\.0\.1:\d+\/)$/.exec(line))) http = m[1]!;
        else if (webdav && http && !nfsPort && (m = /^nfs: (?:\[[^\]]+\]|[^:\s]+):(\d+)$/.exec(line))) nfsPort = Number(m[1]);
        else if (webdav && http && nfsPort && line === 'ready') {
          done = true;
          clearTimeout(timer);
          resolve({ webdav, http, nfsPort });
        } else fail(`unexpected stdout line ${JSON.stringify(line)} (contract: webdav:, http:, nfs:, ready)`);
      }
    });
  });
  proc.stdout!.resume();

  const waitExit = async (timeoutMs: number) => {
    const timer = setTimeout(() => {
      if (alive()) proc.kill('SIGKILL');
    }, timeoutMs);
    const r = await exited;
    clearTimeout(timer);
    return r;
  };
  return {
    proc,
    pid: proc.pid!,
    data,
    name,
    webdav,
    http,
    nfsPort,
    exited,
    alive,
    stderr,
    async stop(timeoutMs = 20_000) {
      if (alive()) proc.kill('SIGTERM');
      return waitExit(timeoutMs);
    },
    async kill() {
      if (alive()) proc.kill('SIGKILL');
      return exited;
    },
  };
}

/** Runs `node bin/marble.js ARGS...` to completion; rejects on a non-zero exit. */
export function runMarbleCli(args: string[], env?: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [marbleBin, ...args],
      { cwd: repoRoot, env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`marble ${args.join(' ')}: ${err.message}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

/** The instance id `marble id --data DIR` prints (its `id: …` line). */
export async function marbleId(data: string): Promise<string> {
  const { stdout, stderr } = await runMarbleCli(['id', '--data', data]);
  const m = /^id: (\S+)\s*$/m.exec(stdout);
  if (!m) throw new Error(`marble id --data ${data}: no "id: ..." line on stdout\n${stdout}\n${stderr}`);
  return m[1]!;
}

// ---------------------------------------------------------------------------------------------
// memory

export interface Rss {
  /** Peak resident set size over the process's life (VmHWM), bytes. */
  peakBytes: number;
  /** Current resident set size (VmRSS), bytes. */
  currentBytes: number;
}

/** VmHWM / VmRSS of a live pid from /proc/PID/status. */
export function readRss(pid: number): Rss {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => {
    const m = new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s);
    if (!m) throw new Error(`/proc/${pid}/status has no ${k}`);
    return Number(m[1]) * 1024;
  };
  return { peakBytes: kb('VmHWM'), currentBytes: kb('VmRSS') };
}

export const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// shared tools

export interface ToolResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** From the last `N passed, M failed` line, if any. */
  passed: number | null;
  failed: number | null;
  ms: number;
}

/** The closing `[word: ]N passed, M failed` line of a harness script's stdout (the last one). */
export function parsePassFail(stdout: string): { passed: number; failed: number } | null {
  let last: { passed: number; failed: number } | null = null;
  for (const m of stdout.matchAll(/^(?:[\w-]+: )?(\d+) passed, (\d+) failed\b.*$/gm)) {
    last = { passed: Number(m[1]), failed: Number(m[2]) };
  }
  return last;
}

/**
 * Runs a shared tool script (`rel` relative to ../shared/tools, e.g. 'webdav/litmus-check.sh')
 * with bash, capturing stdout and stderr (stderr mirrored to ours when MARBLE_TEST_VERBOSE=1).
 * Never rejects for a non-zero exit: the caller asserts on the result.
 */
export function runTool(
  rel: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<ToolResult> {
  const script = path.join(sharedTools, rel);
  if (!existsSync(script)) {
    return Promise.reject(new Error(`shared tool ${script} not found (shared/ must sit beside the repository)`));
  }
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    // own process group, so a timeout can end the script and everything it started
    const p = spawn('bash', [script, ...args], {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    p.stderr.setEncoding('utf8').on('data', (s: string) => {
      if (process.env.MARBLE_TEST_VERBOSE === '1') process.stderr.write(s);
      stderr += s;
      if (stderr.length > 1 << 20) stderr = stderr.slice(-(512 << 10));
    });
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            stderr += `\n[runTool: killed after ${opts.timeoutMs} ms]\n`;
            try {
              process.kill(-p.pid!, 'SIGKILL');
            } catch {
              /* already gone */
            }
          }, opts.timeoutMs);
    p.on('error', reject);
    p.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const pf = parsePassFail(stdout);
      resolve({ code, signal, stdout, stderr, passed: pf?.passed ?? null, failed: pf?.failed ?? null, ms: Date.now() - t0 });
    });
  });
}

/** A short, readable summary of a tool run for assertion messages. */
export function toolReport(r: ToolResult, stderrTail = 3000): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''} after ${(r.ms / 1000).toFixed(1)} s\n--- stdout ---\n${r.stdout}\n--- stderr (tail) ---\n${r.stderr.slice(-stderrTail)}`;
}

export interface Apache {
  url: string;
  dir: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Apache mod_dav via ../shared/tools/webdav/apache-anchor.sh on a free loopback port, in its own
 * temp dir (a mkdtemp dir: its parents are o+x, as the anchor needs when run as root).
 * Stopped at teardown.
 */
export async function startApache(t: Teardown): Promise<Apache> {
  const dir = await tempDir(t, 'marble-apache-');
  let lastErr = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const r = await runTool('webdav/apache-anchor.sh', ['start', dir, String(port)], { timeoutMs: 120_000 });
    const url = r.stdout.trim();
    if (r.code === 0 && /^http:\/\/127\.0\.0\.1:\d+\/$/.test(url)) {
      const pid = Number(readFileSync(path.join(dir, 'httpd.pid'), 'utf8').trim());
      let stopped = false;
      const stop = async () => {
        if (stopped) return;
        stopped = true;
        await runTool('webdav/apache-anchor.sh', ['stop', dir], { timeoutMs: 60_000 });
      };
      t.teardown(stop);
      return { url, dir, pid, stop };
    }
    lastErr = toolReport(r);
    await runTool('webdav/apache-anchor.sh', ['stop', dir], { timeoutMs: 60_000 }).catch(() => undefined);
  }
  throw new Error(`apache-anchor.sh start failed 3 times:\n${lastErr}`);
}
