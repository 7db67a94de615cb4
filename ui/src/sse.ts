// A Server-Sent Events parser for a stream read with fetch(): EventSource cannot send an
// Authorization header, and the token must never be put in a URL. It follows the parsing rules
// of https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
// (lines end with CRLF, LF or CR; a blank line dispatches; `:` starts a comment; the id persists).

export interface SseMessage {
  /** The `event:` field, `message` when none was sent. */
  event: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
  /** The last `id:` seen on the stream so far (what `Last-Event-ID` resumes from). */
  lastEventId: string;
}

export class SseParser {
  private buffer = '';
  /** A chunk ended with CR: a LF at the start of the next one belongs to the same line end. */
  private afterCr = false;
  private data: string[] = [];
  private event = '';
  lastEventId = '';
  /** The reconnection time the server asked for with `retry:`, in ms. */
  retryMs: number | undefined;

  /** Feeds decoded text; returns the messages it completed. */
  push(text: string): SseMessage[] {
    if (text === '') return [];
    const out: SseMessage[] = [];
    let chunk = text;
    if (this.afterCr && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.afterCr = false;
    this.buffer += chunk;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(this.buffer.slice(start, i), out);
      if (c === 13) {
        if (i + 1 < this.buffer.length) {
          if (this.buffer.charCodeAt(i + 1) === 10) i++;
        } else {
          this.afterCr = true;
        }
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  private line(line: string, out: SseMessage[]): void {
    if (line === '') {
      if (this.data.length > 0) {
        out.push({
          event: this.event || 'message',
          data: this.data.join('\n'),
          lastEventId: this.lastEventId,
        });
      }
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id') {
      if (!value.includes('\0')) this.lastEventId = value;
    } else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
  }
}
