// Spend guards end to end: a real `aomi serve` on an anvil devnet, prices from a local server that
// speaks DefiLlama's price API, and the fixture wallet in Chromium. The person signs in from the
// guards panel, sets a per-transaction limit, and a transfer above it is blocked with its reason:
// the wallet is never asked.
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { openBrowser, send, startAomi, startDevnet } from './harness.mjs';

const ETH = 10n ** 18n;

let devnet;
let aomi;
let prices;

/** DefiLlama's `GET /prices/current/{coins}`, answering ETH at 2000 USD (other coins: no price). */
async function startPrices() {
  const server = createServer((request, response) => {
    const coins = decodeURIComponent(request.url.replace('/prices/current/', '')).split(',');
    const known = { 'coingecko:ethereum': { price: 2000, symbol: 'ETH', timestamp: Math.floor(Date.now() / 1000), confidence: 0.99 } };
    const answer = Object.fromEntries(coins.filter(coin => known[coin]).map(coin => [coin, known[coin]]));
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ coins: answer }));
  });
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, stop: () => server.close() };
}

before(async () => {
  devnet = await startDevnet(31337);
  prices = await startPrices();
  const script = {
    rules: [
      { when: { last_tool_result_contains: 'spend guards block it' }, reply: { text: 'Your spend guards blocked that transfer.' } },
      {
        when: { last_user_contains: 'send 1.5 ETH' },
        reply: {
          tool_calls: {
            calls: [{ name: 'send_transaction_to_wallet', arguments: { to: devnet.accounts[7], value: (15n * ETH / 10n).toString(), description: 'Send 1.5 ETH to your friend' } }],
          },
        },
      },
    ],
    fallback: { text: 'Hello from the stub.' },
  };
  aomi = await startAomi(script, { AOMI_RPC_DEVNET: devnet.url, AOMI_DEFAULT_NETWORK: 'devnet', AOMI_DEFILLAMA_URL: prices.url });
});

after(async () => {
  await aomi?.stop();
  devnet?.stop();
  prices?.stop();
});

describe('spend guards', () => {
  test('a limit set in the page blocks a transfer above it, with its reason, before the wallet', async () => {
    const account = devnet.accounts[4];
    const browser = await openBrowser({ wallet: { accounts: [account], chainId: 31337, chains: [31337], rpcUrls: { 31337: devnet.url } } });
    const { page } = browser;
    try {
      await page.goto(aomi.url);
      await page.getByRole('button', { name: 'Connect wallet' }).click();
      await page.locator('.wallet-button.connected').waitFor();

      await page.getByRole('button', { name: 'Spend guards' }).click();
      const panel = page.getByRole('dialog', { name: 'Spend guards' });
      await panel.getByRole('button', { name: 'Sign in' }).click();
      await panel.getByLabel('Per-transaction limit (USD)').fill('1000');
      await panel.getByRole('button', { name: 'Save guards' }).click();
      await panel.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      await panel.getByRole('button', { name: 'Close the spend guards' }).click();

      await send(page, 'send 1.5 ETH to my friend');
      const blocked = page.getByRole('alert', { name: 'Blocked by your spend guards' });
      await blocked.waitFor();
      const reason = await blocked.textContent();
      assert.match(reason, /transaction-limit/);
      assert.match(reason, /\$3000\.00/, reason);
      assert.match(reason, /\$1000\.00/, reason);
      await page.getByText('Your spend guards blocked that transfer.').waitFor();
      // The exact amount stays, the USD value beside it.
      const change = await page.locator('.held-back .changes li').first().textContent();
      assert.match(change, /-1\.5 ETH/);
      assert.match(change, /≈ \$3,000\.00/);
      const log = await page.evaluate(() => window.__aomiWalletLog);
      assert.equal(log.filter(r => r.method === 'eth_sendTransaction').length, 0, 'the wallet was never asked');
    } finally {
      await browser.close();
    }
  });
});
