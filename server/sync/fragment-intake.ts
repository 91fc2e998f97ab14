/**
 * One socket's fragmented updates: a header announces a batch, its fragments are assembled
 * (bounded in size, count and time by the FragmentAssembler), and a complete update goes on as
 * if it had come whole. A refused or timed-out batch is answered once; its late fragments are
 * dropped without another answer (a bounded memory of such batches).
 */
import { FragmentAssembler } from '../../shared/fragment-assembler';
import { UpdateStatus, assertNever, batchKey, type BatchId, type CrdtType, type DocUpdateFragment, type DocUpdateFragmentHeader } from '../../shared/protocol/index';
import type { Logger } from '../logger';

/** How many refused or timed-out batches are remembered, so their late fragments get no second answer. */
const REMEMBERED_DISCARDS = 64;

export interface FragmentIntakeDeps {
  limits: { maxUpdateBytes: number; maxConcurrentBatches: number; timeoutMs: number };
  log: Logger;
  ack(crdt: CrdtType, roomId: string, batchId: BatchId, status: UpdateStatus): void;
  /** Whether this socket may send a batch to that room; false once it has answered the refusal. */
  admit(header: DocUpdateFragmentHeader, ack: (status: UpdateStatus) => void): boolean;
  /** A batch is whole: it goes on as one update. */
  submit(crdt: CrdtType, roomId: string, batchId: BatchId, update: Uint8Array): Promise<void>;
}

export class FragmentIntake {
  private readonly assembler: FragmentAssembler;
  private readonly discarded = new Set<string>();

  constructor(private readonly deps: FragmentIntakeDeps) {
    this.assembler = new FragmentAssembler({
      maxUpdateBytes: deps.limits.maxUpdateBytes,
      maxConcurrentBatches: deps.limits.maxConcurrentBatches,
      timeout: {
        ms: deps.limits.timeoutMs,
        onTimeout: ({ crdt, roomId, batchId }) => {
          this.discard(batchKey(crdt, roomId, batchId));
          deps.ack(crdt, roomId, batchId, UpdateStatus.FragmentTimeout);
        },
      },
    });
  }

  header(header: DocUpdateFragmentHeader): void {
    const { crdt, roomId, batchId } = header;
    const key = batchKey(crdt, roomId, batchId);
    const ack = (status: UpdateStatus): void => this.deps.ack(crdt, roomId, batchId, status);
    // Refuse before buffering anything: a stranger must not make us hold its fragments.
    if (!this.deps.admit(header, ack)) {
      this.discard(key);
      return;
    }
    const result = this.assembler.header(header);
    if (result.kind === 'rejected') {
      this.discard(key);
      this.deps.log.info('sync.fragment_refused', { docId: roomId, reason: result.reason });
      return ack(result.status);
    }
    this.discarded.delete(key);
  }

  async fragment(fragment: DocUpdateFragment): Promise<void> {
    const { crdt, roomId, batchId } = fragment;
    const key = batchKey(crdt, roomId, batchId);
    const ack = (status: UpdateStatus): void => this.deps.ack(crdt, roomId, batchId, status);
    const result = this.assembler.fragment(fragment);
    switch (result.kind) {
      case 'incomplete':
        return;
      case 'complete':
        return this.deps.submit(crdt, roomId, batchId, result.update);
      case 'unknown_batch':
        // Refused or timed out earlier (already answered), or never announced.
        if (!this.discarded.has(key)) {
          this.discard(key);
          ack(UpdateStatus.FragmentTimeout);
        }
        return;
      case 'rejected':
        this.discard(key);
        this.deps.log.info('sync.fragment_refused', { docId: roomId, reason: result.reason });
        return ack(result.status);
      default:
        assertNever(result, 'fragment result');
    }
  }

  /** The socket left the room: its partial batches there are dropped. */
  dropRoom(crdt: CrdtType, roomId: string): void {
    this.assembler.dropRoom(crdt, roomId);
  }

  /** The socket is gone. */
  clear(): void {
    this.assembler.clear();
  }

  private discard(key: string): void {
    this.discarded.add(key);
    if (this.discarded.size > REMEMBERED_DISCARDS) {
      const oldest = this.discarded.values().next().value;
      if (oldest !== undefined) this.discarded.delete(oldest);
    }
  }
}
