// bcrypt basic auth as exporter-toolkit does it. bcrypt is slow on purpose, so verified
// credentials are cached (by a hash of user and password) and an unknown user still costs one
// comparison, so response time does not reveal which users exist.
import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';

const DUMMY_HASH = '$2b$10$CwTycUXWue0Thq9StjUM0uJ8.PLxm5Dh2Y5AiSzYdHchTPWa2v2yG';
const CACHE_LIMIT = 256;

export type BasicAuthCheck = (authorization: string | null) => Promise<boolean>;

export function createBasicAuth(users: ReadonlyMap<string, string>): BasicAuthCheck {
  const cache = new Map<string, boolean>();
  return async (authorization) => {
    const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization ?? '');
    if (!match) return false;
    const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const key = createHash('sha256').update(user).update('\0').update(password).digest('hex');
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    const hash = users.get(user);
    const ok = (await bcrypt.compare(password, hash ?? DUMMY_HASH)) && hash !== undefined;
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(key, ok);
    return ok;
  };
}
