// TCP timers (net/ipv4/tcp_timer.c, inet_connection_sock.c) on the stack's RxJS scheduler.
// A TcpTimer is sk_reset_timer/sk_stop_timer: re-arming later than the pending wakeup only moves the
// deadline (the wakeup re-checks), so the per-ACK RTO re-arm allocates nothing; only an earlier
// deadline replaces the scheduled action.
import type { SchedulerLike, Subscription } from 'rxjs';

export class TcpTimer {
  /** absolute deadline in scheduler ms; −1 when not pending */
  expires = -1;
  private sub: Subscription | null = null;
  private wakeAt = -1;

  constructor(
    private readonly sched: SchedulerLike,
    private readonly fire: () => void,
  ) {}

  get pending(): boolean {
    return this.expires >= 0;
  }

  /** sk_reset_timer: fire `delay` ms from now */
  reset(delay: number): void {
    const now = this.sched.now();
    const at = now + (delay < 0 ? 0 : delay);
    this.expires = at;
    if (this.sub !== null && this.wakeAt <= at) return;
    if (this.sub !== null) this.sub.unsubscribe();
    this.wakeAt = at;
    this.sub = this.sched.schedule(() => this.wake(), at - now);
  }

  /** sk_stop_timer (the scheduled wakeup, if any, finds nothing to do) */
  stop(): void {
    this.expires = -1;
  }

  /** stop and drop the scheduled action (socket destruction) */
  kill(): void {
    this.expires = -1;
    if (this.sub !== null) this.sub.unsubscribe();
    this.sub = null;
  }

  private wake(): void {
    this.sub = null;
    if (this.expires < 0) return;
    const now = this.sched.now();
    if (now < this.expires) {
      this.wakeAt = this.expires;
      this.sub = this.sched.schedule(() => this.wake(), this.expires - now);
      return;
    }
    this.expires = -1;
    this.fire();
  }
}
