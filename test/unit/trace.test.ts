/** Hop marks (shared/trace.ts): nothing unless a benchmark asks, then one mark per hop with its keystroke. */
import { afterEach, describe, expect, it } from 'vitest';
import { hop, measuring } from '../../shared/trace';

const marks = () => performance.getEntriesByType('mark').filter((m) => m.name.startsWith('tandem:hop:'));

describe('hop marks', () => {
  afterEach(() => {
    delete (globalThis as { __tandemMeasure?: boolean }).__tandemMeasure;
    performance.clearMarks();
  });

  it('marks nothing when no benchmark asks', () => {
    expect(measuring()).toBe(false);
    hop('socket-send', 12);
    expect(marks()).toEqual([]);
  });

  it('marks each hop with its keystroke and time when a benchmark asks', () => {
    (globalThis as { __tandemMeasure?: boolean }).__tandemMeasure = true;
    const before = performance.now();
    hop('background-edit', 42);
    hop('server-receive', -1, before - 5);
    const byName = (name: string) => marks().find((m) => m.name === `tandem:hop:${name}`) as PerformanceMark;
    const edit = byName('background-edit');
    const received = byName('server-receive');
    expect([edit!.name, edit!.detail]).toEqual(['tandem:hop:background-edit', 42]);
    expect(edit!.startTime).toBeGreaterThanOrEqual(before);
    expect([received!.name, received!.detail, received!.startTime]).toEqual(['tandem:hop:server-receive', -1, before - 5]);
  });
});
