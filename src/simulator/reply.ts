// What a simulated endpoint answers, and the two services' envelopes.
import type http from 'node:http';

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** A body sent as it is, not as JSON. */
  raw?: string;
}

export const cfOk = (result: unknown, resultInfo?: unknown): Reply => ({
  status: 200,
  body: { success: true, errors: [], messages: [], result, ...(resultInfo ? { result_info: resultInfo } : {}) },
});

export const cfError = (status: number, code: number, message: string): Reply => ({
  status,
  body: { success: false, errors: [{ code, message }], messages: [], result: null },
});

export const phError = (status: number, detail: string): Reply => ({ status, body: { detail } });

export function send(res: http.ServerResponse, reply: Reply, extra: Record<string, string> = {}): void {
  const payload = reply.raw ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
  res.writeHead(reply.status, { ...(payload ? { 'content-type': 'application/json' } : {}), ...extra, ...reply.headers });
  res.end(payload);
}
