// CUBIC (RFC 9438) as net/ipv4/tcp_cubic.c computes it: integer arithmetic in jiffies and 1/1024 s
// (BICTCP_HZ), beta 717/1024, C = bic_scale·10/1024 (41 → 0.4), fast convergence, the Reno-friendly
// region, and HyStart (ACK train + delay) in slow start. The cube root is exact (Linux approximates it
// with a table and one Newton step; both are within 0.2%).
import type { TcpSock } from './sock';
import { CA_EVENT_TX_START, tcp_cong_avoid_ai, tcp_in_slow_start, tcp_is_cwnd_limited, tcp_slow_start, type TcpCongestionOps } from './tcp_cong';
import { after, TCP_CA_Loss } from './tcp_states';

export const BICTCP_BETA_SCALE = 1024;
export const BICTCP_HZ = 10;
export const CUBIC_BETA = 717;
export const CUBIC_BIC_SCALE = 41;
const HYSTART_MIN_SAMPLES = 8;
const HYSTART_LOW_WINDOW = 16;
const HYSTART_ACK_DELTA_US = 2000;
const HYSTART_DELAY_MIN_US = 4000;
const HYSTART_DELAY_MAX_US = 16000;

/** cubictcp_register's derived constants */
const beta_scale = Math.floor(Math.floor((8 * (BICTCP_BETA_SCALE + CUBIC_BETA)) / 3) / (BICTCP_BETA_SCALE - CUBIC_BETA));
const cube_rtt_scale = CUBIC_BIC_SCALE * 10;
/** 2^(10+3·BICTCP_HZ) / (bic_scale·10) */
const cube_factor = Math.floor(2 ** (10 + 3 * BICTCP_HZ) / (CUBIC_BIC_SCALE * 10));

/** ⌊∛a⌋ for a non-negative integer below 2^64 (exact, corrected for floating error) */
export function cubic_root(a: number): number {
  let x = Math.floor(Math.cbrt(a));
  while (x > 0 && x * x * x > a) x--;
  while ((x + 1) * (x + 1) * (x + 1) <= a) x++;
  return x;
}

export class CubicOps implements TcpCongestionOps {
  readonly name = 'cubic';
  /** struct bictcp */
  cnt = 0;
  last_max_cwnd = 0;
  last_cwnd = 0;
  last_time = 0;
  bic_origin_point = 0;
  bic_K = 0;
  delay_min = 0;
  epoch_start = 0;
  ack_cnt = 0;
  tcp_cwnd = 0;
  sample_cnt = 0;
  found = false;
  round_start = 0;
  end_seq = 0;
  last_ack = 0;
  curr_rtt = 0;
  /** epoch_start uses 0 for "none"; jiffies are offset by 1 so a real epoch at jiffy 0 is not lost */
  private j(tp: TcpSock): number {
    return tp.jiffies() + 1;
  }

  init(tp: TcpSock): void {
    this.reset();
    this.hystart_reset(tp);
  }

  private reset(): void {
    this.cnt = this.last_max_cwnd = this.last_cwnd = this.last_time = 0;
    this.bic_origin_point = this.bic_K = this.delay_min = this.epoch_start = 0;
    this.ack_cnt = this.tcp_cwnd = 0;
    this.found = false;
  }

  private hystart_reset(tp: TcpSock): void {
    this.round_start = this.last_ack = tp.now_us();
    this.end_seq = tp.snd_nxt;
    this.curr_rtt = 0xffffffff;
    this.sample_cnt = 0;
  }

  cwnd_event(tp: TcpSock, ev: number): void {
    if (ev !== CA_EVENT_TX_START) return;
    // an idle period does not count as time in the cubic epoch
    const now = this.j(tp);
    const delta = now - (tp.lsndtime_j + 1);
    if (this.epoch_start && delta > 0) {
      this.epoch_start += delta;
      if (this.epoch_start > now) this.epoch_start = now;
    }
  }

