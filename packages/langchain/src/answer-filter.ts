/**
 * Cuts generated text at the first stop sequence, piece by piece as it streams, so that a streamed answer and
 * the same answer generated at once are the same text. With `trim`, leading and trailing white space is dropped
 * (a task answer is one trimmed line, as `OppuService.ask` returns it).
 *
 * Text that could still be the start of a stop sequence (or trailing white space under `trim`) is held back
 * until the next piece decides it.
 */
export class AnswerFilter {
  private readonly stops: readonly string[];
  private readonly trim: boolean;
  private pending = '';
  private started = false;
  /** True once a stop sequence was seen; nothing more is emitted. */
  done = false;

  constructor(stops: readonly string[] = [], options: { readonly trim?: boolean } = {}) {
    this.stops = stops.filter((s) => s.length > 0);
    this.trim = options.trim ?? false;
  }

  /** Takes the next piece of generated text; returns what can be emitted now ('' when nothing). */
  push(piece: string): string {
    if (this.done) return '';
    this.pending += piece;
    let cut = -1;
    for (const stop of this.stops) {
      const at = this.pending.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.done = true;
      const out = this.pending.slice(0, cut);
      this.pending = '';
      return this.shape(out, true);
    }
    // Hold back the longest tail that is a proper prefix of some stop sequence.
    let hold = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, this.pending.length); n > hold; n--) {
        if (this.pending.endsWith(stop.slice(0, n))) {
          hold = n;
          break;
        }
      }
    }
    const out = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return this.shape(out, false);
  }

  /** The generation ended: returns what was held back (less trailing white space under `trim`). */
  end(): string {
    if (this.done) return '';
    this.done = true;
    const out = this.pending;
    this.pending = '';
    return this.shape(out, true);
  }

  /** The whole text at once: the same result as pushing it in any pieces, then `end()`. */
  static apply(
    text: string,
    stops: readonly string[] = [],
    options: { readonly trim?: boolean } = {},
  ): string {
    const filter = new AnswerFilter(stops, options);
    return filter.push(text) + filter.end();
  }

  private trailing = '';

  private shape(text: string, final: boolean): string {
    if (!this.trim) return text;
    let out = text;
    if (!this.started) {
      out = out.replace(/^\s+/, '');
      if (out.length === 0) return '';
      this.started = true;
    }
    out = this.trailing + out;
    this.trailing = '';
    if (final) return out.replace(/\s+$/, '');
    const kept = out.replace(/\s+$/, '');
    this.trailing = out.slice(kept.length);
    return kept;
  }
}
