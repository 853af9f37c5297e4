// RFS from the socket side (include/net/sock.h sock_rps_save_rxhash / sock_rps_record_flow,
// include/linux/netdevice.h rps_record_sock_flow; Linux 6.1). A socket remembers the flow hash of
// what it receives (sk_rxhash); when the application reads or writes it (inet_recvmsg,
// inet_sendmsg, inet_accept) the CPU it runs on is recorded in rps_sock_flow_table, and get_rps_cpu
// then steers the flow's next packets to that CPU's backlog (core/rps.ts).
import type { Skb } from './skb';
import type { NetStack } from './stack';

/** the RFS fields of struct sock the model's sockets carry */
export interface RpsSock {
  /** sk_rxhash: skb->hash of the last segment received (0: none yet) */
  sk_rxhash: number;
  /**
   * the CPU the consuming application runs on — where recvmsg/sendmsg are called. −1 (default): the
   * CPU running at the call (CPU 0 outside softirqs, where the model's host proxies and services
   * run); set it to place the consumer elsewhere.
   */
  consumer_cpu: number;
}

/** sock_rps_save_rxhash: on receive (tcp_v4_do_rcv, connected UDP), keep the skb's flow hash */
export function sock_rps_save_rxhash(sk: RpsSock, skb: Skb): void {
  if (sk.sk_rxhash !== skb.hash) sk.sk_rxhash = skb.hash;
}

/**
 * sock_rps_record_flow: the application uses the socket on its CPU; with RFS on (rfs_needed: a socket
 * flow table exists) and the socket ESTABLISHED, record (sk_rxhash, CPU). A hash of 0 records nothing.
 */
export function sock_rps_record_flow(stack: NetStack, sk: RpsSock, established: boolean): void {
  const st = stack.rps;
  if (st.sock_flow_table === null || !established) return;
  const c = sk.consumer_cpu;
  st.rps_record_sock_flow(sk.sk_rxhash, c >= 0 && c < st.nr_cpu_ids ? c : stack.this_cpu().cpu);
}
