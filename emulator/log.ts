// The emulator's logger: one line per event on stderr, with a component prefix. The model and the
// devices take any object with info/warn/error, so tests can capture or silence them.
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export type LogLevel = 'error' | 'warn' | 'info';
const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2 };

export function consoleLogger(prefix: string, level: LogLevel = 'info', out: NodeJS.WritableStream = process.stderr): Logger {
  const at = RANK[level];
  const line = (tag: string, msg: string): void => {
    out.write(`${new Date().toISOString()} ${prefix} ${tag} ${msg}\n`);
  };
  return {
    info: (m) => at >= 2 && line('info', m),
    warn: (m) => at >= 1 && line('warn', m),
    error: (m) => line('error', m),
  };
}

/** a logger that keeps lines in memory (tests assert on them) */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  info(m: string): void {
    this.lines.push(`info ${m}`);
  }
  warn(m: string): void {
    this.lines.push(`warn ${m}`);
  }
  error(m: string): void {
    this.lines.push(`error ${m}`);
  }
  has(re: RegExp): boolean {
    return this.lines.some((l) => re.test(l));
  }
}