  /** bictcp_update: the ACK count per cwnd increment (cnt) from the cubic curve */
  update(tp: TcpSock, cwnd: number, acked: number): void {
    const HZ = tp.HZ;
    const now = this.j(tp);
    this.ack_cnt += acked;
    if (this.last_cwnd === cwnd && now - this.last_time <= HZ / 32) return;
    if (!(this.epoch_start && now === this.last_time)) {
      this.last_cwnd = cwnd;
      this.last_time = now;
      if (this.epoch_start === 0) {
        this.epoch_start = now;
        this.ack_cnt = acked;
        this.tcp_cwnd = cwnd;
        if (this.last_max_cwnd <= cwnd) {
          this.bic_K = 0;
          this.bic_origin_point = cwnd;
        } else {
          this.bic_K = cubic_root(cube_factor * (this.last_max_cwnd - cwnd));
          this.bic_origin_point = this.last_max_cwnd;
        }
      }
      // t = elapsed time + min RTT, in 1/1024 s
      let t = now - this.epoch_start + Math.ceil((this.delay_min * HZ) / 1_000_000);
      t = Math.floor((t * 1024) / HZ);
      const offs = t < this.bic_K ? this.bic_K - t : t - this.bic_K;
      const delta = Math.floor((cube_rtt_scale * offs * offs * offs) / 2 ** (10 + 3 * BICTCP_HZ));
      const target = t < this.bic_K ? this.bic_origin_point - delta : this.bic_origin_point + delta;
      this.cnt = target > cwnd ? Math.floor(cwnd / (target - cwnd)) : 100 * cwnd;
      // without a known W_max, grow at least 5% per RTT
      if (this.last_max_cwnd === 0 && this.cnt > 20) this.cnt = 20;
    }
    // TCP friendliness: track what Reno would have (beta_scale = 8·(1+β)/3/(1−β))
    const d = (cwnd * beta_scale) >>> 3;
    while (d > 0 && this.ack_cnt > d) {
      this.ack_cnt -= d;
      this.tcp_cwnd++;
    }
    if (this.tcp_cwnd > cwnd) {
      const max_cnt = Math.floor(cwnd / (this.tcp_cwnd - cwnd));
      if (this.cnt > max_cnt) this.cnt = max_cnt;
    }
    // at most 1.5× per RTT
    if (this.cnt < 2) this.cnt = 2;
  }

  cong_avoid(tp: TcpSock, _ack: number, acked: number): void {
    if (!tcp_is_cwnd_limited(tp)) return;
    if (tcp_in_slow_start(tp)) {
      acked = tcp_slow_start(tp, acked);
      if (acked === 0) return;
    }
    this.update(tp, tp.snd_cwnd, acked);
    tcp_cong_avoid_ai(tp, this.cnt, acked);
  }

  /** cubictcp_recalc_ssthresh: W_max with fast convergence, ssthresh = max(cwnd·β, 2) */
  ssthresh(tp: TcpSock): number {
    this.epoch_start = 0;
    const cwnd = tp.snd_cwnd;
    if (cwnd < this.last_max_cwnd) this.last_max_cwnd = Math.floor((cwnd * (BICTCP_BETA_SCALE + CUBIC_BETA)) / (2 * BICTCP_BETA_SCALE));
    else this.last_max_cwnd = cwnd;
    return Math.max(Math.floor((cwnd * CUBIC_BETA) / BICTCP_BETA_SCALE), 2);
  }

  set_state(tp: TcpSock, s: number): void {
    if (s === TCP_CA_Loss) {
      this.reset();
      this.hystart_reset(tp);
    }
  }

  /** cubictcp_acked: delay_min and HyStart */
  pkts_acked(tp: TcpSock, _acked: number, rtt_us: number): void {
    if (rtt_us < 0) return;
    // discard delay samples right after fast recovery
    if (this.epoch_start && this.j(tp) - this.epoch_start < tp.HZ) return;
    const delay = rtt_us === 0 ? 1 : rtt_us;
    if (this.delay_min === 0 || this.delay_min > delay) this.delay_min = delay;
    if (!this.found && tcp_in_slow_start(tp) && tp.snd_cwnd >= HYSTART_LOW_WINDOW) this.hystart_update(tp, delay);
  }

  private hystart_update(tp: TcpSock, delay: number): void {
    if (after(tp.snd_una, this.end_seq)) this.hystart_reset(tp);
    const mib = tp.net.mib.TcpExt;
    // ACK train: closely spaced ACKs spanning half the minimum delay (no pacing in the model)
    const now = tp.now_us();
    if (now - this.last_ack <= HYSTART_ACK_DELTA_US) {
      this.last_ack = now;
      const threshold = this.delay_min >>> 1;
      if (now - this.round_start > threshold) {
        this.found = true;
        mib.TCPHystartTrainDetect++;
        mib.TCPHystartTrainCwnd += tp.snd_cwnd;
        tp.snd_ssthresh = tp.snd_cwnd;
      }
    }
    // delay increase: the round's minimum RTT exceeds delay_min by clamp(delay_min/8, 4 ms, 16 ms)
    if (this.curr_rtt > delay) this.curr_rtt = delay;
    if (this.sample_cnt < HYSTART_MIN_SAMPLES) {
      this.sample_cnt++;
    } else {
      const thresh = Math.min(Math.max(this.delay_min >>> 3, HYSTART_DELAY_MIN_US), HYSTART_DELAY_MAX_US);
      if (this.curr_rtt > this.delay_min + thresh) {
        this.found = true;
        mib.TCPHystartDelayDetect++;
        mib.TCPHystartDelayCwnd += tp.snd_cwnd;
        tp.snd_ssthresh = tp.snd_cwnd;
      }
    }
  }
}
