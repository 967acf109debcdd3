// A batch end to end on the DeFi devnet (`aomi devnet`: Uniswap deployed, the first five accounts
// funded with USDC): the scripted model stages an approve + swap of 3000 USDC for ETH through the
// Uniswap router, the page lists the pending batch, the model sends it, and the batch review shows
// both steps succeeding in the batch's simulation although the approval is not mined. Sent as one
// `wallet_sendCalls` to a wallet that supports EIP-5792, and as two transactions (each simulated
// again first) to one that does not; the balances are read on the chain after, and the tool's stored
// output is what the page answered. A reload afterwards sends nothing again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { openBrowser, rpc, send, startAomi, startDevnet } from './harness.mjs';

const USDC = 10n ** 6n;

let devnet;
let aomi;

before(async () => {
  devnet = await startDevnet(31337);
  const script = {
    rules: [
      { when: { last_tool_result_contains: 'transactionHashes' }, reply: { text: 'The batch is done.' } },
      { when: { last_tool_result_contains: 'rejected' }, reply: { text: 'Nothing was sent.' } },
      { when: { last_tool_result_contains: 'Staged (2 steps)' }, reply: { text: 'Staged: an approval, then the swap.' } },
      {
        when: { last_user_contains: 'swap 3000 USDC' },
        reply: { tool_calls: { calls: [{ name: 'stage_swap', arguments: { sell: 'USDC', buy: 'ETH', amount: '3000', slippage_bps: 100 } }] } },
      },
      {
        when: { last_user_contains: 'send the batch' },
        reply: { tool_calls: { calls: [{ name: 'send_batch_to_wallet', arguments: { description: 'Swap 3000 USDC for ETH' } }] } },
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

const lastAnswer = page => page.locator('article.message.assistant').last();
const word = address => address.slice(2).toLowerCase().padStart(64, '0');
const usdcOf = async owner => BigInt(await rpc(devnet.url, 'eth_call', [{ to: devnet.contracts.usdc, data: `0x70a08231${word(owner)}` }, 'latest']));
const allowance = async (owner, spender) =>
  BigInt(await rpc(devnet.url, 'eth_call', [{ to: devnet.contracts.usdc, data: `0xdd62ed3e${word(owner)}${word(spender)}` }, 'latest']));
const ethOf = async owner => BigInt(await rpc(devnet.url, 'eth_getBalance', [owner, 'latest']));

/** A browser whose wallet is dev account `index` (funded with USDC), batching (EIP-5792) or not. */
async function walletBrowser(index, eip5792) {
  const account = devnet.accounts[index];
  const browser = await openBrowser({
    wallet: { accounts: [account], chainId: 31337, chains: [31337], rpcUrls: { 31337: devnet.url }, eip5792 },
  });
  await browser.page.goto(aomi.url);
  await browser.page.getByRole('button', { name: 'Connect wallet' }).click();
  await browser.page.locator('.wallet-button.connected').waitFor();
  return { ...browser, account };
}

/** Stages the swap, checks the pending list, asks to send it and checks the review; the review. */
async function stageAndReview(page, account) {
  await send(page, 'please swap 3000 USDC for ETH');
  await lastAnswer(page).getByText('Staged: an approval, then the swap.').waitFor();
  const list = page.getByRole('region', { name: 'Pending batch' });
  await list.waitFor();
  assert.equal(await list.locator('li').count(), 2, 'the approval and the swap are listed');
  assert.match(await list.locator('h4').textContent(), /2 transactions/);

  await send(page, 'send the batch');
  const review = page.getByRole('region', { name: 'Review batch' });
  await review.waitFor();
  assert.equal(await review.locator('.review-description').textContent(), 'Swap 3000 USDC for ETH');
  // The swap succeeds in the batch's simulation although the approval is not mined yet.
  assert.deepEqual(await review.locator('.batch-steps .badge').allTextContents(), ['succeeds', 'succeeds']);
  const router = await review.locator('.batch-steps li').nth(1).locator('.chain-ref').getAttribute('data-value');
  assert.equal(await allowance(account, router), 0n, 'nothing is approved on chain before sending');
  const changes = await review.locator('.review-simulation .changes .amount').allTextContents();
  assert.ok(changes.includes('-3,000 USDC') || changes.includes('-3000 USDC'), `the net changes show the USDC sold: ${changes}`);
  // Taken by the send: the pending list is empty now.
  await list.waitFor({ state: 'detached' });
  return { review, router };
}

/** The stored output of the chat's `send_batch_to_wallet` call. */
async function storedOutput(page, account) {
  const id = new URL(page.url()).pathname.split('/').pop();
  const stored = await (await fetch(`${aomi.url}/api/chats/${id}?owner=${account.toLowerCase()}`)).json();
  const part = stored.messages.flatMap(m => m.parts).find(p => p.type === 'tool-send_batch_to_wallet');
  assert.equal(part.state, 'output-available', JSON.stringify(part));
  return part.output;
}

describe('a batch of an approval and a swap', () => {
  for (const eip5792 of [true, false]) {
    const wallet = eip5792 ? 'a wallet with EIP-5792: one wallet_sendCalls' : 'a plain wallet: two transactions, each simulated again';
    test(wallet, async () => {
      const browser = await walletBrowser(eip5792 ? 1 : 2, eip5792);
      const { page, account } = browser;
      try {
        const usdcBefore = await usdcOf(account);
        const ethBefore = await ethOf(account);
        const { review, router } = await stageAndReview(page, account);
        const simulated = [];
        page.on('request', request => {
          if (request.method() === 'POST' && new URL(request.url()).pathname === '/api/simulate') simulated.push(request.postDataJSON());
        });
        await review.getByRole('button', { name: 'Send 2 transactions to wallet' }).click();
        await lastAnswer(page).getByText('The batch is done.').waitFor();

        const log = await page.evaluate(() => window.__aomiWalletLog);
        const count = method => log.filter(request => request.method === method).length;
        if (eip5792) {
          assert.equal(count('wallet_sendCalls'), 1, 'one request for the whole batch');
          assert.equal(count('eth_sendTransaction'), 0);
          assert.equal(log.find(r => r.method === 'wallet_sendCalls').params[0].calls.length, 2);
          assert.ok(count('wallet_getCallsStatus') >= 1, 'followed until final');
        } else {
          assert.ok(count('wallet_getCapabilities') >= 1, 'the wallet was asked what it can do');
          assert.equal(count('wallet_sendCalls'), 0);
          assert.equal(count('eth_sendTransaction'), 2, 'one transaction after another');
          assert.equal(simulated.length, 2, 'each simulated again against the chain as it was then');
        }

        // On the chain: exactly 3000 USDC sold, ETH bought (more than the fees), the approval spent.
        assert.equal(usdcBefore - (await usdcOf(account)), 3000n * USDC);
        assert.ok((await ethOf(account)) > ethBefore, 'ETH came in');
        assert.equal(await allowance(account, router), 0n, 'the swap used the whole approval');

        const output = await storedOutput(page, account);
        assert.equal(output.mode, eip5792 ? 'wallet_sendCalls' : 'sequential');
        assert.equal(output.status, 'success');
        assert.equal(output.sent, 2);
        assert.equal(output.transactionHashes.length, 2);
        for (const hash of output.transactionHashes) {
          const receipt = await rpc(devnet.url, 'eth_getTransactionReceipt', [hash]);
          assert.equal(receipt.status, '0x1');
          assert.equal(receipt.from.toLowerCase(), account.toLowerCase());
        }

        // A reload shows the answered call, and sends nothing again.
        const nonce = await rpc(devnet.url, 'eth_getTransactionCount', [account, 'latest']);
        await page.reload();
        await lastAnswer(page).getByText('The batch is done.').waitFor();
        assert.equal(await page.getByRole('region', { name: 'Review batch' }).count(), 0);
        assert.equal(await rpc(devnet.url, 'eth_getTransactionCount', [account, 'latest']), nonce, 'nothing sent twice');
        assert.deepEqual(browser.errors, []);
      } finally {
        await browser.close();
      }
    });
  }

  test('a step removed in the page leaves the batch', async () => {
    const browser = await walletBrowser(3, true);
    const { page } = browser;
    try {
      await send(page, 'please swap 3000 USDC for ETH');
      const list = page.getByRole('region', { name: 'Pending batch' });
      await list.locator('li').nth(1).waitFor();
      await list.getByRole('button', { name: 'Remove step 1' }).click();
      await list.locator('h4', { hasText: '1 transaction' }).waitFor();
      const id = new URL(page.url()).pathname.split('/').pop();
      const stored = await (await fetch(`${aomi.url}/api/chats/${id}/batch?owner=${browser.account.toLowerCase()}`)).json();
      assert.equal(stored.steps.length, 1, 'the server removed it');
      assert.match(stored.steps[0].description, /[Ss]wap/);
      // A reload reads the batch from the server.
      await page.reload();
      await page.getByRole('region', { name: 'Pending batch' }).locator('h4', { hasText: '1 transaction' }).waitFor();
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });
});
