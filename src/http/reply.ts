// What the HTTP app answers and the server writes: a status, headers and a body of byte chunks
// with their length. No web stream sits between them: the /metrics body is tens of megabytes of
// buffers that already exist, and the server writes those buffers as they are. Tests read a Reply
// with the methods a fetch Response has (text, arrayBuffer), over the same chunks the server sends.

/**
 * A body: its length in bytes and its chunks. An array is ready at once (the server writes it in
 * one writev); an async iterable is made as it is read, at the client's pace, and is read once.
 */
export interface ReplyBody {
  length: number;
  chunks: readonly Uint8Array[] | AsyncIterable<Uint8Array>;
}

export class Reply {
  readonly headers: Headers;

  constructor(
    readonly status: number,
    headers: Record<string, string>,
    readonly body: ReplyBody | null = null,
  ) {
    this.headers = new Headers(headers);
  }

  /** A reply whose body is one text or buffer. */
  static of(status: number, headers: Record<string, string>, content: string | Uint8Array): Reply {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    return new Reply(status, headers, { length: bytes.length, chunks: [bytes] });
  }

  /** The same status and headers without the body (HEAD); a body made as it is read is never made. */
  async withoutBody(): Promise<Reply> {
    const chunks = this.body?.chunks;
    if (chunks && !Array.isArray(chunks)) await (chunks as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]().return?.();
    return new Reply(this.status, Object.fromEntries(this.headers), null);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const parts: Uint8Array[] = [];
    if (this.body) for await (const chunk of this.body.chunks) parts.push(chunk);
    const whole = Buffer.concat(parts);
    return whole.buffer.slice(whole.byteOffset, whole.byteOffset + whole.length) as ArrayBuffer;
  }

  async text(): Promise<string> {
    return Buffer.from(await this.arrayBuffer()).toString('utf8');
  }
}
