import { resolve } from 'node:path';

/** The folder every store writes under: `OPPU_HOME`, or `./.oppu` in the working directory. */
export function oppuHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.OPPU_HOME && env.OPPU_HOME.length > 0 ? env.OPPU_HOME : '.oppu');
}
