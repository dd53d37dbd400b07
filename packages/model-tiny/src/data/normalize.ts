/**
 * Text clean-up shared by every corpus: Unicode NFC, Windows/old-Mac line ends to `\n`, runs of spaces and
 * tabs (and other horizontal whitespace) to one space, no space at a line's ends, at most one empty line
 * in a row. Case and punctuation are kept as they are.
 */
export function normalizeText(text: string): string {
  return text
    .normalize('NFC')
    .replace(/\r\n?/g, '\n')
    .replace(/[^\S\n]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
