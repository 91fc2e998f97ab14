/** Health endpoints, the error shape, caching headers and upgrade routing. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { backends, type TestDatabase } from '../helpers/backends';
import { startTestServer, type RunningServer } from '../helpers/test-server';

describe.each(backends)('http ($name)', (backend) => {
  let db: TestDatabase;
  let server: RunningServer;

  beforeAll(async () => {
    db = await backend.create();
    server = await startTestServer(db);
  });

  afterAll(async () => {
    await server.close();
    await db.drop();
  });

  it('reports live and ready, never cached', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await fetch(server.httpUrl + path);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('answers unknown routes with the one error shape', async () => {
    const res = await fetch(`${server.httpUrl}/api/nothing`);
    expect(res.status).toBe(404);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'no route for GET /api/nothing' } });
  });

  it('creates documents', async () => {
    const res = await fetch(`${server.httpUrl}/api/documents`, { method: 'POST', headers: { authorization: `Bearer ${server.token}` } });
    expect(res.status).toBe(201);
    expect((await res.json()) as { id: string }).toMatchObject({ id: expect.stringMatching(/^[a-z2-7]{26}$/) });
  });

  it('survives a malformed upgrade request', async () => {
    const { createConnection } = await import('node:net');
    const socket = createConnection({ host: '127.0.0.1', port: server.port });
    const response = await new Promise<string>((resolve) => {
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('close', () => resolve(data));
      socket.write('GET //[ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    });
    expect(response).toMatch(/^HTTP\/1\.1 404/);
    expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200);
  });

  it('refuses WebSocket upgrades on other paths', async () => {
    const ws = new WebSocket(`${server.httpUrl.replace('http', 'ws')}/elsewhere`);
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(404);
  });
});
