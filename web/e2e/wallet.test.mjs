// The wallet end to end: real anvil devnets (`aomi devnet`), a real `aomi serve` reading them, and
// the fixture wallet in Chromium signing through anvil's unlocked dev accounts. A transfer is
// reviewed, approved and mined, and the turn continues; a rejection reaches the model; switching
// the network in the page makes the next answer read the other chain. A transaction held back by
// its simulation reaches the wallet only after the person's own "Send anyway", and a danger warning
// takes a second click.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { openBrowser, recordChatRequests, rpc, send, startAomi, startDevnet } from './harness.mjs';

const ETH = 10n ** 18n;

let devnet;
let base;
let aomi;
let marked;

before(async () => {
  // A second devnet stands in for Base (chain id 8453): the page's menu offers it, the server reads it.
  [devnet, base] = await Promise.all([startDevnet(31337), startDevnet(8453)]);
  marked = '0x4242424242424242424242424242424242424242';
  await rpc(base.url, 'eth_sendTransaction', [{ from: base.accounts[9], to: marked, value: `0x${(15n * ETH / 10n).toString(16)}` }]);
  const script = {
    rules: [
      { when: { last_tool_result_contains: 'NOT sent' }, reply: { text: 'I did not send it: the simulation says it would fail.' } },
      { when: { last_tool_result_contains: 'transactionHash' }, reply: { text: 'Your 1.5 ETH are on their way.' } },
      { when: { last_tool_result_contains: 'rejected' }, reply: { text: 'Understood: nothing was sent.' } },
      { when: { last_tool_result_contains: '"wei"' }, reply: { text: 'That is the balance.' } },
      {
        when: { last_user_contains: 'send 50000 ETH' },
        reply: {
          tool_calls: {
            calls: [{ name: 'send_transaction_to_wallet', arguments: { to: devnet.accounts[7], value: (50000n * ETH).toString(), description: 'Send 50000 ETH' } }],
          },
        },
      },
      {
        when: { last_user_contains: 'send 1.5 ETH' },
        reply: {
          tool_calls: {
            text: 'I prepared the transfer.',
            calls: [{ name: 'send_transaction_to_wallet', arguments: { to: devnet.accounts[7], value: (15n * ETH / 10n).toString(), description: 'Send 1.5 ETH to your friend' } }],
          },
        },
      },
      // A model steered by what it read insists on its own, from its first call: the server holds it.
      { when: { last_user_contains: 'let my friend spend' }, reply: { tool_calls: { calls: [approveFriend()] } } },
      // The person's "Send anyway" (the page's button) asks again: now the server lets it through.
      { when: { last_user_contains: 'Send it anyway' }, reply: { tool_calls: { calls: [approveFriend()] } } },
      { when: { last_user_contains: 'balance' }, reply: { tool_calls: { calls: [{ name: 'get_balance', arguments: { address: marked } }] } } },
      { when: { last_tool_result_contains: 'readFunctions' }, reply: { text: 'That is the devnet USDC.' } },
      { when: { last_user_contains: 'what contract' }, reply: { tool_calls: { calls: [{ name: 'get_contract', arguments: { address: devnet.contracts.usdc } }] } } },
    ],
    fallback: { text: 'Hello from the stub.' },
  };
  aomi = await startAomi(script, { AOMI_RPC_DEVNET: devnet.url, AOMI_RPC_BASE: base.url, AOMI_DEFAULT_NETWORK: 'devnet' });
});

after(async () => {
  await aomi?.stop();
  devnet?.stop();
  base?.stop();
});

const lastAnswer = page => page.locator('article.message.assistant').last();

/** A browser whose wallet is anvil's dev account `index`, on the devnet, able to switch to "Base". */
async function walletBrowser(index, server = aomi) {
  const account = devnet.accounts[index];
  const browser = await openBrowser({
    wallet: { accounts: [account], chainId: 31337, chains: [31337, 8453], rpcUrls: { 31337: devnet.url, 8453: base.url } },
  });
  await browser.page.goto(server.url);
  await browser.page.getByRole('button', { name: 'Connect wallet' }).click();
  await browser.page.locator('.wallet-button.connected').waitFor();
  return { ...browser, account };
}

