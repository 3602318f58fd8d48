// Build step after tsc: copies the dashboard's page files (src/ui/web: HTML, browser JS modules,
// CSS, SVG) to dist/ui/web, where the compiled server looks for them first.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const from = join(root, 'src', 'ui', 'web');
const to = join(root, 'dist', 'ui', 'web');
if (!existsSync(from)) throw new Error(`copy-assets: ${from} is missing`);
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
