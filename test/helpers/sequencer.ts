/**
 * Runs the longest test files first, so the two workers finish together (longest-first is
 * what vitest does itself once it has a results cache; CI starts from a clean clone without
 * one, and vitest then orders by file size, which put a 2-minute file last). The durations
 * are from a full local run (2026-11-28); files not listed follow in vitest's order.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const LONGEST_FIRST = [
  'test/integration/multi-node.test.ts', // ~6 min
  'test/e2e/chromium.test.ts', // ~3.5 min
  'test/integration/rooms.test.ts', // ~2 min
  'test/integration/trace-replay.test.ts', // ~2 min
  'test/e2e/hostile.test.ts',
  'test/integration/crash-recovery.test.ts',
  'test/e2e/rich-text.test.ts',
  'test/integration/accounts.test.ts',
  'test/e2e/firefox.test.ts',
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
