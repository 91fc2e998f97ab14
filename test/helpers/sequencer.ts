/**
 * Runs the longest test files first, so the two workers finish together (longest-first is
 * what vitest does itself once it has a results cache; CI starts from a clean clone without
 * one, and vitest then orders by file size, which put a 2-minute file last). The durations
 * are from a clean-clone CI run (2026-12-06); files not listed follow in vitest's order.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const LONGEST_FIRST = [
  'test/integration/multi-node.test.ts', // ~6 min
  'test/e2e/chromium.test.ts', // ~3.5 min
  'test/e2e/editors/firefox.test.ts', // ~3 min
  'test/integration/crash-recovery.test.ts',
  'test/e2e/editors/chromium.test.ts',
  'test/e2e/firefox.test.ts',
  'test/integration/trace-replay.test.ts', // ~2 min
  'test/e2e/hostile.test.ts',
  'test/e2e/editors/rich-adapters.test.ts',
  'test/integration/data-dir.test.ts',
  'test/e2e/frames-firefox.test.ts',
  'test/integration/presence.test.ts',
  'test/integration/rooms.test.ts',
  'test/e2e/rich-text.test.ts',
  'test/integration/accounts.test.ts',
];

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification): number => {
      const i = LONGEST_FIRST.findIndex((name) => file.moduleId.endsWith(name));
      return i === -1 ? LONGEST_FIRST.length : i;
    };
    const sorted = await super.sort(files);
    return sorted
      .map((file, i) => ({ file, i }))
      .sort((a, b) => rank(a.file) - rank(b.file) || a.i - b.i)
      .map(({ file }) => file);
  }
}
