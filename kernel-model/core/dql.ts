// Dynamic queue limits (lib/dynamic_queue_limits.c, include/linux/dynamic_queue_limits.h; Linux 6.1):
// the byte limit BQL keeps per tx queue. The driver reports bytes it queued to the hardware
// (dql_queued) and bytes the hardware completed (dql_completed); the limit grows when the queue
// starved while over the limit and shrinks by the slack (excess seen over hold_time) while busy.
// All arithmetic is unsigned 32-bit, as in C (counters wrap).

/** DQL_MAX_OBJECT: the largest single dql_queued count (UINT_MAX / 16) */
export const DQL_MAX_OBJECT = 0x0fffffff;
/** DQL_MAX_LIMIT: (UINT_MAX / 2) - DQL_MAX_OBJECT = 1879048192 */
export const DQL_MAX_LIMIT = 0x7fffffff - DQL_MAX_OBJECT;
const UINT_MAX = 0xffffffff;

/** POSDIFF(A, B): A - B if positive (as a signed 32-bit difference), else 0 */
function posdiff(a: number, b: number): number {
  return ((a - b) | 0) > 0 ? (a - b) >>> 0 : 0;
}

/** struct dql */
export class Dql {
  // fields the enqueue side uses
  /** total bytes ever queued (wraps) */
  num_queued = 0;
  /** limit + num_completed: dql_avail = adj_limit - num_queued */
  adj_limit = 0;
  /** count of the last dql_queued */
  last_obj_cnt = 0;
  // fields the completion side uses
  /** current limit (bytes) */
  limit = 0;
  /** total bytes ever completed (wraps) */
  num_completed = 0;
  /** overshoot of the previous interval */
  prev_ovlimit = 0;
  /** num_queued at the previous completion */
  prev_num_queued = 0;
  prev_last_obj_cnt = 0;
  /** the smallest slack seen since slack_start_time */
  lowest_slack = UINT_MAX;
  /** jiffies */
  slack_start_time = 0;
  // configuration (sysfs byte_queue_limits/limit_max, limit_min, hold_time)
  max_limit = DQL_MAX_LIMIT;
  min_limit = 0;
  /** jiffies */
  slack_hold_time = 0;

  /** dql_init: hold_time in jiffies (netdev_init_one_queue passes HZ, i.e. 1 s) */
  constructor(hold_time = 0, jiffies = 0) {
    this.slack_hold_time = hold_time;
    this.reset(jiffies);
  }

  /** dql_reset: all dynamic values back to their start; limit = limit_min */
  reset(jiffies: number): void {
    this.limit = this.min_limit;
    this.num_queued = 0;
    this.num_completed = 0;
    this.last_obj_cnt = 0;
    this.prev_num_queued = 0;
    this.prev_last_obj_cnt = 0;
    this.prev_ovlimit = 0;
    this.lowest_slack = UINT_MAX;
    this.slack_start_time = jiffies;
  }

  /** dql_queued: `count` bytes went to the hardware (count ≤ DQL_MAX_OBJECT, else ignored) */
  queued(count: number): void {
    if (!(count >= 0 && count <= DQL_MAX_OBJECT)) return; // BUG_ON in Linux
    this.last_obj_cnt = count;
    this.num_queued = (this.num_queued + count) >>> 0;
  }

  /** dql_avail: bytes that may still be queued before the limit (negative: over it) */
  avail(): number {
    return (this.adj_limit - this.num_queued) | 0;
  }

  /** bytes queued and not completed (sysfs byte_queue_limits/inflight) */
  get inflight(): number {
    return (this.num_queued - this.num_completed) >>> 0;
  }

  /**
   * dql_completed: `count` bytes completed; recompute the limit. Starved (over the limit last interval
   * and now empty, or over the limit in the previous interval and everything queued then completed)
   * → limit += bytes both queued and completed since then + the previous overshoot. Busy all interval
   * → track the minimum slack and, once hold_time has passed, take it off the limit. Bounded by
   * [min_limit, max_limit]. `count` above what is in flight is ignored (BUG_ON in Linux).
   */
  completed(count: number, jiffies: number): void {
    const num_queued = this.num_queued;
    if (!(count >= 0) || count > ((num_queued - this.num_completed) >>> 0)) return;
    const completed = (this.num_completed + count) >>> 0;
    let limit = this.limit;
    let ovlimit = posdiff((num_queued - this.num_completed) >>> 0, limit);
    const inprogress = (num_queued - completed) >>> 0;
    const prev_inprogress = (this.prev_num_queued - this.num_completed) >>> 0;
    const all_prev_completed = ((completed - this.prev_num_queued) | 0) >= 0; // AFTER_EQ

    if ((ovlimit && !inprogress) || (this.prev_ovlimit && all_prev_completed)) {
      // starved: grow by what was sent and completed in the last interval plus the previous overshoot
      limit = (limit + posdiff(completed, this.prev_num_queued) + this.prev_ovlimit) >>> 0;
      this.slack_start_time = jiffies;
      this.lowest_slack = UINT_MAX;
    } else if (inprogress && prev_inprogress && !all_prev_completed) {
      // busy the whole interval: the slack is what was queued above what prevents starvation
      let slack = posdiff((limit + this.prev_ovlimit) >>> 0, (2 * ((completed - this.num_completed) >>> 0)) >>> 0);
      const slack_last_objs = this.prev_ovlimit ? posdiff(this.prev_last_obj_cnt, this.prev_ovlimit) : 0;
      slack = Math.max(slack, slack_last_objs);
      if (slack < this.lowest_slack) this.lowest_slack = slack;
      // time_after(jiffies, slack_start_time + slack_hold_time)
      if (((this.slack_start_time + this.slack_hold_time - jiffies) | 0) < 0) {
        limit = posdiff(limit, this.lowest_slack);
        this.slack_start_time = jiffies;
        this.lowest_slack = UINT_MAX;
      }
    }

    limit = Math.min(Math.max(limit, this.min_limit), this.max_limit);
    if (limit !== this.limit) {
      this.limit = limit;
      ovlimit = 0;
    }
    this.adj_limit = (limit + completed) >>> 0;
    this.prev_ovlimit = ovlimit;
    this.prev_last_obj_cnt = this.last_obj_cnt;
    this.num_completed = completed;
    this.prev_num_queued = num_queued;
  }
}
