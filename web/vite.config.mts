import { defineConfig } from 'vite';

// The page is served by our own HTTP side port from dist/web (see src/dashboard/static-files.ts): no CDN, no fonts,
// nothing fetched at run time. Preact's automatic JSX runtime, without a Babel-based plugin.
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  logLevel: 'warn',
  build: { outDir: '../dist/web', emptyOutDir: true, target: 'es2022', sourcemap: true, chunkSizeWarningLimit: 200 },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: { alias: { react: 'preact/compat', 'react-dom': 'preact/compat' } },
});
