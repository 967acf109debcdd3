/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run dev` proxies the API to a running `aomi serve` (AOMI_URL, default the local one).
const api = process.env.AOMI_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  server: { proxy: { '/api': api } },
  build: {
    // The wallet libraries are large; split them from the page's own code.
    rollupOptions: {
      // Some wallet dependencies carry /*#__PURE__*/ comments Rollup cannot place; they are harmless.
      onwarn(warning, warn) {
        if (warning.code !== 'INVALID_ANNOTATION') warn(warning);
      },
      output: {
        manualChunks: {
          wallet: ['wagmi', 'viem', '@tanstack/react-query'],
          markdown: ['react-markdown', 'remark-gfm'],
        },
      },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test-setup.ts'],
  },
});
