// What the assistant knows, in real Chromium against a real `aomi serve`, the stub model, a devnet
// and a local stand-in for a SearXNG instance: the web search card, the account history table
// with explorer links, and a label the user set shown beside its address.
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { DEV_ACCOUNT, checkAccessibility, openBrowser, send, startAomi, startDevnet } from './harness.mjs';

/** Replies of the stub model: a tool result's rule first (the user's words stay the last ones). */
const script = {
  rules: [
    { when: { last_tool_result_contains: 'governance.aave.com' }, reply: { text: 'Per governance.aave.com, v4 passed its vote.' } },
    { when: { last_tool_result_contains: 'Remembered' }, reply: { text: 'Noted.' } },
    { when: { last_tool_result_contains: 'newest first' }, reply: { text: 'Here is your history.' } },
    { when: { last_user_contains: 'news' }, reply: { tool_calls: { calls: [{ name: 'web_search', arguments: { query: 'aave news' } }] } } },
    {
      when: { last_user_contains: 'hot wallet' },
      reply: { tool_calls: { calls: [{ name: 'remember', arguments: { subject: DEV_ACCOUNT, value: 'my hot wallet' } }] } },
    },
    {
      when: { last_user_contains: 'history' },
      reply: { tool_calls: { calls: [{ name: 'get_transaction_history', arguments: { limit: 3 } }] } },
    },
  ],
  fallback: { text: 'Hello from the stub.' },
};

/** SearXNG's JSON answer, with the HTML its snippets carry. */
function searxng(request, response) {
  const url = new URL(request.url, 'http://localhost');
  if (url.pathname !== '/search' || url.searchParams.get('format') !== 'json') {
    response.writeHead(403).end('403 Forbidden');
    return;
  }
  response.writeHead(200, { 'content-type': 'application/json' }).end(
    JSON.stringify({
      query: url.searchParams.get('q'),
      number_of_results: 0,
      results: [
        {
          url: 'https://governance.aave.com/t/v4',
          title: 'Aave v4 approved',
          content: 'The <b>Aave</b> DAO approved v4.',
          publishedDate: '2026-12-03',
          engine: 'duckduckgo',
        },
      ],
      answers: [],
      suggestions: [],
      unresponsive_engines: [],
    }),
  );
}

let devnet;
let search;
let aomi;
before(async () => {
  devnet = await startDevnet();
  search = createServer(searxng);
  await new Promise(resolve => search.listen(0, '127.0.0.1', resolve));
  aomi = await startAomi(script, {
    AOMI_RPC_DEVNET: devnet.url,
    AOMI_DEFAULT_NETWORK: 'devnet',
    AOMI_SEARXNG_URL: `http://127.0.0.1:${search.address().port}`,
    BRAVE_API_KEY: '',
  });
});
after(async () => {
  await aomi?.stop();
  search?.close();
  devnet?.stop();
});

const wallet = { accounts: [DEV_ACCOUNT], chainId: 31337, chains: [31337] };

describe('knowledge', () => {
  test('a search turn renders its results card, with the untrusted-text note', async () => {
    const browser = await openBrowser();
    const { page } = browser;
    try {
      await page.goto(aomi.url);
      await send(page, 'any news about aave?');
      const card = page.locator('section.tool-card[data-tool="web_search"]');
      await card.locator('.tool-status.ok').waitFor();
      assert.equal(await card.locator('.tool-title').textContent(), 'Web search');
      const link = card.locator('.search-results li a');
      assert.equal(await link.getAttribute('href'), 'https://governance.aave.com/t/v4');
      assert.equal(await link.textContent(), 'Aave v4 approved');
      assert.equal(await card.locator('.search-results p').textContent(), 'The Aave DAO approved v4.');
      assert.match(await card.textContent(), /never as instructions/);
      await page.locator('article.message.assistant').last().getByText('v4 passed its vote').waitFor();
      await checkAccessibility(page, 'a search results card');
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });

  test('the history renders as a table with explorer links, and a label set earlier shows beside the address', async () => {
    const browser = await openBrowser({ wallet });
    const { page } = browser;
    try {
      await page.goto(aomi.url);
      await page.getByRole('button', { name: 'Connect wallet' }).click();
      await page.locator('.wallet-button.connected').waitFor();
      await send(page, 'call my address my hot wallet');
      await page.locator('article.message.assistant').last().getByText('Noted.').waitFor();
      await page.getByRole('button', { name: 'Send' }).waitFor();

      await send(page, 'show my history');
      const card = page.locator('section.tool-card[data-tool="get_transaction_history"]');
      await card.locator('.tool-status.ok').waitFor();
      assert.equal(await card.locator('.tool-title').textContent(), 'Transaction history');
      const rows = card.locator('.history-table tbody tr');
      assert.equal(await rows.count(), 3, 'the limit asked for');
      // Each row links its transaction; the devnet's deployer minted tokens: a decoded call.
      const hash = await rows.first().locator('.chain-ref').last().getAttribute('data-value');
      assert.match(hash, /^0x[0-9a-f]{64}$/);
      assert.match(await rows.first().textContent(), /mint|transfer/);
      // The label the user set is beside the account's address.
      const account = card.locator(`.chain-ref[data-value="${DEV_ACCOUNT}"]`).first();
      assert.equal(await account.locator('.address-label').textContent(), '(my hot wallet)');
      await page.getByRole('button', { name: 'Send' }).waitFor();
      await checkAccessibility(page, 'a history table with a label');
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });
});
