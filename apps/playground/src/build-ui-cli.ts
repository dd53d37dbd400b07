import { buildUi, UI_DIST } from './build-ui.js';

/** `pnpm --filter @oppu/playground build`: builds the page into dist/ui (start does this by itself when needed). */
const built = await buildUi({ force: process.argv.includes('--force') });
process.stdout.write(built ? `built the page into ${UI_DIST}\n` : `the page in ${UI_DIST} is up to date\n`);
