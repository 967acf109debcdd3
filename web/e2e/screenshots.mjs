// Takes the screenshots of docs/screenshots/ with the same Chromium and the same real server as the
// end-to-end tests. Run after `npm run build`: `npm run screenshots` (AOMI_BIN and AOMI_STUB_BIN
// as for the tests).
//
// Everything comes from the real server and a real devnet: the reviews show the server's own
// simulation of the transfer on anvil.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { DEV_ACCOUNT, openBrowser, send, startAomi, startDevnet } from './harness.mjs';

const out = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'screenshots');
mkdirSync(out, { recursive: true });

const ANSWER = `The burn address \`0x000000000000000000000000000000000000dEaD\` has received tokens from many projects. Here is the latest block I checked:

| field | value |
|---|---|
| block | 21,000,000 |
| time | see the card above |
| burn address | 0x000000000000000000000000000000000000dEaD |

Ask me to **send**, **swap** or **explain** anything on-chain.`;

const devnet = await startDevnet();
const FRIEND = devnet.accounts[1];

const script = {
  rules: [
    {
      when: { last_user_contains: '250 USDC' },
      reply: {
        tool_calls: {
          text: 'I prepared the transfer. Check it and sign it in your wallet:',
          calls: [
            {
              name: 'send_transaction_to_wallet',
              arguments: {
                to: devnet.contracts.usdc,
                signature: 'transfer(address,uint256)',
                args: [FRIEND, '250000000'],
                description: 'Send 250 USDC to 0x7099…79C8',
              },
            },
          ],
        },
      },
    },
    {
      when: { last_user_contains: '5000000 USDC' },
      reply: {
        tool_calls: {
          text: 'I prepared the transfer.',
          calls: [
            {
              name: 'send_transaction_to_wallet',
              arguments: { to: devnet.contracts.usdc, signature: 'transfer(address,uint256)', args: [FRIEND, '5000000000000'], description: 'Send 5000000 USDC to 0x7099…79C8' },
            },
          ],
        },
      },
    },
    {
      // A model steered by what it read sets the override itself: held back all the same; the
      // person's "Send anyway" lets the same call through, to a review that asks twice.
      when: { last_user_contains: 'let my friend spend' },
      reply: { tool_calls: { text: 'I prepared the approval.', calls: [approveFriend()] } },
    },
    { when: { last_user_contains: 'Send it anyway' }, reply: { tool_calls: { text: 'As you wish: here it is again.', calls: [approveFriend()] } } },
    { when: { last_tool_result_contains: 'approval-spender-not-contract' }, reply: { text: 'I did not send it: your friend\'s address is an ordinary account, not a contract, and an approval to one is how wallet drainers take tokens. If you know this account, press "Send anyway".' } },
    { when: { last_tool_result_contains: 'NOT sent' }, reply: { text: 'I did not send it: the simulation shows the transfer would fail, because your balance is smaller than 5,000,000 USDC.' } },
    { when: { last_user_contains: 'time' }, reply: { tool_calls: { text: 'Let me read the clock first.', calls: [{ name: 'get_current_time', arguments: {} }] } } },
    { when: { last_tool_result_contains: 'utc' }, reply: { text: ANSWER } },
    { when: { last_user_contains: 'fail' }, reply: { http_error: { status: 529, message: 'the model provider is overloaded' } } },
  ],
  fallback: { text: 'Hello!' },
};

function approveFriend() {
  return {
    name: 'send_transaction_to_wallet',
    arguments: {
      to: devnet.contracts.usdc,
      signature: 'approve(address,uint256)',
      args: [FRIEND, '100000000'],
      description: 'Let 0x7099…79C8 spend 100 USDC',
      override_failed_simulation: true,
    },
  };
}

const ME = DEV_ACCOUNT;

/** A wallet per screenshot, so each one's history holds only its own chats. */
const wallet = (account = ME) => ({
  accounts: [account],
  chainId: 31337,
  chains: [1, 8453, 31337],
  rpcUrls: { 31337: devnet.url },
});
const other = n => `0x${n.toString(16).padStart(2, '0').repeat(20)}`;

async function shoot(page, name) {
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(out, `${name}.png`) });
  console.log(`docs/screenshots/${name}.png`);
}

