// The `oppu` command line from code: `main(argv, io?)` runs one command and returns its exit code (0 ok, 1 a
// failure while working, 2 bad arguments); `describeFailure` is the one line it prints for an error.
export { describeFailure, main } from './main.js';
