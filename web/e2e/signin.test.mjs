// Sign-in with the wallet where the server requires it (AOMI_AUTH=required): the fixture wallet
// signs the server's EIP-4361 message through anvil (personal_sign with an unlocked dev account),
// the server's HttpOnly cookie then opens the wallet's chats, across a reload; without it the
// wallet's history is refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { openBrowser, send, startAomi, startDevnet } from './harness.mjs';

let devnet;
let aomi;

before(async () => {
  devnet = await startDevnet();
  aomi = await startAomi({ rules: [], fallback: { text: 'Hello, signed-in wallet.' } }, { AOMI_AUTH: 'required', AOMI_RPC_DEVNET: devnet.url });
});

after(async () => {
  await aomi?.stop();
  devnet?.stop();
});

describe('sign-in', () => {
  test('a wallet signs in, chats, and finds its chat again after a reload; others are refused', async () => {
    const account = devnet.accounts[5];
    const browser = await openBrowser({ wallet: { accounts: [account], chainId: 31337, chains: [31337], rpcUrls: { 31337: devnet.url } } });
    const { page } = browser;
    try {
      await page.goto(aomi.url);
      await page.getByRole('button', { name: 'Connect wallet' }).click();
      const card = page.getByRole('region', { name: 'Sign in' });
      await card.waitFor();
      assert.equal(await page.getByRole('combobox', { name: 'Message aomi' }).count(), 0, 'no chat before signing in');

      await card.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('combobox', { name: 'Message aomi' }).waitFor();
      const signed = (await page.evaluate(() => window.__aomiWalletLog)).filter(r => r.method === 'personal_sign');
      assert.equal(signed.length, 1, 'the wallet signed once');
      const message = Buffer.from(signed[0].params[0].slice(2), 'hex').toString('utf8');
      assert.match(message, /^127\.0\.0\.1:\d+ wants you to sign in with your Ethereum account:\n0x/);
      assert.match(message, /\nChain ID: 31337\n/);

      await send(page, 'hello');
      await page.getByText('Hello, signed-in wallet.').waitFor();
      const id = new URL(page.url()).pathname.split('/').pop();

      // The cookie is HttpOnly: the page's scripts cannot read it.
      assert.equal(await page.evaluate(() => document.cookie), '');
      await page.reload();
      await page.getByText('Hello, signed-in wallet.').waitFor();
      const history = page.getByRole('navigation', { name: 'Chat history' });
      await history.locator(`a[href="/chat/${id}"]`).waitFor();

      // Without the cookie, naming the wallet opens nothing.
      const owner = account.toLowerCase();
      assert.equal((await fetch(`${aomi.url}/api/chats?owner=${owner}`)).status, 401);
      assert.equal((await fetch(`${aomi.url}/api/chats/${id}?owner=${owner}`)).status, 401);

      // Disconnecting the wallet ends the session: the cookie does not outlive the wallet.
      await page.locator('.wallet-button.connected').click();
      await page.getByRole('menuitem', { name: 'Disconnect' }).click();
      await page.getByRole('button', { name: 'Connect wallet' }).waitFor();
      await page.waitForFunction(async () => (await (await fetch('/api/auth/session')).json()).address === null);
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });

  test('a wallet that refuses to sign stays out, with the reason shown', async () => {
    const account = devnet.accounts[6];
    const browser = await openBrowser({
      wallet: { accounts: [account], chainId: 31337, chains: [31337], rpcUrls: { 31337: devnet.url }, rejectSignatures: true },
    });
    const { page } = browser;
    try {
      await page.goto(aomi.url);
      await page.getByRole('button', { name: 'Connect wallet' }).click();
      const card = page.getByRole('region', { name: 'Sign in' });
      await card.getByRole('button', { name: 'Sign in' }).click();
      await card.getByRole('alert').waitFor();
      assert.match(await card.getByRole('alert').textContent(), /rejected/i);
      assert.equal(await page.getByRole('combobox', { name: 'Message aomi' }).count(), 0);
    } finally {
      await browser.close();
    }
  });
});