/** Lets dev account 7 (an address without code: a danger warning) spend 100 USDC, override set. */
function approveFriend() {
  return {
    name: 'send_transaction_to_wallet',
    arguments: {
      to: devnet.contracts.usdc,
      signature: 'approve(address,uint256)',
      args: [devnet.accounts[7], '100000000'],
      description: 'Let your friend spend 100 USDC',
      override_failed_simulation: true,
    },
  };
}

/** The USDC `owner` lets `spender` spend, in base units. */
async function allowance(owner, spender) {
  const word = address => address.slice(2).toLowerCase().padStart(64, '0');
  const data = `0xdd62ed3e${word(owner)}${word(spender)}`;
  return BigInt(await rpc(devnet.url, 'eth_call', [{ to: devnet.contracts.usdc, data }, 'latest']));
}

const balance = async (url, address) => BigInt(await rpc(url, 'eth_getBalance', [address, 'latest']));

describe('wallet transactions', () => {
  test('a transfer: the review shows it, the wallet signs, anvil mines it, and the turn continues', async () => {
    const browser = await walletBrowser(1);
    const { page } = browser;
    const friend = devnet.accounts[7];
    try {
      const before = await balance(devnet.url, friend);
      await send(page, 'please send 1.5 ETH to my friend');
      const review = page.getByRole('region', { name: 'Review transaction' });
      await review.waitFor();
      assert.equal(await review.locator('.review-description').textContent(), 'Send 1.5 ETH to your friend');
      assert.equal(await review.locator('.review-facts .amount').first().textContent(), '1.5 ETH');
      assert.equal(await review.locator('.chain-ref').first().getAttribute('data-value'), friend);
      assert.match(await review.locator('.network-chip').textContent(), /Devnet/);
      // The server simulated it on anvil before asking: exactly 1.5 ETH out of the wallet, into the friend's.
      const simulation = review.locator('.review-simulation');
      await simulation.locator('.changes').first().waitFor();
      assert.deepEqual(await simulation.locator('.changes .amount').allTextContents(), ['-1.5 ETH', '+1.5 ETH']);
      assert.equal(await simulation.locator('.changes').nth(1).locator('.chain-ref').getAttribute('data-value'), friend, 'the other change names whose it is');
      assert.equal(await simulation.locator('.changes .muted').allTextContents().then(t => t.join('|')), ' native| native');
      // The fee is shown cut to 8 digits, exact on hover: 21000 gas of a plain transfer at the node's price.
      assert.match(await simulation.locator('dt:text-is("Fee") + dd .amount').getAttribute('aria-label'), /^0\.0000\d+ ETH$/);
      assert.equal(await simulation.locator('dt:text-is("Gas") + dd').textContent(), '21000');
      assert.equal(await simulation.locator('.warning.level-danger').count(), 0);

      await review.getByRole('button', { name: 'Approve in wallet' }).click();
      await lastAnswer(page).getByText('Your 1.5 ETH are on their way.').waitFor();
      assert.equal((await balance(devnet.url, friend)) - before, 15n * ETH / 10n, 'the friend got exactly 1.5 ETH');

      // The card now shows the sent transaction, and the server stored the wallet's answer.
      const card = page.locator('section.tool-card[data-tool="send_transaction_to_wallet"]');
      await card.locator('.badge.success').waitFor();
      const hash = await card.locator('.chain-ref').getAttribute('data-value');
      const receipt = await rpc(devnet.url, 'eth_getTransactionReceipt', [hash]);
      assert.equal(receipt.status, '0x1');
      assert.equal(receipt.from.toLowerCase(), browser.account.toLowerCase());
      const id = new URL(page.url()).pathname.split('/').pop();
      const stored = await (await fetch(`${aomi.url}/api/chats/${id}?owner=${browser.account.toLowerCase()}`)).json();
      const part = stored.messages[1].parts.find(p => p.type === 'tool-send_transaction_to_wallet');
      assert.equal(part.state, 'output-available');
      assert.equal(part.output.transactionHash, hash);
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });

  test('a rejection in the review sends nothing and the model is told', async () => {
    const browser = await walletBrowser(2);
    const { page } = browser;
    try {
      const nonce = await rpc(devnet.url, 'eth_getTransactionCount', [browser.account, 'latest']);
      await send(page, 'please send 1.5 ETH to my friend');
      const review = page.getByRole('region', { name: 'Review transaction' });
      await review.getByRole('button', { name: 'Reject' }).click();
      await lastAnswer(page).getByText('Understood: nothing was sent.').waitFor();
      assert.equal(await rpc(devnet.url, 'eth_getTransactionCount', [browser.account, 'latest']), nonce, 'nothing was sent');
      assert.equal(await page.getByRole('region', { name: 'Review transaction' }).count(), 0);
      const card = page.locator('section.tool-card[data-tool="send_transaction_to_wallet"]');
      assert.equal(await card.locator('.tool-error').textContent(), 'The user rejected the transaction in the review.');
      assert.equal((await page.evaluate(() => window.__aomiWalletLog)).filter(r => r.method === 'eth_sendTransaction').length, 0);
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });

  test('a transfer the simulation fails is held back: nothing reaches the wallet, the page and the model say why', async () => {
    const browser = await walletBrowser(4);
    const { page } = browser;
    try {
      const nonce = await rpc(devnet.url, 'eth_getTransactionCount', [browser.account, 'latest']);
      await send(page, 'please send 50000 ETH to my friend');
      await lastAnswer(page).getByText('I did not send it: the simulation says it would fail.').waitFor();
      const held = page.getByRole('region', { name: 'Transaction not sent' });
      assert.ok((await held.locator('.warning.level-danger').count()) > 0, 'a danger warning explains it');
      assert.match(await held.textContent(), /insufficient|exceeds|more than/i);
      assert.equal(await page.getByRole('region', { name: 'Review transaction' }).count(), 0);
      assert.equal((await page.evaluate(() => window.__aomiWalletLog)).filter(r => r.method === 'eth_sendTransaction').length, 0);
      assert.equal(await rpc(devnet.url, 'eth_getTransactionCount', [browser.account, 'latest']), nonce, 'nothing was sent');
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });

  test('only the person can send a held-back transaction: "Send anyway", then a danger review that takes two clicks', async () => {
    const browser = await walletBrowser(6);
    const { page } = browser;
    const friend = devnet.accounts[7];
    const sent = async () => (await page.evaluate(() => window.__aomiWalletLog)).filter(r => r.method === 'eth_sendTransaction').length;
    try {
      await send(page, 'please let my friend spend 100 USDC');
      // The model set the override on its own: held back all the same, with the report and a button.
      await lastAnswer(page).getByText('I did not send it').waitFor();
      const held = page.getByRole('region', { name: 'Transaction not sent' });
      assert.match(await held.locator('.warning.level-danger').textContent(), /ordinary account/);
      assert.equal(await page.getByRole('region', { name: 'Review transaction' }).count(), 0);
      assert.equal(await sent(), 0);

      // The person decides: the button sends their message, and the same call reaches the wallet.
      await held.getByRole('button', { name: 'Send anyway' }).click();
      await page.locator('article.message.user').last().getByText('Send it anyway').waitFor();
      const review = page.getByRole('region', { name: 'Review transaction' });
      await review.locator('.warning.level-danger').waitFor();
      const button = review.getByRole('button', { name: 'Send despite the warning' });
      assert.match(await button.getAttribute('class'), /\bdanger\b/);
      assert.doesNotMatch(await button.getAttribute('class'), /\bprimary\b/);
      // The first click only arms it.
      await button.click();
      const confirm = review.getByRole('button', { name: 'Confirm: send despite the warning' });
      await confirm.waitFor();
      assert.equal(await sent(), 0, 'one click sends nothing');
      await confirm.click();
      await lastAnswer(page).locator('section.tool-card[data-tool="send_transaction_to_wallet"] .badge.success').waitFor();
      assert.equal(await sent(), 1);
      assert.equal(await allowance(browser.account, friend), 100_000_000n);
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });

  test('switching the network in the page makes the next answer read the other chain', async () => {
    const browser = await walletBrowser(3);
    const { page } = browser;
    try {
      await send(page, 'what is the balance of the marked address?');
      await lastAnswer(page).getByText('That is the balance.').waitFor();
      const cards = page.locator('section.tool-card[data-tool="get_balance"]');
      assert.equal(await cards.nth(0).locator('.amount').textContent(), '0 ETH');
      assert.equal(await cards.nth(0).locator('.badge').textContent(), 'devnet');

      await page.getByLabel('Network').selectOption('8453');
      assert.equal(await page.getByLabel('Network').inputValue(), '8453');
      await send(page, 'and the balance now?');
      await page.locator('article.message.assistant').nth(1).getByText('That is the balance.').waitFor();
      assert.equal(await cards.nth(1).locator('.amount').textContent(), '1.5 ETH');
      assert.equal(await cards.nth(1).locator('.badge').textContent(), 'base');
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });

  test('a reload while the answer continues after the wallet shows the whole answer, once', async () => {
    const continuation = 'The transfer is mined. Your friend now holds 1.5 ETH more, and this sentence streams slowly so that the page can reload in the middle of it.';
    const slow = await startAomi(
      {
        rules: [
          { when: { last_tool_result_contains: 'transactionHash' }, reply: { text: continuation } },
          {
            when: { last_user_contains: 'send 1.5 ETH' },
            reply: {
              tool_calls: {
                text: 'I prepared the transfer.',
                calls: [{ name: 'send_transaction_to_wallet', arguments: { to: devnet.accounts[7], value: (15n * ETH / 10n).toString(), description: 'Send 1.5 ETH to your friend' } }],
              },
            },
          },
        ],
        fallback: { text: 'Hello.' },
        timing: { ttft_ms: 0, tokens_per_second: 10, chars_per_token: 4 },
      },
      { AOMI_RPC_DEVNET: devnet.url, AOMI_DEFAULT_NETWORK: 'devnet' },
    );
    const browser = await walletBrowser(5, slow);
    const { page } = browser;
    try {
      await send(page, 'please send 1.5 ETH to my friend');
      const review = page.getByRole('region', { name: 'Review transaction' });
      await review.locator('.review-simulation .changes').first().waitFor();
      await review.getByRole('button', { name: 'Approve in wallet' }).click();
      await lastAnswer(page).getByText('The transfer is mined.', { exact: false }).waitFor();
      await page.reload();

      const answer = lastAnswer(page);
      await answer.getByText('so that the page can reload in the middle of it.', { exact: false }).waitFor();
      // The whole message: the text before the wallet call, the sent call, the continuation once.
      assert.match(await answer.textContent(), /I prepared the transfer\./);
      await answer.locator('section.tool-card[data-tool="send_transaction_to_wallet"] .badge.success').waitFor();
      assert.equal((await answer.textContent()).split('The transfer is mined.').length - 1, 1, 'the continuation once');
      assert.equal(await page.locator('article.message.assistant').count(), 1);
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
      await slow.stop();
    }
  });

  test('a contract lookup shows the contract: name, verification, its functions', async () => {
    const browser = await walletBrowser(8);
    const { page } = browser;
    try {
      await send(page, 'what contract is the devnet USDC?');
      await lastAnswer(page).getByText('That is the devnet USDC.').waitFor();
      const card = page.locator('section.tool-card[data-tool="get_contract"]');
      assert.equal(await card.locator('.contract-summary strong').first().textContent(), 'TestToken');
      assert.equal(await card.locator('.badge.success').textContent(), 'verified (artifact)');
      await card.getByText(/^Read \(\d+\)$/).click();
      await card.getByText('function balanceOf(address) view returns (uint256)', { exact: true }).waitFor();
      assert.match(await card.locator('summary').nth(1).textContent(), /^Write \(\d+\)$/);
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });
});

describe('the network menu is the server’s', () => {
  test('with no wallet it lists the networks the server reads, starts on its default, and /balance reads the devnet', async () => {
    const browser = await openBrowser();
    const { page } = browser;
    const bodies = recordChatRequests(page);
    try {
      await page.goto(aomi.url);
      const served = await (await fetch(`${aomi.url}/api/networks`)).json();
      const menu = page.getByLabel('Network');
      assert.equal(await menu.inputValue(), '31337', 'the server’s default network, not Ethereum');
      const options = await menu.locator('option').evaluateAll(nodes => nodes.map(node => Number(node.value)));
      assert.deepEqual(options, served.networks.map(network => network.chainId));

      await send(page, `/balance ${devnet.accounts[9]}`);
      const card = page.locator('section.tool-card[data-tool="get_balance"]');
      await card.locator('.tool-status.ok').waitFor();
      assert.equal(await card.locator('.badge').textContent(), 'devnet');
      assert.equal(bodies[0].wallet.chainId, 31337);
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });

  test('a wallet on a network the server does not read sees it named as such, until it switches', async () => {
    const account = devnet.accounts[9];
    const browser = await openBrowser({ wallet: { accounts: [account], chainId: 100, chains: [100, 31337], rpcUrls: { 31337: devnet.url } } });
    const { page } = browser;
    try {
      await page.goto(aomi.url);
      await page.getByRole('button', { name: 'Connect wallet' }).click();
      await page.locator('.wallet-button.connected').waitFor();
      const menu = page.getByLabel('Network');
      assert.equal(await menu.inputValue(), '100');
      assert.equal(await menu.locator('option[value="100"]').textContent(), 'Chain 100 (not read by aomi)');
      await page.getByText('aomi does not read Chain 100').waitFor();

      await menu.selectOption('31337');
      await page.getByText('aomi does not read Chain 100').waitFor({ state: 'detached' });
      assert.equal(await menu.inputValue(), '31337');
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });
});

describe('accounts', () => {
  test('picking another account in the wallet starts a new chat for it, visibly; the next turn speaks for it', async () => {
    const [first, second] = [devnet.accounts[5], devnet.accounts[6]];
    const browser = await openBrowser({ wallet: { accounts: [first, second], chainId: 31337, chains: [31337], rpcUrls: { 31337: devnet.url } } });
    const { page } = browser;
    const bodies = recordChatRequests(page);
    try {
      await page.goto(aomi.url);
      await page.getByRole('button', { name: 'Connect wallet' }).click();
      const inUse = () => page.locator('.wallet-button.connected').getAttribute('data-address');
      await page.locator('.wallet-button.connected').waitFor();
      assert.equal((await inUse()).toLowerCase(), first.toLowerCase());
      await send(page, 'hello from the first account');
      await lastAnswer(page).getByText('Hello from the stub.').waitFor();
      assert.equal(bodies[0].wallet.address.toLowerCase(), first.toLowerCase());

      await page.evaluate(() => window.__aomiWalletUseAccount(1));
      await page.waitForFunction(
        address => document.querySelector('.wallet-button.connected')?.getAttribute('data-address')?.toLowerCase() === address,
        second.toLowerCase(),
      );
      const notice = page.locator('.account-notice');
      await notice.waitFor();
      assert.match((await notice.textContent()).toLowerCase(), new RegExp(`${second.slice(0, 6).toLowerCase()}.*new chat`));
      assert.equal(await page.locator('article.message').count(), 0, 'the first account’s chat is not on screen');
      assert.equal(new URL(page.url()).pathname, '/');

      await send(page, 'hello from the second account');
      await lastAnswer(page).getByText('Hello from the stub.').waitFor();
      assert.equal(bodies[1].wallet.address.toLowerCase(), second.toLowerCase());
      assert.notEqual(bodies[1].id, bodies[0].id, 'a new chat');
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });
});
