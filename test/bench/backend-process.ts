// The back-end under measurement: any command line with {sock} in it, run as its own process (group) in
// a temp dir, with its CPU time read from /proc/PID/stat. Killed and cleaned up on every way out.
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const live = new Set<BackendProcess>();
let hooked = false;

/** clock ticks per second for /proc/PID/stat utime/stime */
const CLK_TCK = ((): number => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export class BackendProcess {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbnet-bench-'));
  readonly socket = path.join(this.dir, 'vhost-user.sock');
  readonly command: string;
  readonly proc: ChildProcess;
  /** last bytes of its stdout+stderr, for error reports */
  output = '';
  /** the last lines of output, for an error message */
  get outputTail(): string {
    return this.output.trimEnd().split('\n').slice(-12).map((l) => `  | ${l}`).join('\n');
  }
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  private readonly exited: Promise<void>;

  constructor(template: string) {
    if (!template.includes('{sock}')) throw new Error(`backend command has no {sock}: ${template}`);
    this.command = template.split('{sock}').join(shellQuote(this.socket));
    hookExit();
    // exec: the shell becomes the back-end, so the PID we read /proc for is the back-end's own;
    // detached: its own process group, so whatever it starts is killed with it. Our cwd, so relative
    // paths in the command mean what the user meant.
    this.proc = spawn('/bin/sh', ['-c', `exec ${this.command}`], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(this);
    const keep = (d: Buffer): void => {
      this.output = (this.output + d.toString()).slice(-4000);
    };
    this.proc.stdout!.on('data', keep);
    this.proc.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
      this.proc.on('error', (e) => {
        this.output += `\nspawn failed: ${e.message}`;
        this.exitCode = 127;
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.exitCode === null && this.exitSignal === null;
  }

  /** wait for the socket file (the back-end listens) or fail with what it printed */
  async waitForSocket(timeoutMs = 10000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!fs.existsSync(this.socket)) {
      if (!this.running) throw new Error(`back-end exited (${this.exitCode ?? this.exitSignal}) before creating its socket`);
      if (Date.now() > deadline) throw new Error(`back-end created no socket within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** CPU seconds used so far (utime + stime of all its threads), null once it is gone */
  cpuSeconds(): number | null {
    if (this.proc.pid === undefined) return null;
    try {
      const stat = fs.readFileSync(`/proc/${this.proc.pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
      return (Number(f[11]) + Number(f[12])) / CLK_TCK; // fields 14 utime, 15 stime
    } catch {
      return null;
    }
  }

  /** SIGTERM the group, SIGKILL after `graceMs`, then remove the temp dir */
  async stop(graceMs = 2000): Promise<void> {
    if (this.running) {
      this.signal('SIGTERM');
      const t = setTimeout(() => this.signal('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(t);
    }
    this.signal('SIGKILL'); // anything it left in its group
    live.delete(this);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** synchronous last resort (process exit) */
  killNow(): void {
    this.signal('SIGKILL');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private signal(sig: NodeJS.Signals): void {
    if (this.proc.pid === undefined) return;
    try {
      process.kill(-this.proc.pid, sig);
    } catch {
      /* already gone */
    }
  }
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const b of live) b.killNow();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`bench: ${sig}, stopping back-ends\n`);
      process.exit(130);
    });
  }
}
