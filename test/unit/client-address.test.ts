import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddress, forwardedHop } from '../../server/auth/client-address';
import { requestOrigin } from '../../server/auth/origin-policy';

const request = (headers: Record<string, string | string[]>, remoteAddress = '10.0.0.2'): IncomingMessage => ({ headers, socket: { remoteAddress } }) as unknown as IncomingMessage;

describe('client address behind proxies', () => {
  it('takes the address the trusted proxy appended, not what the client wrote', () => {
    // The client sent "X-Forwarded-For: 1.2.3.4"; our one proxy appended the address it saw.
    const req = request({ 'x-forwarded-for': '1.2.3.4, 203.0.113.7' });
    expect(clientAddress(req, { trustProxy: true, proxyHops: 1 })).toBe('203.0.113.7');
    // Two proxies (CDN, then load balancer): the CDN appended the client, the balancer the CDN.
    const chained = request({ 'x-forwarded-for': '1.2.3.4, 203.0.113.7, 198.51.100.1' });
    expect(clientAddress(chained, { trustProxy: true, proxyHops: 2 })).toBe('203.0.113.7');
    // Repeated headers are one list.
    expect(clientAddress(request({ 'x-forwarded-for': ['1.2.3.4', '203.0.113.7'] }), { trustProxy: true, proxyHops: 1 })).toBe('203.0.113.7');
  });

  it('ignores the header without a trusted proxy, and anything that is not an address', () => {
    expect(clientAddress(request({ 'x-forwarded-for': '203.0.113.7' }), { trustProxy: false, proxyHops: 1 })).toBe('10.0.0.2');
    expect(clientAddress(request({ 'x-forwarded-for': '1.2.3.4, not-an-ip' }), { trustProxy: true, proxyHops: 1 })).toBe('10.0.0.2');
    expect(clientAddress(request({}), { trustProxy: true, proxyHops: 1 })).toBe('10.0.0.2');
    expect(forwardedHop('203.0.113.7', 3)).toBe('203.0.113.7');
  });

  it('reads the scheme from the same hop', () => {
    const origin = (proto: string) =>
      requestOrigin({ headers: { host: 'tandem.test', 'x-forwarded-proto': proto }, socket: {} } as unknown as IncomingMessage, { publicUrl: null, trustProxy: true, proxyHops: 1 });
    expect(origin('http, https')).toBe('https://tandem.test');
    expect(origin('https, http')).toBe('http://tandem.test');
    expect(origin('gopher')).toBe('http://tandem.test');
  });
});
