// A QEMU guest for integration tests: the fixtures/guest kernel + initramfs under TCG, console on ttyS0
// (QEMU's stdout), command agent on ttyS1 (unix socket chardev), QMP on a unix socket, network given by
// the caller. See fixtures/guest/rootfs/init for scenarios and sbin/skbnet-agent for the agent protocol.
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { EventEmitter } from 'events';
import { StringDecoder } from 'string_decoder';
import { QmpClient, connectOnce } from './qmp';

export interface GuestFixture {
  /** bzImage as Debian ships it. */
  kernel: string;
  /** The same kernel as an uncompressed ELF with a PVH entry (boots ≈ 2.5 s faster under TCG). */
  vmlinux: string;
  initrd: string;
  manifest: string;
}

export interface GuestBootOptions {
  /** `skbnet.scenario=` word; 'agent' (default) or 'online'. */
  scenario?: string;
  /** More `skbnet.KEY=VALUE` words, e.g. `{ pings: 50, ping_target: '10.0.2.2' }`. */
  options?: Record<string, string | number>;
  /** Extra raw kernel command-line words. */
  cmdline?: string[];
  /** QEMU network arguments (-netdev/-device/-chardev …). */
  netArgs?: string[];
  /** Any other QEMU arguments, appended last. */
  extraArgs?: string[];
  /** Boot the PVH ELF (out/vmlinux, default) or the bzImage (false). */
  pvh?: boolean;
  /** Guest RAM in MiB (memfd, share=on, as vhost-user needs); default 256. */
  memoryMB?: number;
  /** vCPUs; default 1. */
  cpus?: number;
  /**
   * false (default): `-no-reboot`, a guest reboot or panic ends QEMU (and so does QMP system_reset).
   * true: QEMU keeps running across resets; needed for `reset()`.
   */
  reboot?: boolean;
  /** Wait for `SKBNET-READY` before resolving; default true for the agent scenario. */
  waitReady?: boolean;
  /** Limit for QEMU start + boot to READY; default 60 s. */
  bootTimeoutMs?: number;
  /** Label used in logs and errors. */
  name?: string;
  /** Copy the console to stderr as it arrives; default: env SKBNET_GUEST_CONSOLE=1. */
  echoConsole?: boolean;
  /** Progress lines of the fixture build (only when it has to build). */
  onBuildProgress?: (line: string) => void;
}

export interface GuestExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunResult {
  /** Combined stdout+stderr of the command (text). */
  output: string;
  /** Exit status of `sh -c` (128+N when killed by signal N). */
  code: number;
}

export class GuestCommandError extends Error {
  constructor(message: string, readonly command: string, readonly output: string) {
    super(message);
  }
}

const QEMU = 'qemu-system-x86_64';
const SETPRIV = '/usr/bin/setpriv';
const READY = /SKBNET-READY agent=\S+/;
/** Base64 request lines beyond this would overflow the guest tty's 64 KiB input buffer. */
const MAX_REQUEST_CHARS = 48 * 1024;
/** Grace the host gives the guest-side watchdog before giving up on a command itself. */
const HOST_TIMEOUT_GRACE_MS = 3000;

const live = new Set<Guest>();
let exitHookInstalled = false;

