// Builds the dashboard (`npm run build:ui`, run from the repository root as `vite build ui`)
// into dist/ui/, which the package ships and src/http/dashboard.ts serves: index.html at `/`,
// everything else under /ui/ with content-hashed names (cached for good). No CDN, no inline
// script or style: the page runs under a strict Content-Security-Policy.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/ui/',
  publicDir: false,
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: '../dist/ui',
    emptyOutDir: true,
    target: 'es2022',
    // Every file under its hashed name, never inlined as a data: URI.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
