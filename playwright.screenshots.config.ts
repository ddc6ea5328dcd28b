import { defineConfig } from '@playwright/test';
import base from './playwright.config.ts';

/** `npm run screenshots`: refreshes the README's images (docs/screenshots/*.png). */
export default defineConfig({
  ...base,
  testIgnore: [],
  testMatch: '**/screenshots.spec.ts',
  retries: 0,
});
