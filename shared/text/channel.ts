import { transform, type TextDelta } from './delta';

/** An edit travelling between the two sides: the delta, and how many of the receiver's edits it already includes. */
export interface EditMessage {
  readonly seen: number;
  readonly delta: TextDelta;
}

/**
 * One side of a two-party text channel (Jupiter OT): the document side in the background, the
 * field side in the content script. Each applies its own edits at once and sends them; what
 * arrives was made without the edits this side sent since, and `receive` rewrites it to apply
 * on top of them. Messages must arrive in order (a runtime port keeps order).
 */
export class TextChannel {
  /** Edits sent that the other side had not yet seen when it last wrote. */
  private outstanding: TextDelta[] = [];
  private sent = 0;
  private received = 0;

  /** `first`: this side's inserts go first at a tie; the two sides must disagree. */
  constructor(private readonly first: boolean) {}

  /** Records a local edit (already applied here) and returns the message to send. */
  send(delta: TextDelta): EditMessage {
    this.outstanding.push(delta);
    this.sent++;
    return { seen: this.received, delta };
  }

  /** The incoming edit rewritten to apply to this side's current text. */
  receive(message: EditMessage): TextDelta {
    this.acknowledge(message.seen);
    let incoming = message.delta;
    for (let i = 0; i < this.outstanding.length; i++) {
      const mine = this.outstanding[i]!;
      const rewritten = transform(incoming, mine, !this.first);
      this.outstanding[i] = transform(mine, incoming, this.first);
      incoming = rewritten;
    }
    this.received++;
    return incoming;
  }

  /** How many of the other side's edits this side has applied (sent back in an acknowledgement). */
  get seen(): number {
    return this.received;
  }

  /**
   * The other side has applied `seen` of this side's edits: they need no more rewriting. Sent
   * with every edit, and on its own when one side only listens (else the list grows forever).
   */
  acknowledge(seen: number): void {
    const acknowledged = seen - (this.sent - this.outstanding.length);
    if (acknowledged < 0 || acknowledged > this.outstanding.length) {
      throw new RangeError(`the other side claims ${seen} seen of ${this.sent} sent`);
    }
    this.outstanding.splice(0, acknowledged);
  }

  /** Local edits the other side has not confirmed seeing. */
  get pending(): number {
    return this.outstanding.length;
  }

  /**
   * A position the other side measured after applying `seen` of this side's edits (a caret,
   * presence), moved over the edits of ours it had not applied yet: where it is in our text.
   * Does not acknowledge anything (positions travel beside edits, not in their order).
   */
  positionFrom(seen: number, position: number): number {
    const firstUnseen = Math.max(0, seen - (this.sent - this.outstanding.length));
    let pos = position;
    for (let i = firstUnseen; i < this.outstanding.length; i++) pos = movePosition(this.outstanding[i]!, pos);
    return pos;
  }
}

/** Where `position` is after `delta`: inserts at or before it push it right, deletes before it pull it left. */
export function movePosition(delta: TextDelta, position: number): number {
  let at = 0; // in the text before the delta
  let shift = 0;
  for (const op of delta) {
    if (at > position) break;
    if ('retain' in op) at += op.retain;
    else if ('insert' in op) shift += op.insert.length;
    else {
      shift -= Math.min(op.delete, position - at);
      at += op.delete;
    }
  }
  return position + shift;
}
