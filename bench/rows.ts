/** One printed row of `npm run bench`; every module that contributes rows returns these. */
export interface BenchRow {
  scenario: string;
  [column: string]: string | number | boolean | null;
}
