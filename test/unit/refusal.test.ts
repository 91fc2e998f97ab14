/** The badge names a refusal the server named (extension/lib/background/refusal.ts). */
import { describe, expect, it } from 'vitest';
import { refusalProblem } from '../../extension/lib/background/refusal';
import { RoomFailure } from '../../shared/client/client-room';
import { CloseCode } from '../../shared/protocol/index';

describe('refusal problems', () => {
  it('names a refused join, an account over its sockets, and says nothing when all is well', () => {
    expect(refusalProblem({ lastClose: null, live: true, failure: new RoomFailure('join_failed', 'at most 256 rooms per connection', 'too_many_rooms') })).toBe(
      'stopped: at most 256 rooms per connection (too_many_rooms)',
    );
    expect(refusalProblem({ lastClose: null, live: false, failure: new RoomFailure('evicted', 'access to this document was revoked') })).toBe('access to this document was removed');
    const tooMany = { code: CloseCode.TooManySockets, reason: 'too_many_sockets' };
    expect(refusalProblem({ lastClose: tooMany, live: false, failure: null })).toMatch(/too_many_sockets/);
    // Once connected again, an old refusal is no problem.
    expect(refusalProblem({ lastClose: tooMany, live: true, failure: null })).toBeNull();
    expect(refusalProblem({ lastClose: { code: CloseCode.ServerShutdown, reason: 'server_shutdown' }, live: false, failure: null })).toBeNull();
  });
});
