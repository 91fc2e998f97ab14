/**
 * `/metrics` (issue 20, item 1): the Prometheus text, read with a real parser; Tandem's
 * counters move with real traffic; the endpoint refuses without a token of the `metrics` or
 * `admin` scope, and TANDEM_METRICS_ADDR serves it alone. Nothing resets over HTTP.
 */
import { LoroDoc } from 'loro-crdt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, MessageType, UpdateStatus } from '../../shared/protocol/index';
import { ApiClient } from '../helpers/api-client';
import { backends, type TestDatabase } from '../helpers/backends';
import { Exposition } from '../helpers/prometheus';
import { RawPeer } from '../helpers/raw-peer';
import { appendEdit } from '../helpers/traces';
import { createDocument, signUp, startTestServer, type RunningServer, type TestUser } from '../helpers/test-server';

const ADMIN_EMAIL = 'metrics-admin@example.test';
const ADMIN_PASSWORD = 'metrics admin password';

/** Every metric of Tandem's own, with its type (docs/OPERATIONS.md "Metrics"). */
const TANDEM_METRICS: Record<string, 'GAUGE' | 'COUNTER' | 'HISTOGRAM'> = {
  tandem_sockets: 'GAUGE',
  tandem_rooms_loaded: 'GAUGE',
  tandem_joins_waiting_for_storage: 'GAUGE',
  tandem_heavy_work_running: 'GAUGE',
  tandem_heavy_work_queued: 'GAUGE',
  tandem_updates_accepted_total: 'COUNTER',
  tandem_updates_relayed_total: 'COUNTER',
  tandem_updates_committed_total: 'COUNTER',
  tandem_commits_total: 'COUNTER',
  tandem_commit_duration_seconds: 'HISTOGRAM',
  tandem_ack_latency_seconds: 'HISTOGRAM',
  tandem_bus_messages_total: 'COUNTER',
  tandem_other_node_entries_total: 'COUNTER',
  tandem_database_errors_total: 'COUNTER',
  tandem_auth_failures_total: 'COUNTER',
  tandem_limit_hits_total: 'COUNTER',
};