interface InFlight {
  id: string;
  command: string;
  begun: boolean;
  resolve: (r: RunResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class Guest {
  /** QMP connection (capabilities negotiated). */
  readonly qmp: QmpClient;
  /** Milliseconds from spawning QEMU to SKBNET-READY (or to QMP ready when not waiting). */
  bootMs = 0;
  /** QEMU's exit status once it has exited. */
  exit: GuestExit | undefined;
  /** Resolves when QEMU has exited (never rejects). */
  readonly exited: Promise<GuestExit>;
  /** QEMU's own stderr (warnings, errors). */
  stderr = '';

  private consoleText = '';
  private readonly consoleEvents = new EventEmitter();
  private agent: net.Socket | undefined;
  private agentBuffer = '';
  private agentDecoder = new StringDecoder('utf8');
  private inFlight: InFlight | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private nextCommand = 1;
  private shutdownPromise: Promise<GuestExit> | undefined;

  private constructor(
    readonly name: string,
    /** Temporary directory holding the sockets; removed by shutdown(). */
    readonly dir: string,
    private readonly proc: ChildProcess,
    qmp: QmpClient,
    private readonly options: GuestBootOptions,
    exited: Promise<GuestExit>,
    consoleSoFar: string,
  ) {
    this.qmp = qmp;
    this.exited = exited;
    this.consoleText = consoleSoFar;
  }

  /** Builds the fixture if needed, starts QEMU, connects QMP and the agent, waits for READY (agent scenario). */
  static async boot(opts: GuestBootOptions = {}): Promise<Guest> {
    const fixture = await ensureGuestFixture(opts.onBuildProgress);
    const scenario = opts.scenario ?? 'agent';
    const name = opts.name ?? `guest-${scenario}`;
    const memoryMB = opts.memoryMB ?? 256;
    const bootTimeoutMs = opts.bootTimeoutMs ?? 60_000;
    const waitReady = opts.waitReady ?? scenario === 'agent';
    const echo = opts.echoConsole ?? process.env.SKBNET_GUEST_CONSOLE === '1';
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbnet-guest-'));
    const qmpPath = path.join(dir, 'qmp.sock');
    const agentPath = path.join(dir, 'agent.sock');

    const words = ['console=ttyS0', 'panic=-1', 'quiet', `skbnet.scenario=${scenario}`];
    for (const [k, v] of Object.entries(opts.options ?? {})) words.push(`skbnet.${k}=${v}`);
    words.push(...(opts.cmdline ?? []));
    for (const w of words) {
      if (/\s/.test(w) || w === '') throw new Error(`kernel command-line word ${JSON.stringify(w)} is empty or has spaces`);
    }

    const args = [
      '-accel', 'tcg',
      '-m', `${memoryMB}M`,
      '-smp', String(opts.cpus ?? 1),
      '-object', `memory-backend-memfd,id=mem,size=${memoryMB}M,share=on`,
      '-numa', 'node,memdev=mem',
      '-kernel', opts.pvh === false ? fixture.kernel : fixture.vmlinux,
      '-initrd', fixture.initrd,
      '-append', words.join(' '),
      '-display', 'none',
      '-nodefaults',
      ...(opts.reboot ? [] : ['-no-reboot']),
      // ttyS0: console on QEMU's stdout (nothing lost before we attach); ttyS1: agent.
      '-chardev', 'stdio,id=con,signal=off',
      '-serial', 'chardev:con',
      '-chardev', `socket,id=agent,path=${agentPath},server=on,wait=off`,
      '-serial', 'chardev:agent',
      '-qmp', `unix:${qmpPath},server=on,wait=off`,
      ...(opts.netArgs ?? []),
      ...(opts.extraArgs ?? []),
    ];
    // PR_SET_PDEATHSIG: QEMU dies with us even if we are SIGKILLed and no exit hook runs.
    const useSetpriv = fs.existsSync(SETPRIV);
    const started = Date.now();
    const proc = useSetpriv
      ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', QEMU, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(QEMU, args, { stdio: ['pipe', 'pipe', 'pipe'] });

    // Collect output from the first byte, before the Guest object exists.
    let early = '';
    let earlyErr = '';
    let guest: Guest | undefined;
    const decoder = new StringDecoder('utf8');
    const echoer = echo ? lineEchoer(`[${name}] `) : undefined;
    proc.stdout!.on('data', (b: Buffer) => {
      const text = decoder.write(b);
      echoer?.(text);
      if (guest) guest.appendConsole(text);
      else early += text;
    });
    proc.stderr!.on('data', (b: Buffer) => {
      const text = b.toString('utf8');
      if (echo) process.stderr.write(prefixLines(`[${name} qemu] `, text));
      if (guest) guest.stderr += text;
      else earlyErr += text;
    });
    const exited = new Promise<GuestExit>((resolve) => {
      // 'close' (not 'exit'): the console's last bytes are in before anyone sees the exit.
      proc.once('close', (code, signal) => resolve({ code, signal }));
      proc.once('error', (err) => {
        earlyErr += `spawn failed: ${err.message}\n`;
        resolve({ code: null, signal: null });
      });
    });

    installExitHook();
    let qmp: QmpClient;
    const stopConnecting = new AbortController();
    void exited.then(() => stopConnecting.abort());
    try {
      qmp = await raceExit(QmpClient.connect(qmpPath, bootTimeoutMs, stopConnecting.signal), exited, 'QMP connect');
    } catch (err) {
      await killAndWait(proc, exited);
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`${name}: QEMU did not start: ${(err as Error).message}\n${earlyErr}${early.slice(-2000)}`);
    }
    guest = new Guest(name, dir, proc, qmp, opts, exited, early);
    guest.stderr = earlyErr;
    live.add(guest);
    void exited.then((e) => {
      guest!.exit = e;
      guest!.failInFlight(new Error(`${name}: QEMU exited (${describeExit(e)})`));
      guest!.consoleEvents.emit('exit');
    });

    try {
      await guest.connectAgent(agentPath, bootTimeoutMs);
      if (waitReady) await guest.waitForConsole(READY, Math.max(1000, bootTimeoutMs - (Date.now() - started)));
      guest.bootMs = Date.now() - started;
    } catch (err) {
      const tail = guest.console.slice(-3000);
      await guest.shutdown();
      throw new Error(`${name}: boot failed: ${(err as Error).message}\n--- console tail ---\n${tail}\n--- qemu stderr ---\n${guest.stderr}`);
    }
    return guest;
  }

  /** Everything the guest printed on its console (ttyS0) since QEMU started, across resets. */
  get console(): string {
    return this.consoleText;
  }

  /** Current console length: pass it as `from` to wait only for text printed after this point. */
  consoleMark(): number {
    return this.consoleText.length;
  }

  /** QEMU's pid (or of the setpriv wrapper that exec'd it: the same process). */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Resolves with the first match of `re` in the console text from offset `from`; rejects on timeout or QEMU exit. */
  waitForConsole(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
    const search = (): RegExpMatchArray | null => this.consoleText.slice(from).match(re);
    const found = search();
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onData = (): void => {
        const m = search();
        if (m) {
          cleanup();
          resolve(m);
        }
      };
      const onExit = (): void => {
        const m = search();
        cleanup();
        if (m) resolve(m);
        else reject(new Error(`${this.name}: QEMU exited (${describeExit(this.exit)}) before console matched ${re}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name}: console did not match ${re} within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.consoleEvents.off('data', onData);
        this.consoleEvents.off('exit', onExit);
      };
      this.consoleEvents.on('data', onData);
      this.consoleEvents.on('exit', onExit);
      if (this.exit) onExit();
    });
  }

  /**
   * Runs `cmd` with `sh -c` in the guest through the agent (one command at a time; calls queue).
   * Resolves with the output and exit code, whatever the code; rejects with GuestCommandError on timeout
   * (the guest kills the command's session after ceil(timeoutMs/1000) s), reset, or QEMU exit.
   */
  run(cmd: string, timeoutMs = 30_000): Promise<RunResult> {
    const next = this.queue.then(() => this.runNow(cmd, timeoutMs));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** QMP system_reset (needs `reboot: true`); waits for the agent to be READY again unless told not to. */
  async reset(opts: { waitReady?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (!this.options.reboot) {
      throw new Error(`${this.name}: reset() needs Guest.boot({ reboot: true }); with -no-reboot QEMU would exit`);
    }
    const mark = this.consoleMark();
    const started = Date.now();
    this.failInFlight(new Error(`${this.name}: guest reset`));
    await this.qmp.execute('system_reset');
    const waitReady = opts.waitReady ?? (this.options.scenario ?? 'agent') === 'agent';
    if (waitReady) {
      await this.waitForConsole(READY, opts.timeoutMs ?? 60_000, mark);
      this.bootMs = Date.now() - started;
    }
  }

  /**
   * Stops QEMU (QMP quit, then SIGKILL after `timeoutMs`), closes sockets, removes the temp dir.
   * Idempotent; safe after QEMU already exited. Resolves with QEMU's exit status.
   */
  shutdown(timeoutMs = 5000): Promise<GuestExit> {
    if (!this.shutdownPromise) this.shutdownPromise = this.doShutdown(timeoutMs);
    return this.shutdownPromise;
  }

  private async doShutdown(timeoutMs: number): Promise<GuestExit> {
    if (!this.exit) {
      try {
        await withTimeout(this.qmp.execute('quit'), Math.min(timeoutMs, 2000), 'QMP quit');
      } catch {
        /* QMP gone or stuck: fall through to the signal */
      }
      if (!(await withTimeout(this.exited, timeoutMs, 'exit').catch(() => undefined))) {
        await killAndWait(this.proc, this.exited);
      }
    }
    const result = await this.exited;
    this.qmp.close();
    this.agent?.destroy();
    fs.rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
    return result;
  }

  private appendConsole(text: string): void {
    this.consoleText += text;
    this.consoleEvents.emit('data');
  }

  private async connectAgent(agentPath: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        this.agent = await connectOnce(agentPath);
        break;
      } catch (err) {
        if (this.exit) throw new Error(`QEMU exited (${describeExit(this.exit)})`);
        if (Date.now() >= deadline) throw new Error(`agent socket ${agentPath}: ${(err as Error).message}`);
        await sleep(50);
      }
    }
    this.agent.on('data', (b: Buffer) => this.onAgentData(this.agentDecoder.write(b)));
    this.agent.on('error', () => { /* reported through close */ });
    this.agent.on('close', () => this.failInFlight(new Error(`${this.name}: agent socket closed`)));
  }

  private runNow(cmd: string, timeoutMs: number): Promise<RunResult> {
    if (this.exit) return Promise.reject(new GuestCommandError(`${this.name}: QEMU has exited`, cmd, ''));
    if (!this.agent || this.agent.destroyed) {
      return Promise.reject(new GuestCommandError(`${this.name}: no agent connection`, cmd, ''));
    }
    const encoded = Buffer.from(cmd, 'utf8').toString('base64');
    if (encoded.length > MAX_REQUEST_CHARS) {
      return Promise.reject(new GuestCommandError(`${this.name}: command too long (${cmd.length} chars)`, cmd, ''));
    }
    const id = `c${this.nextCommand++}-${randomBytes(4).toString('hex')}`;
    const guestTimeoutS = Math.max(1, Math.ceil(timeoutMs / 1000));
    return new Promise<RunResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.failInFlight(
          new GuestCommandError(`${this.name}: no answer to ${JSON.stringify(cmd)} within ${timeoutMs} ms`, cmd, this.agentBuffer),
        );
      }, timeoutMs + HOST_TIMEOUT_GRACE_MS);
      this.inFlight = { id, command: cmd, begun: false, resolve, reject, timer };
      this.agentBuffer = '';
      this.agent!.write(`${id} ${guestTimeoutS} ${encoded}\n`);
    });
  }

  /** Framing: `@@SKBNET-BEGIN <id>\n` output `\n@@SKBNET-DONE <id> <code>[ timeout]\n`; other ids are stale. */
  private onAgentData(text: string): void {
    const cur = this.inFlight;
    if (!cur) return; // nothing asked: stale output of an abandoned command
    this.agentBuffer += text;
    if (!cur.begun) {
      const begin = `@@SKBNET-BEGIN ${cur.id}\n`;
      const at = this.agentBuffer.indexOf(begin);
      if (at < 0) {
        this.agentBuffer = this.agentBuffer.slice(-begin.length);
        return;
      }
      cur.begun = true;
      this.agentBuffer = this.agentBuffer.slice(at + begin.length);
    }
    const done = `\n@@SKBNET-DONE ${cur.id} `;
    const at = this.agentBuffer.indexOf(done);
    if (at < 0) return;
    const eol = this.agentBuffer.indexOf('\n', at + done.length);
    if (eol < 0) return;
    const output = this.agentBuffer.slice(0, at);
    const [codeText, flag] = this.agentBuffer.slice(at + done.length, eol).split(' ');
    this.agentBuffer = '';
    this.inFlight = undefined;
    clearTimeout(cur.timer);
    if (flag === 'timeout') {
      cur.reject(new GuestCommandError(`${this.name}: ${JSON.stringify(cur.command)} timed out in the guest`, cur.command, output));
    } else {
      cur.resolve({ output, code: Number(codeText) });
    }
  }

  private failInFlight(err: Error): void {
    const cur = this.inFlight;
    if (!cur) return;
    this.inFlight = undefined;
    clearTimeout(cur.timer);
    const output = cur.begun ? this.agentBuffer : '';
    this.agentBuffer = '';
    cur.reject(err instanceof GuestCommandError ? err : new GuestCommandError(err.message, cur.command, output));
  }

  /** Synchronous last-resort cleanup for process exit. */
  killNow(): void {
    if (!this.exit) this.proc.kill('SIGKILL');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Shuts down every guest still running (use in afterEach/after hooks). */
export async function shutdownAllGuests(): Promise<void> {
  await Promise.all([...live].map((g) => g.shutdown()));
}

let fixturePromise: Promise<GuestFixture> | undefined;

/**
 * Runs fixtures/guest/build.sh once per process (a no-op when up to date) and returns the output paths.
 * `onProgress` receives each progress line of the build.
 */
export function ensureGuestFixture(onProgress?: (line: string) => void): Promise<GuestFixture> {
  if (!fixturePromise) {
    fixturePromise = buildFixture(onProgress);
    fixturePromise.catch(() => {
      fixturePromise = undefined;
    });
  }
  return fixturePromise;
}

function buildFixture(onProgress?: (line: string) => void): Promise<GuestFixture> {
  const guestDir = path.join(findRepoRoot(), 'fixtures', 'guest');
  const outDir = path.join(guestDir, 'out');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(guestDir, 'build.sh')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.on('data', (b: Buffer) => {
      const text = b.toString('utf8');
      stdout += text;
      partial += text;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onProgress?.(line);
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (partial !== '') onProgress?.(partial);
      if (code !== 0) {
        reject(new Error(`fixtures/guest/build.sh failed (exit ${code}):\n${stderr.trim() || stdout.slice(-2000)}`));
        return;
      }
      resolve({
        kernel: path.join(outDir, 'vmlinuz'),
        vmlinux: path.join(outDir, 'vmlinux'),
        initrd: path.join(outDir, 'initramfs.cpio.gz'),
        manifest: path.join(outDir, 'manifest.txt'),
      });
    });
  });
}

function findRepoRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'fixtures', 'guest', 'build.sh'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`fixtures/guest/build.sh not found above ${__dirname}`);
    dir = parent;
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // mocha --exit calls process.exit(): kill whatever a failing test left behind.
  process.on('exit', () => {
    for (const g of live) g.killNow();
  });
}

async function killAndWait(proc: ChildProcess, exited: Promise<GuestExit>): Promise<void> {
  proc.kill('SIGKILL');
  await exited;
}

function raceExit<T>(p: Promise<T>, exited: Promise<GuestExit>, what: string): Promise<T> {
  return Promise.race([
    p,
    exited.then((e): never => {
      throw new Error(`${what}: QEMU exited (${describeExit(e)})`);
    }),
  ]);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timeout after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function describeExit(e: GuestExit | undefined): string {
  if (!e) return 'running';
  return e.signal ? `signal ${e.signal}` : `code ${e.code}`;
}

/** Writes whole lines to stderr with a prefix (console chunks split lines anywhere). */
function lineEchoer(prefix: string): (text: string) => void {
  let partial = '';
  return (text) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) process.stderr.write(`${prefix}${line.replace(/\r$/, '')}\n`);
  };
}

function prefixLines(prefix: string, text: string): string {
  return text.replace(/^(?=.)/gm, prefix);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
