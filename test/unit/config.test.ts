import { describe, expect, it } from 'vitest';
import { ConfigError, defaultSyncOptions, readConfig } from '../../server/config';

describe('configuration', () => {
  it('defaults to embedded Postgres in ./.tandem on port 8787', () => {
    const config = readConfig({});
    expect(config.port).toBe(8787);
    expect(config.database.kind).toBe('embedded');
    expect(config.database.kind === 'embedded' && config.database.dataDir.endsWith('/.tandem')).toBe(true);
    expect(config.sync).toEqual(defaultSyncOptions);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('uses Postgres when DATABASE_URL is set', () => {
    const config = readConfig({ DATABASE_URL: 'postgres://u@db:5432/tandem', TANDEM_PORT: '9000' });
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgres://u@db:5432/tandem', poolSize: 10 });
    expect(config.port).toBe(9000);
  });

  it('refuses several nodes on embedded Postgres, and a bus without its server', () => {
    expect(() => readConfig({ TANDEM_NODES: '2' })).toThrow(/embedded Postgres serves one node/);
    expect(() => readConfig({ TANDEM_BUS: 'postgres' })).toThrow(/embedded Postgres serves one node/);
    expect(() => readConfig({ DATABASE_URL: 'postgres://db/t', TANDEM_BUS: 'redis' })).toThrow(/TANDEM_REDIS_URL/);
    expect(() => readConfig({ DATABASE_URL: 'postgres://db/t', TANDEM_BUS: 'local', TANDEM_NODES: '3' })).toThrow(/needs a bus/);
    expect(readConfig({ DATABASE_URL: 'postgres://db/t', TANDEM_NODES: '3' }).cluster).toEqual({ bus: 'postgres', redisUrl: null, nodes: 3, headCheckMs: 5000, channel: 'tandem' });
  });

  it('reads the abuse limits: proxy hops, sign-up mode, socket limits, HTTP timeouts', () => {
    expect(readConfig({}).auth).toMatchObject({ trustProxy: false, signUp: 'open', signUpsPerAddressPerHour: 10, hashConcurrency: 2 });
    expect(readConfig({ TANDEM_TRUST_PROXY: 'true' }).auth).toMatchObject({ trustProxy: true, proxyHops: 1 });
    expect(readConfig({ TANDEM_TRUST_PROXY: '2' }).auth).toMatchObject({ trustProxy: true, proxyHops: 2 });
    expect(readConfig({ TANDEM_SIGNUP: 'closed' }).auth.signUp).toBe('closed');
    expect(readConfig({ TANDEM_MAX_SOCKETS_PER_ADDRESS: '5', TANDEM_JOINS_PER_ADDRESS: '7' }).sync).toMatchObject({ maxSocketsPerAddress: 5, addressJoinsPerSecond: 7, addressJoinBurst: 70 });
    // The presence burst holds a client's refresh of all its entries at once.
    expect(readConfig({ TANDEM_PRESENCE_ENTRIES_PER_SECOND: '10', TANDEM_MAX_PRESENCE_ENTRIES: '50', TANDEM_MAX_PRESENCE_ENTRY_BYTES: '1000' }).sync).toMatchObject({
      presenceEntriesPerSecond: 10,
      presenceEntryBurst: 50,
      maxPresenceEntriesPerSocket: 50,
      maxPresenceEntryBytes: 1000,
    });
    expect(readConfig({}).sync).toMatchObject({ presenceEntriesPerSecond: 40, presenceEntryBurst: 80, maxPresenceEntriesPerSocket: 32, maxPresenceEntryBytes: 4096 });
    expect(readConfig({ TANDEM_HEADERS_TIMEOUT_MS: '2000' }).http).toEqual({ headersTimeoutMs: 2000, requestTimeoutMs: 30000 });
    expect(() => readConfig({ TANDEM_TRUST_PROXY: 'yes' })).toThrow(/TANDEM_TRUST_PROXY/);
    expect(() => readConfig({ TANDEM_SIGNUP: 'invite' })).toThrow(/TANDEM_SIGNUP/);
  });

  it('fails fast, naming every bad variable', () => {
    expect(() => readConfig({ TANDEM_PORT: 'eighty', DATABASE_URL: 'mysql://x' })).toThrow(ConfigError);
    try {
      readConfig({ TANDEM_PORT: 'eighty', DATABASE_URL: 'mysql://x' });
    } catch (error) {
      expect((error as Error).message).toMatch(/TANDEM_PORT/);
      expect((error as Error).message).toMatch(/DATABASE_URL/);
    }
  });
});
