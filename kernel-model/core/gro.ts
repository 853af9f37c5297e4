// The GRO stage of the receive pipeline (napi_gro_receive → dev_gro_receive, net/core/gro.c).
// Placeholder: batches pass through unchanged; GRO (coalescing TCP/UDP segments per flow, flushed at
// napi_complete_done / end of poll) comes in a later issue and plugs in here.
import { map, type MonoTypeOperatorFunction } from 'rxjs';
import type { NetStack } from './stack';
import type { SkbBatch } from './skb';

export function gro_receive(_stack: NetStack): MonoTypeOperatorFunction<SkbBatch> {
  return map(function gro_receive_batch(batch: SkbBatch): SkbBatch {
    return batch;
  });
}
