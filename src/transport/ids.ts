// Ids that come back from an API are data, and some of them end up in the path of a write. Every
// id the exporter may put in a path is checked here, at the boundary, against the shape the real
// API gives it: Cloudflare tunnel and connector ids and PostHog proxy record ids are UUIDs
// (cloudflared makes its connector id with uuid.NewRandom; PostHog's ProxyRecord is a UUIDModel).
// `apiPath` (./http.ts) refuses dot segments on top of this, so a write whose URL is not exactly
// its target's cannot be built even from an id that slipped through.
import { z } from 'zod';

/** 8-4-4-4-12 hex digits, any version. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** A UUID id; anything else fails the answer that carries it. */
export const uuidId = z.string().regex(UUID, { error: (i) => `must be a UUID, got ${JSON.stringify(String(i.input).slice(0, 80))}` });
