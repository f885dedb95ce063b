import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * The control room, wall screen, crew app and admin pages: one Vue 3 app
 * (decision 0150). Built into web/dist, which Fastify serves at `/`.
 * Wire types come from src/domain through the `@domain` alias, never copied.
 */
export default defineConfig({
  root: here('.'),
  base: '/',
  plugins: [vue()],
  resolve: { alias: { '@domain': here('../src/domain') } },
  build: {
    outDir: here('dist'),
    emptyOutDir: true,
    // ECharts and Leaflet are large by nature; the chunk warning is noise here.
    chunkSizeWarningLimit: 1500,
    // No inline scripts or data: URLs for scripts under the hub's CSP (script-src 'self').
    assetsInlineLimit: 0,
    // The citizens' public page (issue #16) is an entry of its own: no login,
    // none of the control room's code, served as /report.html.
    rollupOptions: { input: { main: here('index.html'), report: here('report.html') } },
  },
  define: {
    __VUE_OPTIONS_API__: 'false',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    __INTLIFY_JIT_COMPILATION__: 'true',
    __INTLIFY_DROP_MESSAGE_COMPILER__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/socket.io': { target: 'ws://127.0.0.1:8080', ws: true },
    },
  },
});
