import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, test } from 'vitest';

import type { components } from '../lib/api.gen';
import type { AomiMessage } from '../lib/types';
import { MessageView, type MessageContext } from './MessageView';
import { TreeView } from './TreeView';

type TreePart = components['schemas']['TreePart'];

const running: TreePart = {
  branches: [
    {
      label: 'the first pool',
      state: 'running',
      calls: [
        { toolCallId: 'a1', toolName: 'get_pool', state: 'done', summary: '2500 USDC' },
        { toolCallId: 'a2', toolName: 'quote', state: 'running' },
      ],
    },
    {
      label: 'a long route',
      state: 'pruned',
      note: 'over the step budget: 6 calls, at most 4',
      calls: [{ toolCallId: 'b1', toolName: 'quote', state: 'skipped' }],
    },
  ],
};

const chosen: TreePart = {
  branches: [
    { ...running.branches[0], state: 'done', score: 9, calls: running.branches[0].calls.map(c => ({ ...c, state: 'done' as const })) },
    running.branches[1],
    { label: 'the second pool', state: 'pruned', score: 6, note: 'scored below branch 0', calls: [] },
  ],
  chosen: 0,
  reason: 'it gives the most USDC',
};

describe('TreeView', () => {
  test('a running tree is open and shows every branch and call with its state', () => {
    const { container } = render(<TreeView tree={running} />);
    const details = container.querySelector('details') as HTMLDetailsElement;
    expect(details.open).toBe(true);
    const branches = [...container.querySelectorAll('.tree-branch')].map(b => b.getAttribute('data-state'));
    expect(branches).toEqual(['running', 'pruned']);
    const calls = [...container.querySelectorAll('.tree-call')].map(c => c.getAttribute('data-state'));
    expect(calls).toEqual(['done', 'running', 'skipped']);
    expect(container.textContent).toContain('2500 USDC');
    expect(container.textContent).toContain('over the step budget');
    expect(container.textContent).toContain('1 running');
  });

  test('once a branch is chosen the tree folds, names it, shows the scores, and opens on a click', () => {
    const { container } = render(<TreeView tree={chosen} />);
    const details = container.querySelector('details') as HTMLDetailsElement;
    expect(details.open).toBe(false);
    expect(container.querySelector('summary')?.textContent).toContain('answered from “the first pool”');
    const picked = container.querySelector('[data-chosen="true"]');
    expect(picked?.textContent).toContain('the first pool');
    expect(picked?.textContent).toContain('score 9/10');
    expect(container.querySelectorAll('[data-chosen]')).toHaveLength(1);
    expect(container.textContent).toContain('score 6/10');
    expect(container.textContent).toContain('it gives the most USDC');
    fireEvent.click(screen.getByText(/Explored 3 branches/));
    expect(details.open).toBe(true);
  });

  test('in a message it renders beside the text; an unknown data part is still left out', () => {
    const context: MessageContext = { progress: {}, live: false, last: true, chainId: 1, onWalletOutcome: () => {} };
    const message = {
      id: 'a',
      role: 'assistant',
      parts: [
        { type: 'data-tree', id: 'tree_1', data: chosen },
        { type: 'data-tree-of-the-future', data: { anything: [1, 2] } },
        { type: 'text', text: 'The first pool.' },
      ],
    } as unknown as AomiMessage;
    const { container } = render(<MessageView message={message} context={context} />);
    expect(container.querySelectorAll('.tree-branch')).toHaveLength(3);
    expect(container.textContent).not.toContain('anything');
    expect(container.textContent).toContain('The first pool.');
  });
});