const aomi = await startAomi(script, { AOMI_RPC_DEVNET: devnet.url, AOMI_DEFAULT_NETWORK: 'devnet' });
try {
  for (const theme of ['dark', 'light']) {
    const browser = await openBrowser({ colorScheme: theme, wallet: wallet(theme === 'dark' ? ME : other(0xb1)) });
    const { page } = browser;
    await page.goto(aomi.url);
    await page.getByRole('button', { name: 'Connect wallet' }).click();
    await page.locator('.wallet-button.connected').waitFor();
    if (theme === 'dark') {
      await shoot(page, 'empty-dark');
      // Two earlier chats, so the history has something to show.
      for (const question of ['Which pools hold the most USDC on Base?', 'Is 0x66a9…A8Af the Uniswap router?']) {
        await send(page, question);
        await page.getByText('Hello!').waitFor();
        await page.getByRole('button', { name: 'New chat' }).click();
      }
    }
    await send(page, 'what time is it on-chain?');
    await page.getByText('Ask me to').waitFor();
    await page.getByRole('button', { name: 'Send' }).waitFor();
    await shoot(page, `chat-${theme}`);
    await browser.close();
  }

  {
    const browser = await openBrowser({ wallet: wallet(other(0xc2)) });
    const { page } = browser;
    await page.goto(aomi.url);
    await page.getByRole('button', { name: 'Connect wallet' }).click();
    await page.locator('.wallet-button.connected').waitFor();
    await send(page, 'please fail');
    await page.locator('.error-notice').waitFor();
    await shoot(page, 'error-dark');
    await browser.close();
  }

  // Dev accounts 2 and 3 hold the devnet's tokens: the simulation shows the exact USDC moving.
  for (const [theme, account] of [['dark', devnet.accounts[2]], ['light', devnet.accounts[3]]]) {
    const browser = await openBrowser({ colorScheme: theme, wallet: wallet(account), viewport: { width: 1280, height: 1100 } });
    const { page } = browser;
    await page.goto(aomi.url);
    await page.getByRole('button', { name: 'Connect wallet' }).click();
    await page.locator('.wallet-button.connected').waitFor();
    await send(page, 'send 250 USDC to my friend');
    const review = page.getByRole('region', { name: 'Review transaction' });
    await review.locator('.review-simulation .changes').first().waitFor();
    await page.getByText('Raw transaction').click();
    await shoot(page, `review-${theme}`);
    await browser.close();
  }

  {
    const browser = await openBrowser({ wallet: wallet(devnet.accounts[4]), viewport: { width: 1280, height: 960 } });
    const { page } = browser;
    await page.goto(aomi.url);
    await page.getByRole('button', { name: 'Connect wallet' }).click();
    await page.locator('.wallet-button.connected').waitFor();
    await send(page, 'send 5000000 USDC to my friend');
    await page.getByRole('region', { name: 'Transaction not sent' }).waitFor();
    await page.getByText('I did not send it').waitFor();
    await shoot(page, 'held-back-dark');
    await browser.close();
  }

  {
    const browser = await openBrowser({ wallet: wallet(devnet.accounts[5]), viewport: { width: 1280, height: 1000 } });
    const { page } = browser;
    await page.goto(aomi.url);
    await page.getByRole('button', { name: 'Connect wallet' }).click();
    await page.locator('.wallet-button.connected').waitFor();
    await send(page, 'let my friend spend 100 USDC');
    const held = page.getByRole('region', { name: 'Transaction not sent' });
    await held.getByRole('button', { name: 'Send anyway' }).waitFor();
    await shoot(page, 'send-anyway-dark');
    await held.getByRole('button', { name: 'Send anyway' }).click();
    const review = page.getByRole('region', { name: 'Review transaction' });
    await review.getByRole('button', { name: 'Send despite the warning' }).click();
    await review.getByRole('button', { name: 'Confirm: send despite the warning' }).waitFor();
    await review.scrollIntoViewIfNeeded();
    await shoot(page, 'danger-review-dark');
    await browser.close();
  }

  {
    const browser = await openBrowser({ wallet: wallet(other(0xd3)), viewport: { width: 390, height: 844 } });
    const { page } = browser;
    await page.goto(aomi.url);
    await page.getByRole('button', { name: 'Connect wallet' }).click();
    await page.locator('.wallet-button.connected').waitFor();
    await send(page, 'what time is it on-chain?');
    await page.getByText('Ask me to').waitFor();
    await page.getByRole('button', { name: 'Send' }).waitFor();
    await shoot(page, 'phone-chat');
    await page.getByRole('button', { name: 'Open the chat list' }).click();
    await shoot(page, 'phone-history');
    await browser.close();
  }

  // The review on a phone: the simulation and the buttons stay within reach (dev account 0 holds
  // the devnet's USDC).
  {
    const browser = await openBrowser({ wallet: wallet(devnet.accounts[0]), viewport: { width: 390, height: 844 } });
    const { page } = browser;
    await page.goto(aomi.url);
    await page.getByRole('button', { name: 'Connect wallet' }).click();
    await page.locator('.wallet-button.connected').waitFor();
    await send(page, 'send 250 USDC to my friend');
    const review = page.getByRole('region', { name: 'Review transaction' });
    await review.locator('.review-simulation .changes').first().waitFor();
    await review.scrollIntoViewIfNeeded();
    await review.getByRole('button', { name: 'Approve in wallet' }).scrollIntoViewIfNeeded();
    await shoot(page, 'phone-review');
    await browser.close();
  }

  // A server that requires sign-in: the card a connected wallet sees first.
  const guarded = await startAomi(script, { AOMI_RPC_DEVNET: devnet.url, AOMI_DEFAULT_NETWORK: 'devnet', AOMI_AUTH: 'required' });
  try {
    const browser = await openBrowser({ wallet: wallet(devnet.accounts[6]) });
    const { page } = browser;
    await page.goto(guarded.url);
    await page.getByRole('button', { name: 'Connect wallet' }).click();
    await page.getByRole('region', { name: 'Sign in' }).waitFor();
    await shoot(page, 'sign-in-dark');
    await browser.close();
  } finally {
    await guarded.stop();
  }
} finally {
  await aomi.stop();
  devnet.stop();
}
