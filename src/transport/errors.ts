// Typed API errors. Each is classified once, here: retryable or not, and what it means for the
// operator. Messages carry method, path and status, never a credential.

import type { z } from 'zod';

export type ApiName = 'cloudflare' | 'posthog';

/**
 * Where an answer departs from the shape we rely on, as `path: message`. For a union (PostHog's
 * three list shapes) the branch that got furthest is the one the server meant.
 */
export function shapeProblem(error: z.ZodError, root: string): string {
  let issue: z.core.$ZodIssue | undefined = error.issues[0];
  let prefix: PropertyKey[] = [];
  while (issue?.code === 'invalid_union' && issue.errors.length > 0) {
    prefix = [...prefix, ...issue.path];
    const deepest = issue.errors.reduce((best, branch) => ((branch[0]?.path.length ?? 0) > (best[0]?.path.length ?? 0) ? branch : best));
    issue = deepest[0];
  }
  if (!issue) return 'unexpected shape';
  const path = [...prefix, ...issue.path].map(String).join('.');
  return `${path || root}: ${issue.message}`;
}

export interface ApiErrorDetails {
  api: ApiName;
  method: string;
  path: string;
  status?: number;
  /** Cloudflare envelope error codes, when the body had any. */
  codes?: number[];
  cause?: unknown;
}

export class ApiError extends Error {
  readonly api: ApiName;
  readonly method: string;
  readonly path: string;
  readonly status: number | undefined;
  readonly codes: number[];
  /** Whether sending the same GET again may succeed. */
  readonly retryable: boolean = false;

  constructor(summary: string, details: ApiErrorDetails) {
    const status = details.status !== undefined ? ` (HTTP ${details.status})` : '';
    super(`${details.api} ${details.method} ${details.path}${status}: ${summary}`, { cause: details.cause });
    this.name = new.target.name;
    this.api = details.api;
    this.method = details.method;
    this.path = details.path;
    this.status = details.status;
    this.codes = details.codes ?? [];
  }
}

/** 5xx from the server. */
export class ApiServerError extends ApiError {
  override readonly retryable = true;
}

/** A 4xx other than auth, not-found and rate limiting. */
export class ApiRequestError extends ApiError {}

export class ApiNotFoundError extends ApiError {}

/** 401/403 or an auth error code: the credential is wrong or lacks a permission. */
export class ApiAuthError extends ApiError {
  constructor(
    readonly permission: string,
    details: ApiErrorDetails & { detail?: string },
  ) {
    // Cloudflare answers a wrong token and one without the permission alike (code 10000).
    super(
      `access denied: the credential is invalid, or lacks the "${permission}" permission${details.detail ? ` (server: "${details.detail}")` : ''}`,
      details,
    );
  }
}

/**
 * A 403 that no scope or permission can fix: the server does not accept this kind of credential for
 * the action at all. PostHog answers a personal API key on an action that declares no API scope
 * (proxy record `retry/`) with "This action does not support personal API key access".
 */
export class ApiCredentialNotAllowedError extends ApiError {
  constructor(
    readonly detail: string,
    details: ApiErrorDetails,
  ) {
    super(`the server does not accept this credential for this action: "${detail}"`, details);
  }
}

/**
 * A 403 that names membership, not the key: PostHog's OrganizationAdminWritePermissions refuses
 * create, delete and retry of proxy records to a member below admin with "Your organization access
 * level is insufficient." No scope fixes it; an organization admin's key does.
 */
export class ApiNotOrgAdminError extends ApiAuthError {}

/** A 429, a rate-limit error code, or a request held back because an earlier Retry-After has not passed. */
export class ApiRateLimitedError extends ApiError {
  constructor(
    readonly retryAfterMs: number,
    details: ApiErrorDetails & { sent: boolean },
  ) {
    super(
      details.sent
        ? `rate limited; no request to ${details.api} for ${Math.ceil(retryAfterMs / 1000)}s`
        : `not sent: ${details.api} rate limit lockout for another ${Math.ceil(retryAfterMs / 1000)}s`,
      details,
    );
  }
}

/** The request's deadline passed before a full response arrived. */
export class ApiTimeoutError extends ApiError {}

/** Connection refused or reset, DNS failure: nothing usable came back. */
export class ApiNetworkError extends ApiError {
  override readonly retryable = true;
}

/** The body was not JSON or did not have the shape we rely on. */
export class ApiResponseError extends ApiError {}

/** The exporter is stopping and aborted the request. */
export class ApiAbortedError extends ApiError {}

/**
 * Whether a failed write certainly changed nothing: the server answered and refused it (4xx), or
 * it was never sent. A 5xx, a timeout, a reset or an abort mid-request may have come after the
 * server acted: its outcome is unknown.
 */
export function changedNothing(err: unknown): boolean {
  if (err instanceof ApiRateLimitedError) return true;
  return (
    (err instanceof ApiRequestError || err instanceof ApiAuthError || err instanceof ApiCredentialNotAllowedError) &&
    err.status !== undefined &&
    err.status < 500
  );
}
