export { EnginePool, type EnginePoolOptions, type Lane } from './engine-pool.js';
export { PooledEngine, type PooledEngineOptions, PooledModel } from './pooled-engine.js';
