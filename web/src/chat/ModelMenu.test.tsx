import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, test, vi } from 'vitest';

import { ModelMenu, shownModel } from './ModelMenu';

const models = [
  { id: 'anthropic:claude-sonnet-4-5', label: 'Sonnet', default: true },
  { id: 'fast', label: 'Fast (Haiku)', default: false },
];

describe('ModelMenu', () => {
  test('lists the allowed models by label and shows the default for a chat on none', () => {
    render(<ModelMenu models={models} value={null} onPick={vi.fn()} />);
    const select = screen.getByRole('combobox', { name: 'Model' }) as HTMLSelectElement;
    expect([...select.options].map(o => [o.value, o.text])).toEqual([
      ['anthropic:claude-sonnet-4-5', 'Sonnet'],
      ['fast', 'Fast (Haiku)'],
    ]);
    expect(select.value).toBe('anthropic:claude-sonnet-4-5');
  });

  test("a chat's stored model is shown, and a pick is reported by id", () => {
    const onPick = vi.fn();
    render(<ModelMenu models={models} value="fast" onPick={onPick} />);
    const select = screen.getByRole('combobox', { name: 'Model' }) as HTMLSelectElement;
    expect(select.value).toBe('fast');
    fireEvent.change(select, { target: { value: 'anthropic:claude-sonnet-4-5' } });
    expect(onPick).toHaveBeenCalledWith('anthropic:claude-sonnet-4-5');
  });

  test('a stored model the server no longer allows is still shown as stored', () => {
    render(<ModelMenu models={models} value="retired" onPick={vi.fn()} />);
    const select = screen.getByRole('combobox', { name: 'Model' }) as HTMLSelectElement;
    expect(select.value).toBe('retired');
    expect(select.options).toHaveLength(3);
  });

  test('nothing to pick with one model or none', () => {
    const { container } = render(<ModelMenu models={models.slice(0, 1)} value={null} onPick={vi.fn()} />);
    expect(container.innerHTML).toBe('');
    expect(shownModel([], null)).toBe('');
    expect(shownModel(models, undefined)).toBe('anthropic:claude-sonnet-4-5');
  });
});
