import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The page's sources. */
export const UI_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'ui');
/** Where the built page goes by default (apps/playground/dist/ui). */
export const UI_DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'ui');
const STAMP = '.source-hash';

async function sourceHash(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (d: string): Promise<void> => {
    const entries = (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (!e.name.endsWith('.test.ts')) hash.update(p.slice(dir.length)).update(await readFile(p));
    }
  };
  await walk(dir);
  return hash.digest('hex');
}

/**
 * Builds the page with Vite unless `outDir` already holds a build of the current sources (a hash of the sources
 * is kept beside it). Returns whether it built. React's JSX is compiled by Vite's own transformer (automatic
 * runtime); no plugin is needed for a production build.
 */
export async function buildUi(
  options: { outDir?: string; force?: boolean; quiet?: boolean } = {},
): Promise<boolean> {
  const outDir = options.outDir ?? UI_DIST;
  const hash = await sourceHash(UI_SOURCE);
  if (!options.force) {
    const built = await readFile(join(outDir, STAMP), 'utf8').catch(() => '');
    if (built.trim() === hash) return false;
  }
  const { build } = await import('vite');
  await build({
    configFile: false,
    root: UI_SOURCE,
    base: '/',
    logLevel: options.quiet ? 'error' : 'warn',
    build: { outDir, emptyOutDir: true, chunkSizeWarningLimit: 1024 },
  });
  await writeFile(join(outDir, STAMP), `${hash}\n`);
  return true;
}
