import { defineConfig } from '@playwright/test';

// Run through `npm run test:web` at the repository root, which starts the API, the fake Stripe and this app.
const baseURL = process.env.WEB_URL;
if (!baseURL) throw new Error('WEB_URL is not set: run the browser tests with `npm run test:web` from the repository root');

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results/playwright',
  workers: 1,
  timeout: 90_000,
  expect: { timeout: 20_000 },
  reporter: [['list']],
  use: {
    baseURL,
    screenshot: 'only-on-failure',
    trace: 'off',
    launchOptions: {
      // Debian's chromium; Playwright gives every launch a fresh temporary profile (its own --user-data-dir).
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
