// The bundled test guest (fixtures/guest): built from Debian's packages by build.sh when missing.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export interface GuestImage {
  kernel: string;
  initrd: string;
}

export const FIXTURE_DIR = path.resolve(__dirname, '..', '..', 'fixtures', 'guest');

/** run build.sh (a no-op when up to date), reporting each progress line */
export function buildGuestImage(onProgress: (line: string) => void): Promise<GuestImage> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(FIXTURE_DIR, 'build.sh')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let partial = '';
    child.stdout.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      lines.filter(Boolean).forEach(onProgress);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`guest build failed (exit ${code}):\n${err.trim()}`));
      const out = path.join(FIXTURE_DIR, 'out');
      const vmlinux = path.join(out, 'vmlinux');
      resolve({ kernel: fs.existsSync(vmlinux) ? vmlinux : path.join(out, 'vmlinuz'), initrd: path.join(out, 'initramfs.cpio.gz') });
    });
  });
}
