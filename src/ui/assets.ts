// The page's static files: read once at startup into memory from a fixed list (the files of web/
// and uPlot's two files), then served by exact name. No request ever turns into a file path.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * The directory of the page's files: web/ next to this module (src/ui/web when run from the
 * sources, dist/ui/web once the build has copied it), else the sources' copy seen from dist/ui.
 */
export function webDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'web'), join(here, '..', '..', 'src', 'ui', 'web')];
  const found = candidates.find((d) => existsSync(join(d, 'index.html')));
  if (!found)
    throw new Error(
      `keel ui: the dashboard's page files are missing (looked in ${candidates.join(', ')}); rebuild with npm run build`,
    );
  return found;
}

function asset(body: Buffer, name: string): Asset {
  const type = TYPES[extname(name)] ?? 'application/octet-stream';
  return { body, type, etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 20)}"` };
}

/** name -> file contents: web/*.{html,js,css,svg,png} plus uPlot.esm.js and uPlot.min.css. */
export function loadAssets(dir = webDir()): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const name of readdirSync(dir))
    if (TYPES[extname(name)]) out.set(name, asset(readFileSync(join(dir, name)), name));
  const require = createRequire(import.meta.url);
  for (const name of ['uPlot.esm.js', 'uPlot.min.css'])
    out.set(name, asset(readFileSync(require.resolve(`uplot/dist/${name}`)), name));
  return out;
}

/** GET / (the page) and GET /static/:name. */
export function registerAssets(app: FastifyInstance, assets: Map<string, Asset>): void {
  const send = (name: string, ifNoneMatch: string | undefined, reply: import('fastify').FastifyReply) => {
    const a = assets.get(name);
    if (!a) return reply.code(404).send({ error: `no file '${name}'` });
    reply.header('cache-control', 'no-cache').header('etag', a.etag);
    if (ifNoneMatch === a.etag) return reply.code(304).send();
    return reply.type(a.type).send(a.body);
  };
  app.get('/', (req, reply) => send('index.html', req.headers['if-none-match'], reply));
  app.get<{ Params: { name: string } }>(
    '/static/:name',
    {
      schema: {
        params: {
          type: 'object',
          properties: { name: { type: 'string', pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9]+)+$' } },
        },
      },
    },
    (req, reply) => send(req.params.name, req.headers['if-none-match'], reply),
  );
}
