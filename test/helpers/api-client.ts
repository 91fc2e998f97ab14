/** A small HTTP client for API tests: remembers a cookie or a token, sends an Origin when asked. */
export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export class ApiClient {
  cookie: string | null = null;

  constructor(
    readonly baseUrl: string,
    private readonly options: { token?: string; origin?: string | null } = {},
  ) {}

  /** Same client, other credentials or origin. */
  with(options: { token?: string; origin?: string | null }): ApiClient {
    const other = new ApiClient(this.baseUrl, { ...this.options, ...options });
    other.cookie = options.token ? null : this.cookie;
    return other;
  }

  async request<T = any>(method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...extraHeaders };
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (this.cookie) headers.cookie = this.cookie;
    // Browsers send Origin on every non-GET request; default to ours.
    const origin = this.options.origin === undefined ? this.baseUrl : this.options.origin;
    if (origin && method !== 'GET') headers.origin = origin;
    const res = await fetch(this.baseUrl + path, {
      method,
      headers,
      redirect: 'manual',
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const setCookie = res.headers.get('set-cookie');
    if (setCookie) {
      const pair = setCookie.split(';')[0]!;
      this.cookie = pair.endsWith('=') ? null : pair;
    }
    const text = await res.text();
    let parsed: unknown = text;
    if (res.headers.get('content-type')?.includes('application/json') && text) parsed = JSON.parse(text);
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  get<T = any>(path: string) {
    return this.request<T>('GET', path);
  }
  post<T = any>(path: string, body?: unknown) {
    return this.request<T>('POST', path, body);
  }
  put<T = any>(path: string, body?: unknown) {
    return this.request<T>('PUT', path, body);
  }
  patch<T = any>(path: string, body?: unknown) {
    return this.request<T>('PATCH', path, body);
  }
  delete<T = any>(path: string) {
    return this.request<T>('DELETE', path);
  }

  /** Signs up (and so signs in, keeping the cookie). */
  async signUp(email: string, password = 'correct horse battery'): Promise<{ id: string; email: string }> {
    const res = await this.post('/api/auth/signup', { email, password });
    if (res.status !== 201) throw new Error(`sign-up ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body.user;
  }
}
