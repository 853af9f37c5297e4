// Runs the real `skbnet` CLI as a child process (as a user would) and waits for its ready line.
import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';

export const CLI = path.resolve(__dirname, '..', '..', 'emulator', 'cli.js');

export class SkbnetProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private constructor(readonly proc: ChildProcess) {
    proc.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  }

  static async serve(args: string[], timeoutMs = 10000): Promise<SkbnetProcess> {
    const p = new SkbnetProcess(spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
    const deadline = Date.now() + timeoutMs;
    while (!/ready:/.test(p.stdout)) {
      if (p.proc.exitCode !== null || Date.now() > deadline) {
        throw new Error(`skbnet serve did not get ready:\n${p.stdout}\n${p.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return p;
  }

  /** SIGTERM and wait for the exit status */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.proc.exitCode === null) this.proc.kill(signal);
    return this.exited;
  }
}
