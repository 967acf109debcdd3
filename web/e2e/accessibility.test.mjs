// axe-core's WCAG A/AA rules over the page's main states, in both colour schemes and on a phone:
// no serious or critical violation (contrast, names of controls, roles, focus order).
import { after, before, describe, test } from 'node:test';

import { checkAccessibility, openBrowser, send, startAomi, startDevnet } from './harness.mjs';

let devnet;
let aomi;
before(async () => {
  devnet = await startDevnet();
  const friend = devnet.accounts[7];
  const script = {
    rules: [
      { when: { last_user_contains: 'time' }, reply: { tool_calls: { text: 'Let me check the clock.', calls: [{ name: 'get_current_time', arguments: {} }] } } },
      { when: { last_tool_result_contains: 'utc' }, reply: { text: 'It is **now**. See `0x000000000000000000000000000000000000dEaD`.' } },
      {
        when: { last_user_contains: 'send' },
        reply: { tool_calls: { text: 'I prepared it.', calls: [{ name: 'send_transaction_to_wallet', arguments: { to: friend, value: '1000000000000000000', description: 'Send 1 ETH to your friend' } }] } },
      },
    ],
    fallback: { text: 'Hello from the stub.' },
  };
  aomi = await startAomi(script, { AOMI_RPC_DEVNET: devnet.url, AOMI_DEFAULT_NETWORK: 'devnet' });
});
after(async () => {
  await aomi?.stop();
  devnet?.stop();
});

const wallet = () => ({ accounts: [devnet.accounts[6]], chainId: 31337, chains: [31337], rpcUrls: { 31337: devnet.url } });

for (const colorScheme of ['dark', 'light']) {
  describe(`accessibility, ${colorScheme}`, () => {
    test('the first visit, an answer with a tool card, the history and a transaction review', async () => {
      const browser = await openBrowser({ wallet: wallet(), colorScheme });
      const { page } = browser;
      try {
        await page.goto(aomi.url);
        await checkAccessibility(page, 'first visit');
        await page.getByRole('button', { name: 'Connect wallet' }).click();
        await page.locator('.wallet-button.connected').waitFor();
        await send(page, 'what time is it?');
        await page.getByText('It is', { exact: false }).last().waitFor();
        await page.getByRole('button', { name: 'Send' }).waitFor();
        await checkAccessibility(page, 'an answer with a tool card');
        await send(page, 'send my friend 1 ETH');
        await page.locator('.review').first().waitFor();
        await checkAccessibility(page, 'a transaction review');
      } finally {
        await browser.close();
      }
    });
  });
}

describe('accessibility on a phone', () => {
  test('the first visit and an answer at 390×844', async () => {
    const browser = await openBrowser({ viewport: { width: 390, height: 844 } });
    const { page } = browser;
    try {
      await page.goto(aomi.url);
      await checkAccessibility(page, 'phone, first visit');
      await send(page, 'what time is it?');
      await page.getByRole('button', { name: 'Send' }).waitFor();
      await checkAccessibility(page, 'phone, an answer');
    } finally {
      await browser.close();
    }
  });
});
