import { renameSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The office dashboard (docs/dashboard.md): built from the same sources, design system and
// catalogs as the field app into `dist-dashboard/`, which zhucun-server serves at `/`.
// The field app's build (vite.config.ts, `dist/`) is separate and unchanged.
// `npx vite build --config vite.dashboard.config.ts`; `npx vite --config vite.dashboard.config.ts`
// serves it in development with /api/ sent to a local server (ZHUCUN_SERVER, default
// http://127.0.0.1:8090).

const root = fileURLToPath(new URL('.', import.meta.url));
const outDir = resolve(root, 'dist-dashboard');

/** The entry is `dashboard.html` (beside the app's `index.html`); the server serves `index.html`. */
function servedAsIndex(): Plugin {
  return {
    name: 'zhucun-dashboard-index',
    // Development: `/` is the dashboard.
    configureServer(server) {
      server.middlewares.use((req, _res, next) => {
        if (req.url === '/' || req.url?.startsWith('/?')) req.url = '/dashboard.html' + req.url.slice(1);
        next();
      });
    },
    // Build: rename the written page.
    closeBundle() {
      try {
        renameSync(resolve(outDir, 'dashboard.html'), resolve(outDir, 'index.html'));
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOENT') throw e;
      }
    },
  };
}

export default defineConfig({
  root,
  base: '/',
  plugins: [svelte(), servedAsIndex()],
  clearScreen: false,
  server: {
    port: 5174,
    strictPort: true,
    proxy: { '/api': process.env.ZHUCUN_SERVER ?? 'http://127.0.0.1:8090' },
  },
  build: {
    target: 'es2020',
    outDir,
    emptyOutDir: true,
    chunkSizeWarningLimit: 600,
    rollupOptions: { input: resolve(root, 'dashboard.html') },
  },
});
