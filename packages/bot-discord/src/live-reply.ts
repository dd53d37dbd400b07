/**
 * Edits one message at most every `intervalMs` with the latest text (Discord rate-limits edits, and progress
 * comes faster than anyone reads). Edits are sent one after another; a failed progress edit is reported to
 * `onError` and never interrupts the work. `finish` sends the last text once pending edits are done.
 */
export class LiveReply {
  private latest: string | undefined;
  private sent: string | undefined;
  private lastAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private finished = false;

  constructor(
    private readonly edit: (content: string) => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  update(content: string): void {
    if (this.finished) return;
    this.latest = content;
    if (this.timer) return;
    const wait = Math.max(0, this.lastAt + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    const content = this.latest;
    if (this.finished || content === undefined || content === this.sent) return;
    this.sent = content;
    this.lastAt = Date.now();
    this.chain = this.chain
      .then(() => this.edit(content))
      .then(
        () => undefined,
        (error) => this.onError(error),
      );
  }

  /** Stops progress edits and sends `content` after the pending ones. */
  async finish(content: string): Promise<void> {
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.chain;
    await this.edit(content);
  }
}
