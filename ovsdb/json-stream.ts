/**
 * Framing of a JSON-RPC 1.0 stream as ovsdb-server speaks it (RFC 7047 section 4), and as every
 * Open vSwitch control socket does (unixctl/server.ts uses it too): JSON texts written back to
 * back with no delimiter. The splitter scans bytes as they arrive, tracking only
 * bracket depth and whether it is inside a string (and after a backslash there), so a value split
 * across chunks, or several values in one chunk, come out whole. Multi-byte UTF-8 never collides
 * with the ASCII bytes it looks for, so it works on raw bytes and decodes each complete value once.
 *
 * Every top-level value must be an object or an array (a bare number cannot be delimited); any
 * other byte outside a value is an error, and so is a value that grows beyond `maxBytes`. Errors
 * are JsonFramingError: the stream is unusable after one, and the caller closes it. Whether the
 * bytes of a delimited value are valid JSON is for JSON.parse to say, afterwards.
 */

export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export class JsonFramingError extends Error {
  override readonly name = 'JsonFramingError';
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isJsonWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

export class JsonSplitter {
  private readonly maxBytes: number;
  private pending: Buffer[] = []; // bytes of the value in progress from earlier chunks
  private pendingBytes = 0;
  private depth = 0; // 0: between values
  private inString = false;
  private escaped = false;

  constructor(maxBytes = DEFAULT_MAX_MESSAGE_BYTES) {
    this.maxBytes = maxBytes;
  }

  /** Whether part of a value is buffered (the stream ended mid-value if it closes now). */
  get midValue(): boolean {
    return this.depth > 0;
  }

  /** Feeds one chunk; returns the text of every value it completes, in order. */
  push(chunk: Buffer): string[] {
    const values: string[] = [];
    let start = -1; // where the current value begins in this chunk (-1: began in an earlier one, or none)
    if (this.depth > 0) start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (this.depth === 0) {
        if (isJsonWhitespace(byte)) continue;
        if (byte !== OPEN_BRACE && byte !== OPEN_BRACKET) {
          throw new JsonFramingError(
            `unexpected ${JSON.stringify(String.fromCharCode(byte))} between JSON values (expected "{" or "[")`,
          );
        }
        start = i;
        this.depth = 1;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === BACKSLASH) this.escaped = true;
        else if (byte === QUOTE) this.inString = false;
        continue;
      }
      if (byte === QUOTE) this.inString = true;
      else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) this.depth++;
      else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        if (--this.depth === 0) {
          this.checkSize(i + 1 - start);
          const tail = chunk.subarray(start, i + 1);
          const bytes = this.pending.length === 0 ? tail : Buffer.concat([...this.pending, tail]);
          values.push(bytes.toString('utf8'));
          this.pending = [];
          this.pendingBytes = 0;
          start = -1;
        }
      }
    }
    if (this.depth > 0) {
      this.checkSize(chunk.length - start);
      // Copy: the caller may reuse its chunk buffer.
      const rest = Buffer.from(chunk.subarray(start));
      this.pending.push(rest);
      this.pendingBytes += rest.length;
    }
    return values;
  }

  private checkSize(moreBytes: number): void {
    if (this.pendingBytes + moreBytes > this.maxBytes) {
      throw new JsonFramingError(`JSON value longer than the limit of ${this.maxBytes} bytes`);
    }
  }
}
