import { OppuError } from '@oppu/core';

export interface DownloadOptions {
  /** Most bytes accepted; the download stops as soon as more arrive. */
  readonly maxBytes: number;
  /** The size Discord declared for the attachment, checked before anything is downloaded. */
  readonly declaredSize?: number;
  /** Names the file in error messages. */
  readonly name?: string;
  readonly signal?: AbortSignal;
  readonly fetch?: typeof globalThis.fetch;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(bytes < 1024 * 1024 ? 2 : 1)} MiB`;
}

/** Throws when the declared size is over the limit, so an oversized file is refused before any download. */
export function checkDeclaredSize(size: number, maxBytes: number, name = 'the attachment'): void {
  if (!Number.isFinite(size) || size < 0) {
    throw new OppuError(
      'attachment_size_unknown',
      `${name}: Discord gave no valid size for it; attach it again`,
    );
  }
  if (size > maxBytes) {
    throw new OppuError(
      'attachment_too_large',
      `${name} is ${mib(size)}; the limit is ${mib(maxBytes)}. Attach a smaller file (an adapter archive from /export fits).`,
    );
  }
}

/**
 * Downloads an attachment into memory, refusing it when Discord's declared size or the server's
 * Content-Length is over the limit, and cutting it off as soon as the bytes actually received pass the limit
 * (a file that lies about its size is never held in full).
 */
export async function downloadAttachment(url: string, options: DownloadOptions): Promise<Uint8Array> {
  const name = options.name ?? 'the attachment';
  if (options.declaredSize !== undefined) checkDeclaredSize(options.declaredSize, options.maxBytes, name);
  const doFetch = options.fetch ?? globalThis.fetch;
  let response: Response;
  try {
    response = await doFetch(url, options.signal ? { signal: options.signal } : {});
  } catch (cause) {
    throw new OppuError(
      'attachment_download',
      `${name} could not be downloaded (${String(cause)}); try again`,
      {
        cause,
      },
    );
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new OppuError(
      'attachment_download',
      `${name} could not be downloaded (HTTP ${response.status}); try again`,
    );
  }
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(length) && length > options.maxBytes) {
    await response.body.cancel();
    checkDeclaredSize(length, options.maxBytes, name);
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > options.maxBytes) {
      await reader.cancel();
      const declared =
        options.declaredSize !== undefined ? ` although Discord said ${mib(options.declaredSize)}` : '';
      throw new OppuError(
        'attachment_too_large',
        `${name} sent more than ${mib(options.maxBytes)}${declared}; the download was cut off and nothing was changed`,
      );
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
