// The RPS stage of the receive pipeline (netif_receive_skb_list_internal → get_rps_cpu,
// net/core/dev.c). Placeholder: with one CPU every skb stays on the polling CPU, so batches pass
// through unchanged; steering to other softnet[] entries (enqueue_to_backlog) comes later.
import { map, type MonoTypeOperatorFunction } from 'rxjs';
import type { NetStack } from './stack';
import type { SkbBatch } from './skb';

export function rps(_stack: NetStack): MonoTypeOperatorFunction<SkbBatch> {
  return map(function get_rps_cpu_batch(batch: SkbBatch): SkbBatch {
    return batch;
  });
}