describe.each(backends)('metrics ($name)', (backend) => {
  let db: TestDatabase;
  let server: RunningServer;
  let metricsToken: string;
  let user: TestUser;

  const scrape = async (): Promise<Exposition> => {
    const res = await fetch(`${server.httpUrl}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return new Exposition(await res.text());
  };

  beforeAll(async () => {
    db = await backend.create();
    server = await startTestServer(
      db,
      { maxSocketsPerAccount: 3 },
      undefined,
      undefined,
      { adminEmail: ADMIN_EMAIL, adminPassword: ADMIN_PASSWORD },
      { metricsAddress: { host: '127.0.0.1', port: 0 } },
    );
    user = await signUp(server.httpUrl);
    const admin = new ApiClient(server.httpUrl);
    expect((await admin.post('/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD })).status).toBe(200);
    const created = await admin.post('/api/me/tokens', { name: 'scraper', scopes: ['metrics'] });
    expect(created.status).toBe(201);
    metricsToken = created.body.token;
  });

  afterAll(async () => {
    await server.close();
    await db.drop();
  });

  it('refuses /metrics without a token of the metrics or admin scope', async () => {
    const anonymous = await fetch(`${server.httpUrl}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).not.toContain('tandem_');
    const readWrite = await fetch(`${server.httpUrl}/metrics`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(readWrite.status).toBe(403);
    const session = await fetch(`${server.httpUrl}/metrics`, { headers: { cookie: user.cookie } });
    expect(session.status).toBe(403);
    // Only an administrator makes a metrics token.
    const asUser = await new ApiClient(server.httpUrl, { token: user.token }).post('/api/me/tokens', { name: 'no', scopes: ['metrics'] });
    expect([asUser.status, asUser.body.error.code]).toEqual([403, 'forbidden']);
    // A metrics token reads nothing else.
    const documents = await new ApiClient(server.httpUrl, { token: metricsToken }).get('/api/documents');
    expect(documents.status).toBe(403);
    // No reset over HTTP.
    expect((await fetch(`${server.httpUrl}/metrics/reset`, { method: 'POST', headers: { authorization: `Bearer ${metricsToken}` } })).status).toBe(404);
    expect((await scrape()).value('tandem_auth_failures_total', { reason: 'metrics_unauthorized' })).toBeGreaterThanOrEqual(3);
  });

  it('serves the runtime defaults and every Tandem metric, typed and explained', async () => {
    const exposition = await scrape();
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds']) {
      expect(exposition.families.has(name), name).toBe(true);
    }
    for (const [name, type] of Object.entries(TANDEM_METRICS)) {
      expect(exposition.text, name).toContain(`# TYPE ${name} ${type.toLowerCase()}`);
      expect(exposition.text, name).toMatch(new RegExp(`# HELP ${name} \\S`));
    }
  });

  it('counts real traffic: sockets, rooms, updates, commits, latencies, refusals', async () => {
    const before = await scrape();
    const docId = await createDocument({ httpUrl: server.httpUrl, token: user.token });
    const writer = await RawPeer.connect(server.wsUrl, user.token);
    const reader = await RawPeer.connect(server.wsUrl, user.token);
    const third = await RawPeer.connect(server.wsUrl, user.token);
    expect((await writer.joinAndWait(docId)).type).toBe(MessageType.JoinResponseOk);
    expect((await reader.joinAndWait(docId)).type).toBe(MessageType.JoinResponseOk);
    const doc = new LoroDoc();
    for (const word of ['one ', 'two ', 'three ']) {
      expect((await writer.ackFor(writer.update(docId, [appendEdit(doc, word)]))).status).toBe(UpdateStatus.Ok);
    }
    await reader.until(() => reader.updatesFor(docId).length >= 3, { what: 'the three updates relayed' });
    // A fourth socket of the account is over its limit (3).
    const fourth = await RawPeer.connect(server.wsUrl, user.token);
    expect((await fourth.closed()).code).toBe(CloseCode.TooManySockets);
    // Refused credentials: a wrong password, an unknown token (HTTP and socket), a reused email (a constraint in the database).
    const api = new ApiClient(server.httpUrl);
    expect((await api.post('/api/auth/login', { email: user.email, password: 'not the password' })).status).toBe(401);
    expect((await new ApiClient(server.httpUrl, { token: 'tnd_not_a_token' }).get('/api/me')).status).toBe(401);
    const refused = await RawPeer.connect(server.wsUrl, 'tnd_not_a_token');
    await refused.closed();
    expect((await api.post('/api/auth/signup', { email: user.email, password: 'another good password' })).status).toBe(409);

    const after = await scrape();
    const moved = (name: string, labels: Record<string, string> = {}): number => after.value(name, labels) - before.value(name, labels);
    expect(after.value('tandem_sockets')).toBe(3);
    expect(after.value('tandem_rooms_loaded')).toBeGreaterThanOrEqual(1);
    expect(moved('tandem_updates_accepted_total')).toBe(3);
    expect(moved('tandem_updates_committed_total')).toBe(3);
    expect(moved('tandem_updates_relayed_total')).toBe(3);
    expect(moved('tandem_commits_total')).toBeGreaterThanOrEqual(1);
    expect(after.count('tandem_commit_duration_seconds') - before.count('tandem_commit_duration_seconds')).toBeGreaterThanOrEqual(1);
    expect(after.count('tandem_ack_latency_seconds') - before.count('tandem_ack_latency_seconds')).toBe(3);
    expect(Number(after.sample('tandem_ack_latency_seconds')?.sum)).toBeGreaterThan(0);
    expect(moved('tandem_limit_hits_total', { limit: 'sockets_per_account' })).toBe(1);
    expect(moved('tandem_auth_failures_total', { reason: 'wrong_password' })).toBe(1);
    expect(moved('tandem_auth_failures_total', { reason: 'invalid_token' })).toBe(2);
    expect(moved('tandem_database_errors_total', { kind: 'constraint' })).toBe(1);
    for (const peer of [writer, reader, third]) peer.close();
    await Promise.all([writer, reader, third].map((p) => p.closed()));
  });

  it('serves /metrics alone, without credentials, on TANDEM_METRICS_ADDR', async () => {
    const url = server.server.metricsUrl;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const res = await fetch(url!);
    expect(res.status).toBe(200);
    const exposition = new Exposition(await res.text());
    expect(exposition.family('tandem_updates_committed_total').type).toBe('COUNTER');
    expect((await fetch(url!.replace(/\/metrics$/, '/api/documents'))).status).toBe(404);
    expect((await fetch(url!, { method: 'POST' })).status).toBe(405);
  });
});
