// Which shard owns an account or organization: rendezvous (highest random weight) hashing. Every
// shard computes, for an id, a weight per shard number from SHA-256 of the two; the highest weight
// wins. The answer depends only on the id and the number of shards, so every process agrees
// without talking to the others; and going from N to N+1 shards moves an id only when the new shard
// outweighs its old one, about 1 in N+1 of them, the fewest any scheme can move (a modulo of a
// hash would move about N in N+1). An id is never owned by two shards.
import { createHash } from 'node:crypto';

function weight(shard: number, id: string): bigint {
  return createHash('sha256').update(`${shard}\n${id}`).digest().readBigUInt64BE(0);
}

/** The shard (0 … total - 1) that owns `id`. */
export function shardOf(id: string, total: number): number {
  let best = 0;
  let bestWeight = -1n;
  for (let shard = 0; shard < total; shard++) {
    const w = weight(shard, id);
    if (w > bestWeight) {
      best = shard;
      bestWeight = w;
    }
  }
  return best;
}

/** A StatefulSet pod's ordinal: the number after its name's last dash (`exporter-2` is 2). */
export function ordinalOf(podName: string): number | undefined {
  const match = /-(\d+)$/.exec(podName.trim());
  return match ? Number(match[1]) : undefined;
}
