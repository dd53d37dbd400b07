import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadAttachment } from './attachment-download.js';
import { FakeDiscord } from './testing/fake-discord.js';

describe('downloadAttachment', () => {
  let discord: FakeDiscord;
  beforeAll(async () => {
    discord = await FakeDiscord.start();
  });
  afterAll(() => discord.close());

  const bytes = (n: number) => new Uint8Array(n).map((_, i) => i % 251);

  it('downloads a file within the limit', async () => {
    const file = discord.addFile('a.zip', bytes(200_000));
    const got = await downloadAttachment(file.url, { maxBytes: 300_000, declaredSize: 200_000 });
    expect(got).toEqual(bytes(200_000));
  });

  it('refuses a file whose declared size is over the limit without downloading it', async () => {
    const file = discord.addFile('big.zip', bytes(1000));
    await expect(
      downloadAttachment(file.url, { maxBytes: 500, declaredSize: 10_000_000, name: 'big.zip' }),
    ).rejects.toThrow(/big.zip is 9.5 MiB; the limit is 0.00 MiB/);
    expect(file.requests).toBe(0);
  });

  it('refuses a server Content-Length over the limit', async () => {
    const file = discord.addFile('b.zip', bytes(400_000));
    await expect(downloadAttachment(file.url, { maxBytes: 300_000 })).rejects.toMatchObject({
      code: 'attachment_too_large',
    });
  });

  it('cuts off a file that sends more than it declared', async () => {
    const size = 8 * 1024 * 1024;
    const file = discord.addFile('liar.zip', bytes(size), { chunked: true });
    await expect(
      downloadAttachment(file.url, { maxBytes: 256 * 1024, declaredSize: 1000, name: 'liar.zip' }),
    ).rejects.toThrow(
      /liar.zip sent more than 0.25 MiB although Discord said 0.00 MiB; the download was cut off/,
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(file.requests).toBe(1);
    // Not the whole file: the reader stopped soon after the limit (socket buffers hold a little more).
    expect(file.bytesSent).toBeLessThan(size / 2);
  });

  it('reports an HTTP error', async () => {
    await expect(
      downloadAttachment(`${discord.origin}/attachments/1/missing.zip`, { maxBytes: 100 }),
    ).rejects.toThrow(/could not be downloaded \(HTTP 404\)/);
  });
});
