// Builds the dashboard into web/dist, which the api worker serves at / (same origin as /api/v1).
// `vite` in web/ serves it for development and forwards /api to a running api worker.
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Every supported browser has module preload; the polyfill would be dead weight.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  server: {
    proxy: { '/api': { target: process.env.DECNET_API_URL ?? 'http://127.0.0.1:8000', changeOrigin: false } },
  },
});
