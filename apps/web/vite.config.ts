import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const apiPort = process.env.PORT ?? '3000';

// `npm run dev` serves the page on VITE_DEV_PORT and proxies the API to the server.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  server: {
    port: Number(process.env.VITE_DEV_PORT ?? 5173),
    proxy: { '/trpc': `http://127.0.0.1:${apiPort}` },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Never inline assets as data: URIs — the CSP allows fonts from 'self' only.
    assetsInlineLimit: 0,
  },
});
