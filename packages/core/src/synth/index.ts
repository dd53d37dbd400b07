export type { CitationPreferences } from './model-citation.js';
export type { FacetPreferences } from './model-facets.js';
export type { RatingPreferences } from './model-rating.js';
export type { StylePreferences } from './model-styled.js';
export * from './oracle.js';
export * from './prng.js';
export * from './synthesize.js';
export type { SynthExample, TaskModel } from './task-model.js';
