// Reads vitest's JSON report and prints the plain line CI reads: "N passed, N failed[, N skipped]".
import { existsSync, readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'test-results/vitest.json';
if (!existsSync(file)) {
  console.log(`ci: ${file} was not written (the test run crashed before reporting)`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const report = JSON.parse(readFileSync(file, 'utf8'));
const passed = report.numPassedTests ?? 0;
// A suite that fails outside its tests (an import error, a failing beforeAll) must count as a failure too,
// even when vitest reports none of its tests as failed.
const suitesWithoutFailedTest = (report.testResults ?? []).filter(
  (r) => r.status === 'failed' && !(r.assertionResults ?? []).some((a) => a.status === 'failed'),
).length;
// Checks outside vitest (lint, typecheck) that failed, counted by .ci/run.
const failedChecks = Number(process.argv[3] ?? 0) || 0;
const failed = (report.numFailedTests ?? 0) + suitesWithoutFailedTest + failedChecks;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
