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
    expect(readConfig({ DATABASE_URL: 'postgres://db/t', TANDEM_NODES: '3' }).cluster).toEqual({ bus: 'postgres', redisUrl: null, nodes: 3, headCheckMs: 5000 });
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
