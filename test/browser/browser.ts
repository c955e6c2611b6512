import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium, started as a closed network needs it: nothing fetched from anywhere but the service. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}

/** Signs in through the login form, as an operator would. */
export async function signIn(page: Page, baseUrl: string, key: string) {
  await page.goto(`${baseUrl}/console`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${baseUrl}/console`);
  await page.getByText(/^Live ·/).waitFor();
}
