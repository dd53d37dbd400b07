import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { JSONParser } from '@streamparser/json';
import { OppuError } from '../contracts/errors.js';

/** One value found at one of the requested JSONPaths. */
export interface StreamedValue {
  readonly value: unknown;
  /** Key or index in the parent (`'task'`, `3`). */
  readonly key: string | number | undefined;
  /** Depth below the top-level value: 1 for `$.x`, 2 for `$.golds.*`. */
  readonly depth: number;
}

export interface JsonStreamOptions {
  /** JSONPaths to emit, e.g. `['$.*']` for the items of a top-level array. */
  readonly paths: readonly string[];
  /** The top-level value must be this; anything else is an error. */
  readonly topLevel: 'array' | 'object';
  /** Name used in error messages (default: the path). */
  readonly name?: string;
  readonly signal?: AbortSignal;
  /** Called as bytes are read: (bytesRead, fileSize). */
  readonly onBytes?: (read: number, total: number) => void;
  readonly highWaterMark?: number;
}

/**
 * Streams a JSON file and yields the values at `paths`, one by one, without holding the document in memory:
 * values already yielded are not kept by the parser (`keepStack: false`). Invalid, truncated or empty JSON and a
 * wrong top-level type are OppuErrors naming the file.
 */
export async function* streamJsonValues(
  path: string,
  options: JsonStreamOptions,
): AsyncGenerator<StreamedValue> {
  const name = options.name ?? path;
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) {
      throw new OppuError(
        'file_not_found',
        `${name}: cannot read: it is ${st.isDirectory() ? 'a folder' : 'not a regular file'}; pass the path of a JSON file`,
      );
    }
    size = st.size;
  } catch (cause) {
    if (cause instanceof OppuError) throw cause;
    const code = (cause as NodeJS.ErrnoException).code;
    throw new OppuError(
      'file_not_found',
      code === 'ENOENT' ? `${name}: no such file` : `${name}: cannot read (${String(cause)})`,
      { cause },
    );
  }
  const parser = new JSONParser({ paths: [...options.paths], keepStack: false });
  const queue: StreamedValue[] = [];
  parser.onValue = ({ value, key, stack }) => {
    queue.push({ value, key, depth: stack.length });
  };
  let firstByteSeen = false;
  let read = 0;
  const stream = createReadStream(path, { highWaterMark: options.highWaterMark ?? 1 << 16 });
  const fail = (cause: unknown, what: string): never => {
    stream.destroy();
    throw new OppuError('invalid_json', `${name}: ${what}`, { cause });
  };
  // Read errors (EACCES, EIO, ...) name the file like every other failure.
  const chunks = (async function* () {
    try {
      yield* stream as AsyncIterable<Buffer>;
    } catch (cause) {
      throw new OppuError('file_not_found', `${name}: cannot read (${String(cause)})`, { cause });
    }
  })();
  try {
    for await (const chunk of chunks) {
      if (options.signal?.aborted) {
        throw new OppuError('aborted', `${name}: reading was cancelled`, { cause: options.signal.reason });
      }
      let data = chunk;
      if (!firstByteSeen) {
        let i = 0;
        if (read === 0 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) i = 3; // UTF-8 BOM
        while (
          i < data.length &&
          (data[i] === 0x20 || data[i] === 0x0a || data[i] === 0x0d || data[i] === 0x09)
        )
          i++;
        if (i < data.length) {
          firstByteSeen = true;
          const want = options.topLevel === 'array' ? 0x5b : 0x7b;
          if (data[i] !== want) {
            fail(
              undefined,
              `expected a JSON ${options.topLevel} (starting with "${options.topLevel === 'array' ? '[' : '{'}") but the file starts with ${JSON.stringify(String.fromCharCode(data[i]!))}`,
            );
          }
        }
        if (i > 0) data = data.subarray(i);
      }
      read += chunk.length;
      if (parser.isEnded) {
        if (data.toString('utf8').trim() !== '') fail(undefined, 'has data after the end of the JSON value');
        continue;
      }
      try {
        parser.write(data);
      } catch (cause) {
        fail(cause, `not valid JSON (${(cause as Error).message.replace(/\.$/, '')}) near byte ${read}`);
      }
      options.onBytes?.(read, size);
      while (queue.length > 0) yield queue.shift()!;
    }
  } finally {
    stream.destroy();
  }
  if (!firstByteSeen) fail(undefined, 'is empty (expected JSON)');
  if (!parser.isEnded) {
    try {
      parser.end();
    } catch (cause) {
      fail(
        cause,
        `JSON ends early: the file is truncated (${size} bytes read); re-download or re-generate it`,
      );
    }
  }
  while (queue.length > 0) yield queue.shift()!;
}
