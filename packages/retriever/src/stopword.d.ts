declare module 'stopword' {
  /** English stop words of the `stopword` package. */
  export const eng: string[];
  export function removeStopwords(tokens: string[], stopwords?: string[]): string[];
}
