// The real-time scheduler the emulator runs the model on. RxJS's asyncScheduler turns a 0 ms delay into
// setTimeout(0) (≥ 1 ms in Node), which would put a millisecond between a kick and its NAPI poll; its
// asapScheduler runs on microtasks, which a busy softirq would chain forever and starve all I/O.
// Here a 0 ms action runs from setImmediate, right after the current I/O phase, the way a raised
// softirq runs on the next irq_exit; delays use timers. Tests use VirtualTimeScheduler instead.
import { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import { performance } from 'perf_hooks';

class SoftirqAction<T> extends Subscription implements SchedulerAction<T> {
  private immediate: NodeJS.Immediate | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly work: (this: SchedulerAction<T>, state?: T) => void) {
    super(() => this.cancel());
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.cancel();
    const run = (): void => {
      this.immediate = null;
      this.timer = null;
      this.work.call(this, state);
    };
    if (delay <= 0) this.immediate = setImmediate(run);
    else this.timer = setTimeout(run, delay);
    return this;
  }

  private cancel(): void {
    if (this.immediate) clearImmediate(this.immediate);
    if (this.timer) clearTimeout(this.timer);
    this.immediate = null;
    this.timer = null;
  }
}

export class SoftirqScheduler implements SchedulerLike {
  /** wall-clock milliseconds with sub-millisecond resolution (same epoch as Date.now()) */
  now(): number {
    return performance.timeOrigin + performance.now();
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new SoftirqAction<T>(work).schedule(state, delay);
  }
}

export const softirqScheduler = new SoftirqScheduler();
