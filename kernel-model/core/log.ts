// Logging for the model: a tiny interface so tests can silence or capture it, and Linux's
// net_ratelimit() so a flood of bad frames costs one line per burst, not one per frame.

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** default logger: one line per message on stderr, prefixed */
export function stderrLogger(prefix = 'skbnet'): Logger {
  const write = (level: string, msg: string): void => {
    process.stderr.write(`[${prefix}] ${level}: ${msg}\n`);
  };
  return {
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
  };
}

export const silentLogger: Logger = {
  info() {},
  warn() {},
  error() {},
};

/**
 * ___ratelimit (lib/ratelimit.c): at most `burst` messages per `interval` ms; the rest are counted
 * as missed and reported when the next interval opens. net_ratelimit uses 5 s / 10 (net/core/utils.c).
 */
export class RateLimitState {
  private begin = -1;
  private printed = 0;
  /** messages suppressed in the current interval */
  missed = 0;

  constructor(readonly interval = 5000, readonly burst = 10) {}

  /** true when the caller may log now; `onMissed` is told how many were suppressed before */
  allow(now: number, onMissed?: (missed: number) => void): boolean {
    if (this.begin < 0) this.begin = now;
    if (now >= this.begin + this.interval) {
      if (this.missed > 0 && onMissed) onMissed(this.missed);
      this.begin = now;
      this.printed = 0;
      this.missed = 0;
    }
    if (this.printed < this.burst) {
      this.printed++;
      return true;
    }
    this.missed++;
    return false;
  }
}
