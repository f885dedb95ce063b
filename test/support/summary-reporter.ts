import type { Reporter, TestModule, Vitest } from 'vitest/node';

/**
 * Prints one plain closing line, `tests: N passed, N failed, N skipped`, that
 * CI reads whatever the test runner (vitest's own summary is for people).
 */
export default class SummaryReporter implements Reporter {
  private coverage = false;
  private line: string | null = null;

  onInit(vitest: Vitest): void {
    this.coverage = vitest.config.coverage.enabled;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of testModules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
      // A file that failed to load has no tests but is a failure all the same.
      if (m.state() === 'failed' && [...m.children.allTests()].length === 0) failed++;
    }
    this.line = `\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`;
    // With coverage (`npm test`) its summary and floor are printed after the run:
    // the line waits for them, so it stays the last. Vitest reports no coverage
    // when a test failed, so then nothing follows.
    if (!this.coverage || failed > 0) this.print();
  }

  /** Vitest's hook once the coverage reports are written and the floor checked. */
  onFinishedReportCoverage(): void {
    this.print();
  }

  private print(): void {
    if (this.line !== null) console.log(this.line);
    this.line = null;
  }
}
