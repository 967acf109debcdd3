// Takes the screenshots of docs/screenshots/ with the same Chromium and the same real server as the
// end-to-end tests. Run after `npm run build`: `npm run screenshots` (AOMI_BIN and AOMI_STUB_BIN
// as for the tests).
//
// The review with a simulation is shown from a recorded stream (the parts the server will send once
// it simulates); everything else comes from the real server and a real devnet.
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
    { when: { last_user_contains: 'time' }, reply: { tool_calls: { text: 'Let me read the clock first.', calls: [{ name: 'get_current_time', arguments: {} }] } } },
    { when: { last_tool_result_contains: 'utc' }, reply: { text: ANSWER } },
    { when: { last_user_contains: 'fail' }, reply: { http_error: { status: 529, message: 'the model provider is overloaded' } } },
  ],
  fallback: { text: 'Hello!' },
};

const ME = DEV_ACCOUNT;
const ROUTER = '0x66a9893cC07D91D95644AEDD05D03f95e1dBA8Af';
const USDC = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48';

/** The stream the server sends when the model asks the wallet to send a swap. */
function reviewStream(account) {
  const input = { to: ROUTER, value: '100000000000000000', signature: 'execute(bytes,bytes[],uint256)', description: 'Swap 0.1 ETH for at least 342.22 USDC on Uniswap (1% slippage)' };
  const request = {
    chainId: 1,
    network: 'ethereum',
    from: account,
    to: ROUTER,
    value: '100000000000000000',
    data: '0x3593564c000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000a0',
    gas: null,
    description: input.description,
    decodedCall: {
      function: 'execute(bytes,bytes[],uint256)',
      args: { commands: '0x0b00 (WRAP_ETH, V3_SWAP_EXACT_IN)', inputs: '2 items', deadline: '1767225600' },
    },
  };
  const simulation = {
    toolCallId: 'call_swap',
    success: true,
    gasUsed: '148213',
    gasPrice: '12400000000',
    assetChanges: [
      { address: account, token: null, symbol: 'ETH', decimals: 18, delta: '-100000000000000000' },
      { address: account, token: USDC, symbol: 'USDC', decimals: 6, delta: '345678901' },
    ],
    approvals: [],
    warnings: [
      { id: 'verified', level: 'info', message: 'Uniswap Universal Router: verified source, 4.1M transactions.' },
      { id: 'slippage', level: 'warning', message: 'The price may move by up to 1% before the swap is mined.' },
    ],
  };
  const parts = [
    { type: 'start', messageId: 'msg_review' },
    { type: 'start-step' },
    { type: 'text-start', id: 't1' },
    { type: 'text-delta', id: 't1', delta: 'The best route is a direct ETH → USDC pool on Uniswap v3. I prepared the swap; check it and sign in your wallet:' },
    { type: 'text-end', id: 't1' },
    { type: 'tool-input-start', toolCallId: 'call_swap', toolName: 'send_transaction_to_wallet' },
    { type: 'tool-input-available', toolCallId: 'call_swap', toolName: 'send_transaction_to_wallet', input },
    { type: 'data-wallet-request', id: 'call_swap', data: { toolCallId: 'call_swap', toolName: 'send_transaction_to_wallet', request, summary: 'Waiting for your wallet' } },
    { type: 'data-simulation', id: 'call_swap', data: simulation },
    { type: 'finish-step' },
    { type: 'finish', finishReason: 'tool-calls' },
  ];
  return parts.map(part => `data: ${JSON.stringify(part)}\n\n`).join('') + 'data: [DONE]\n\n';
}

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

  for (const theme of ['dark', 'light']) {
    const browser = await openBrowser({ colorScheme: theme, wallet: wallet(other(theme === 'dark' ? 0xa9 : 0xe4)), viewport: { width: 1280, height: 960 } });
    const { page } = browser;
    await page.goto(aomi.url);
    await page.getByRole('button', { name: 'Connect wallet' }).click();
    await page.locator('.wallet-button.connected').waitFor();
    await send(page, 'send 250 USDC to my friend');
    await page.getByRole('region', { name: 'Review transaction' }).waitFor();
    await shoot(page, `review-${theme}`);
    await browser.close();
  }

  for (const theme of ['dark', 'light']) {
    const account = other(0xf5);
    const browser = await openBrowser({ colorScheme: theme, wallet: wallet(account), viewport: { width: 1280, height: 1100 } });
    const { page } = browser;
    await page.route('**/api/chat', route =>
      route.fulfill({
        status: 200,
        headers: { 'content-type': 'text/event-stream', 'x-vercel-ai-ui-message-stream': 'v1' },
        body: reviewStream(account),
      }),
    );
    await page.goto(aomi.url);
    await page.getByRole('button', { name: 'Connect wallet' }).click();
    await page.locator('.wallet-button.connected').waitFor();
    await send(page, 'swap 0.1 ETH to USDC');
    await page.getByRole('region', { name: 'Review transaction' }).waitFor();
    await page.getByText('Raw transaction').click();
    await shoot(page, `review-simulation-${theme}`);
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
} finally {
  await aomi.stop();
  devnet.stop();
}
