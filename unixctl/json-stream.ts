/**
 * Framing for JSON-RPC 1.0 over a stream, as Open vSwitch speaks it (lib/jsonrpc.c): JSON texts
 * one after the other with nothing between them but optional whitespace. This splitter only finds
 * where each top-level object or array ends (counting brackets outside strings); decoding is
 * JSON.parse's job. Bytes are decoded as UTF-8 across chunk boundaries.
 *
 * Anything else at the top level (a bare number, string or stray character) is a FramingError:
 * Open vSwitch would parse it as a value and then drop the connection because a JSON-RPC message
 * must be an object, so the caller does the same.
 */
import { StringDecoder } from 'node:string_decoder';

export class FramingError extends Error {
  override readonly name = 'FramingError';
}

/** A message longer than this is refused (no control command comes near it). */
export const MAX_MESSAGE_CHARS = 4 * 1024 * 1024;

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

export class JsonStreamSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private readonly maxChars: number;
  /** Text of the value under way (from its opening bracket), plus what follows not yet scanned. */
  private pending = '';
  /** Where scanning resumes in `pending`. */
  private scanned = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(maxChars = MAX_MESSAGE_CHARS) {
    this.maxChars = maxChars;
  }

  /** Adds bytes; returns the complete JSON texts they finish, in order. Throws a FramingError. */
  feed(chunk: Uint8Array): string[] {
    this.pending += this.decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    const texts: string[] = [];
    let i = this.scanned;
    const text = this.pending;
    let start = 0;
    for (; i < text.length; i++) {
      const c = text[i] as string;
      if (this.depth === 0) {
        if (WHITESPACE.has(c)) {
          start = i + 1;
          continue;
        }
        if (c !== '{' && c !== '[') throw new FramingError(`unexpected ${JSON.stringify(c)} between messages`);
        start = i;
        this.depth = 1;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
      } else if (c === '"') this.inString = true;
      else if (c === '{' || c === '[') this.depth++;
      else if (c === '}' || c === ']') {
        this.depth--;
        if (this.depth === 0) {
          texts.push(text.slice(start, i + 1));
          start = i + 1;
        }
      }
    }
    this.pending = text.slice(start);
    this.scanned = this.pending.length;
    if (this.pending.length > this.maxChars)
      throw new FramingError(`message longer than ${this.maxChars} characters`);
    return texts;
  }
}
