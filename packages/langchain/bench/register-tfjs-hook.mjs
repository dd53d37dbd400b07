// Training loads tfjs-core's gradient modules, whose extension-less ESM imports plain Node cannot resolve:
// register the repository's resolve hook (bench/tfjs-esm-hook.mjs) before anything else loads.
import { register } from 'node:module';

register('../../../bench/tfjs-esm-hook.mjs', import.meta.url);
