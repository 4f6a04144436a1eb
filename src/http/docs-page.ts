/**
 * The API docs page beside `/openapi.json`: static HTML rendered on the server from the spec, so it
 * needs no script, no CDN and fits the strict Content-Security-Policy.
 * @module
 */

const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * @example
 * reply.type('text/html').send(docsPage(app.swagger()));
 */
export function docsPage(spec: Record<string, any>): string {
  const sections: string[] = [];
  for (const [path, ops] of Object.entries<Record<string, any>>(spec.paths ?? {})) {
    for (const [method, op] of Object.entries<Record<string, any>>(ops)) {
      const params = (op.parameters ?? [])
        .map(
          (p: any) =>
            `<li><code>${esc(p.name)}</code> (${esc(p.in)}${p.required ? ', required' : ''}) ${esc(p.description ?? '')}</li>`,
        )
        .join('');
      const body = op.requestBody?.content?.['application/json']?.schema;
      const responses = Object.entries<Record<string, any>>(op.responses ?? {})
        .map(([code, r]) => `<li><code>${esc(code)}</code> ${esc(r.description ?? '')}</li>`)
        .join('');
      sections.push(`<section id="${esc(`${method}-${path}`)}">
<h2><span class="m">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h2>
<p>${esc(op.summary ?? '')}</p>
${params ? `<h3>Parameters</h3><ul>${params}</ul>` : ''}
${body ? `<h3>Body</h3><pre>${esc(JSON.stringify(body, null, 2))}</pre>` : ''}
${responses ? `<h3>Responses</h3><ul>${responses}</ul>` : ''}
</section>`);
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(spec.info?.title ?? 'API')}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
pre{background:#f4f4f4;padding:.5rem;overflow:auto}.m{background:#234;color:#fff;padding:0 .4rem;border-radius:3px;font-size:.8em}
section{border-top:1px solid #ddd}</style></head>
<body><h1>${esc(spec.info?.title ?? 'API')} ${esc(spec.info?.version ?? '')}</h1>
<p>${esc(spec.info?.description ?? '')}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${esc(spec.openapi)}).
Errors are <code>application/problem+json</code> with a stable <code>code</code> and the <code>requestId</code>.</p>
${sections.join('\n')}
</body></html>`;
}
