/**
 * The join answer and the oplog it reads (server/sync/doc-room/{join-answer,oplog}.ts), with
 * real Loro documents and no database: what a member presenting each kind of version gets.
 */
import { LoroDoc, VersionVector } from 'loro-crdt';
import { describe, expect, it } from 'vitest';
import type { StoredDocument } from '../../server/sync/doc-store';
import { answerJoin, type JoinAnswer } from '../../server/sync/doc-room/join-answer';
import { RoomOplog } from '../../server/sync/doc-room/oplog';
import { StoredLog } from '../../server/sync/doc-room/stored-log';
import { appendEdit, textOf } from '../helpers/traces';

async function roomOf(stored: StoredDocument, unstored: Uint8Array[] = []) {
  const oplog = await RoomOplog.load(stored);
  const log = new StoredLog(stored.snapshot, stored.log, stored.headSeq);
  const contents = { oplog, stored: log, unstored: () => unstored, unstoredCount: () => unstored.length };
  return { oplog, log, answer: (version: Uint8Array) => answerJoin(contents, version) };
}

function ok(answer: JoinAnswer): Extract<JoinAnswer, { ok: true }> {
  if (!answer.ok) throw new Error(`join refused: ${answer.reason}`);
  return answer;
}

const replay = (updates: Uint8Array[], into = new LoroDoc()): LoroDoc => {
  if (updates.length > 0) into.importBatch(updates);
  return into;
};

describe('join answer', () => {
  it('gives a member with nothing the stored bytes of a small log, and the accepted updates not yet stored', async () => {
    const author = new LoroDoc();
    const log = ['a', 'b', 'c'].map((t, i) => ({ seq: i + 1, updates: [appendEdit(author, t)] }));
    const queued = appendEdit(author, 'd');
    const { answer } = await roomOf({ snapshot: null, log, headSeq: 3 }, [queued]);
    const answered = ok(answer(new Uint8Array(0)));
    expect(answered.fromStore).toBe(true);
    expect(answered.catchUp).toEqual([...log.map((e) => e.updates[0]), queued]);
    expect(textOf(replay(answered.catchUp))).toBe('abcd');
  });

  it('gives a member with nothing one export of a longer log, shared until the updates after it grow long', async () => {
    const author = new LoroDoc();
    const log = Array.from({ length: 12 }, (_, i) => ({ seq: i + 1, updates: [appendEdit(author, String(i % 10))] }));
    const { oplog, answer } = await roomOf({ snapshot: null, log, headSeq: 12 });
    const first = ok(answer(new Uint8Array(0)));
    expect(first.fromStore).toBe(false);
    expect(first.shared).toBe(true); // framed once for every such joiner (Relay.catchUp)
    expect(first.catchUp).toHaveLength(1);
    const later = appendEdit(author, 'x');
    oplog.import(later);
    const second = ok(answer(new Uint8Array(0)));
    expect(second.catchUp[0]).toBe(first.catchUp[0]); // the same export, not made again
    expect(second.catchUp[1]).toBe(later);
    expect(textOf(replay(second.catchUp))).toBe(textOf(author));
    for (let i = 0; i < 8; i++) oplog.import(appendEdit(author, 'y'));
    const third = ok(answer(new Uint8Array(0)));
    expect(third.catchUp).toHaveLength(1); // the tail grew past 8: exported again
    expect(textOf(replay(third.catchUp))).toBe(textOf(author));
  });

  it('gives a member with a version only what it lacks, and nothing when it is level or ahead', async () => {
    const author = new LoroDoc();
    const log = [{ seq: 1, updates: [appendEdit(author, 'hello')] }];
    const { answer } = await roomOf({ snapshot: null, log, headSeq: 1 });
    const member = replay(log[0]!.updates);
    const level = ok(answer(member.oplogVersion().encode()));
    expect(level.catchUp).toEqual([]);
    appendEdit(member, ' ahead');
    expect(ok(answer(member.oplogVersion().encode())).catchUp).toEqual([]);
    const behind = new LoroDoc();
    const missing = ok(answer(new VersionVector(null).encode())); // an empty vector: everything
    expect(textOf(replay(missing.catchUp, behind))).toBe('hello');
  });

  it('gives a member lacking more than OWN_EXPORT_MAX_OPS the shared whole answer, not an export of its own', async () => {
    const author = new LoroDoc();
    const log = Array.from({ length: 12 }, (_, i) => ({ seq: i + 1, updates: [appendEdit(author, 'x'.repeat(1_000) + i)] }));
    const { answer } = await roomOf({ snapshot: null, log, headSeq: 12 });
    const whole = ok(answer(new Uint8Array(0)));
    // A version of a peer the room never saw, joined again and again: the same bytes each time.
    const stranger = new LoroDoc();
    appendEdit(stranger, 'mine');
    const foreign = ok(answer(stranger.oplogVersion().encode()));
    expect(foreign.catchUp).toHaveLength(1);
    expect(foreign.catchUp[0]).toBe(whole.catchUp[0]);
    expect(ok(answer(stranger.oplogVersion().encode())).catchUp[0]).toBe(whole.catchUp[0]);
    expect(textOf(replay(foreign.catchUp, stranger))).toContain('x'.repeat(1_000));
    // A member missing a little still gets just that.
    const near = replay(log.slice(0, 11).flatMap((e) => e.updates));
    const small = ok(answer(near.oplogVersion().encode()));
    expect(small.catchUp[0]).not.toBe(whole.catchUp[0]);
    expect([foreign.shared, small.shared]).toEqual([true, false]); // its own: not kept framed for others
    expect(textOf(replay(small.catchUp, near))).toBe(textOf(author));
  });

  it('refuses a version it cannot read, with its own version', async () => {
    const { oplog, answer } = await roomOf({ snapshot: null, log: [], headSeq: 0 });
    const refused = answer(new Uint8Array([0xff, 0xff, 0xff]));
    expect(refused).toMatchObject({ ok: false, reason: 'version_unknown' });
    expect(refused.version).toEqual(oplog.version().encode());
  });

  it('keeps an update waiting for its dependencies for joiners, and drops it once they arrive', async () => {
    const author = new LoroDoc();
    const first = appendEdit(author, 'base ');
    const second = appendEdit(author, 'depends');
    const { oplog, answer } = await roomOf({ snapshot: null, log: [], headSeq: 0 });
    oplog.import(second); // its dependency has not arrived
    expect(oplog.mayHavePending).toBe(true);
    const waiting = ok(answer(new Uint8Array(0)));
    expect(waiting.fromStore).toBe(true); // an export would lack the waiting ops
    expect(waiting.catchUp).toContain(second);
    oplog.import(first);
    expect(oplog.stillWaiting()).toEqual([]);
    const complete = ok(answer(new Uint8Array(0)));
    expect(complete.catchUp).not.toContain(second);
  });

  it('loads a snapshot with its pending part and the log after it', async () => {
    const author = new LoroDoc();
    appendEdit(author, 'snap');
    const snapshotBytes = author.export({ mode: 'snapshot' });
    const log = [{ seq: 2, updates: [appendEdit(author, 'shot')] }];
    const { oplog, log: stored, answer } = await roomOf({ snapshot: { seq: 1, bytes: snapshotBytes, pending: null }, log, headSeq: 2 });
    expect(stored.appliedSeq).toBe(2);
    expect(oplog.opCount()).toBe(8);
    expect(textOf(replay(ok(answer(new Uint8Array(0))).catchUp))).toBe('snapshot');
  });
});
