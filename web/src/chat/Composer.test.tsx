import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, test, vi } from 'vitest';

import { Composer, matchCommands, PAGE_COMMANDS } from './Composer';

const commands = [...PAGE_COMMANDS, { name: 'balance', description: 'A balance', usage: '/balance <address> [token]' }];

describe('Composer', () => {
  test('matches commands by prefix after a slash only', () => {
    expect(matchCommands('/', commands).map(c => c.name)).toEqual(['new', 'theme', 'balance']);
    expect(matchCommands('/ba', commands).map(c => c.name)).toEqual(['balance']);
    expect(matchCommands('/balance 0x1', commands)).toEqual([]);
    expect(matchCommands('hello /ba', commands)).toEqual([]);
  });

  test('Enter sends, Shift+Enter does not, an empty message is never sent', () => {
    const onSend = vi.fn();
    render(<Composer busy={false} commands={commands} onSend={onSend} onStop={vi.fn()} placeholder="Ask" />);
    const box = screen.getByRole('combobox', { name: 'Message aomi' });
    fireEvent.change(box, { target: { value: '   ' } });
    fireEvent.keyDown(box, { key: 'Enter' });
    fireEvent.change(box, { target: { value: 'hello' } });
    fireEvent.keyDown(box, { key: 'Enter', shiftKey: true });
    expect(onSend).not.toHaveBeenCalled();
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(onSend).toHaveBeenCalledWith('hello');
  });

  test('the slash menu is a keyboard listbox; a server command fills the box to complete', () => {
    const onSend = vi.fn();
    render(<Composer busy={false} commands={commands} onSend={onSend} onStop={vi.fn()} placeholder="Ask" />);
    const box = screen.getByRole('combobox', { name: 'Message aomi' }) as HTMLTextAreaElement;
    fireEvent.change(box, { target: { value: '/' } });
    expect(screen.getAllByRole('option').length).toBe(3);
    fireEvent.keyDown(box, { key: 'ArrowUp' });
    expect(screen.getByRole('option', { selected: true }).textContent).toContain('/balance');
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(box.value).toBe('/balance ');
    expect(onSend).not.toHaveBeenCalled();
  });

  test('while a turn runs the button stops it', () => {
    const onStop = vi.fn();
    render(<Composer busy commands={commands} onSend={vi.fn()} onStop={onStop} placeholder="Ask" />);
    fireEvent.click(screen.getByRole('button', { name: 'Stop' }));
    expect(onStop).toHaveBeenCalledOnce();
  });

  test('Esc stops a running turn, and does nothing when none runs', () => {
    const onStop = vi.fn();
    const { rerender } = render(<Composer busy={false} commands={commands} onSend={vi.fn()} onStop={onStop} placeholder="Ask" />);
    const box = screen.getByRole('combobox', { name: 'Message aomi' });
    fireEvent.keyDown(box, { key: 'Escape' });
    expect(onStop).not.toHaveBeenCalled();
    rerender(<Composer busy commands={commands} onSend={vi.fn()} onStop={onStop} placeholder="Ask" />);
    fireEvent.keyDown(box, { key: 'Escape' });
    expect(onStop).toHaveBeenCalledOnce();
  });

  test('Up in an empty box edits the last message; in a box with text it does nothing', () => {
    const onEditLast = vi.fn();
    render(<Composer busy={false} commands={commands} onSend={vi.fn()} onStop={vi.fn()} onEditLast={onEditLast} placeholder="Ask" />);
    const box = screen.getByRole('combobox', { name: 'Message aomi' });
    fireEvent.change(box, { target: { value: 'draft' } });
    fireEvent.keyDown(box, { key: 'ArrowUp' });
    expect(onEditLast).not.toHaveBeenCalled();
    fireEvent.change(box, { target: { value: '' } });
    fireEvent.keyDown(box, { key: 'ArrowUp' });
    expect(onEditLast).toHaveBeenCalledOnce();
  });

  test('Esc with the slash menu open closes the menu and does not stop the turn', () => {
    const onStop = vi.fn();
    render(<Composer busy commands={commands} onSend={vi.fn()} onStop={onStop} placeholder="Ask" />);
    const box = screen.getByRole('combobox', { name: 'Message aomi' });
    fireEvent.change(box, { target: { value: '/' } });
    fireEvent.keyDown(box, { key: 'Escape' });
    expect(screen.queryByRole('listbox')).toBeNull();
    expect(onStop).not.toHaveBeenCalled();
  });
});
