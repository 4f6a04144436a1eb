/** A tiny browser for sign-in tests: follows redirects by hand and keeps cookies per host, over real HTTP. */

export interface Hop {
  readonly url: string;
  readonly status: number;
  readonly location: string | undefined;
  readonly body: string;
  readonly setCookies: string[];
}

export class TestBrowser {
  readonly #jar = new Map<string, Map<string, string>>();

  cookie(url: string, name: string): string | undefined {
    return this.#jar.get(new URL(url).host)?.get(name);
  }

  async request(
    url: string,
    init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<Hop> {
    const host = new URL(url).host;
    const headers: Record<string, string> = { ...init.headers };
    const jar = this.#jar.get(host);
    if (jar?.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      redirect: 'manual',
      ...(init.form ? { body: new URLSearchParams(init.form) } : {}),
    });
    const setCookies = res.headers.getSetCookie();
    for (const c of setCookies) this.#store(host, c);
    const location = res.headers.get('location') ?? undefined;
    return {
      url,
      status: res.status,
      location: location && new URL(location, url).href,
      body: await res.text(),
      setCookies,
    };
  }

  /** Follows redirects from `url` until a non-redirect answer or a URL `stop` accepts. */
  async follow(url: string, stop: (url: string) => boolean = () => false): Promise<Hop> {
    let hop = await this.request(url);
    for (let i = 0; i < 10 && hop.location && !stop(hop.location); i++)
      hop = await this.request(hop.location);
    return hop;
  }

  #store(host: string, setCookie: string): void {
    const [pair, ...attrs] = setCookie.split(';');
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq).trim();
    const value = pair!.slice(eq + 1).trim();
    const jar = this.#jar.get(host) ?? new Map<string, string>();
    this.#jar.set(host, jar);
    const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a) || /^\s*max-age=0\b/i.test(a));
    if (expired || value === '') jar.delete(name);
    else jar.set(name, value);
  }
}
