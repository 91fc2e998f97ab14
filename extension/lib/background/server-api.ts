/** The server's REST API as the extension uses it: the session cookie rides along (`credentials: 'include'`). */

/** An API error with the server's code (`unauthenticated`, `not_found`, …), or `unreachable`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface DocumentView {
  id: string;
  title: string;
  permission: 'read' | 'write';
  originUrl: string | null;
  originField: string | null;
}

export class ServerApi {
  readonly origin: string;
  constructor(serverUrl: string) {
    this.origin = new URL(serverUrl).origin;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.origin + path, {
        method,
        credentials: 'include',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError(0, 'unreachable', `cannot reach ${this.origin}: ${(error as Error).message}`);
    }
    const payload = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    if (!response.ok) {
      throw new ApiError(response.status, payload?.error?.code ?? 'http_error', payload?.error?.message ?? `HTTP ${response.status}`);
    }
    return payload as T;
  }

  me(): Promise<{ user: { id: string; email: string; displayName: string } }> {
    return this.call('GET', '/api/me');
  }

  createDocument(input: { title: string; text: string; originUrl?: string; originField: string }): Promise<DocumentView> {
    return this.call('POST', '/api/documents', input);
  }

  createLink(docId: string, access: 'view' | 'edit'): Promise<{ url: string; token: string }> {
    return this.call('POST', `/api/documents/${encodeURIComponent(docId)}/links`, { access });
  }

  openShared(docId: string, share: string): Promise<DocumentView> {
    return this.call('POST', `/api/documents/${encodeURIComponent(docId)}/open`, { share });
  }

  /** The WebSocket address for one connection: with a ticket when signed in, else anonymous (share links only). */
  async socketUrl(): Promise<string> {
    try {
      const { url } = await this.call<{ url: string }>('POST', '/api/sync-tickets');
      return url;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return `${this.origin.replace(/^http/, 'ws')}/sync`;
      throw error;
    }
  }

  signInUrl(): string {
    return `${this.origin}/login`;
  }
}
