// The message box: Enter sends, Shift+Enter breaks the line, Up in an empty box edits the last
// message, the button turns into Stop while a turn runs (Esc stops it too), and `/` opens the list
// of direct commands.
import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from 'react';

import { SendIcon, StopIcon } from '../icons';
import type { DirectCommand } from '../lib/types';

/** The commands the page itself handles. */
export const PAGE_COMMANDS: DirectCommand[] = [
  { name: 'new', description: 'Start a new chat' },
  { name: 'theme', description: 'Switch between the dark and the light theme' },
];

/** The commands that match what was typed after `/`. */
export function matchCommands(input: string, commands: DirectCommand[]): DirectCommand[] {
  if (!input.startsWith('/') || /\s/.test(input)) return [];
  const typed = input.slice(1).toLowerCase();
  return commands.filter(command => command.name.toLowerCase().startsWith(typed));
}

export function Composer({
  busy,
  commands,
  onSend,
  onStop,
  onEditLast,
  placeholder,
}: {
  busy: boolean;
  commands: DirectCommand[];
  onSend: (text: string) => void;
  onStop: () => void;
  /** Opens the last user message for editing (absent while a turn runs or before any). */
  onEditLast?: () => void;
  placeholder: string;
}) {
  const [input, setInput] = useState('');
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);
  const listId = useId();
  const matches = useMemo(() => (dismissed ? [] : matchCommands(input, commands)), [input, commands, dismissed]);
  const open = matches.length > 0;
  const selected = Math.min(active, Math.max(matches.length - 1, 0));

  useEffect(() => {
    const element = area.current;
    if (!element) return;
    element.style.height = 'auto';
    element.style.height = `${Math.min(element.scrollHeight, 220)}px`;
  }, [input]);

  const submit = (text: string) => {
    if (!text.trim() || busy) return;
    onSend(text.trim());
    setInput('');
  };

  const choose = (command: DirectCommand) => {
    // A command that takes nothing runs at once; the others wait for their arguments.
    const complete = PAGE_COMMANDS.some(page => page.name === command.name) || command.usage === `/${command.name}`;
    if (complete) {
      submit(`/${command.name}`);
    } else {
      setInput(`/${command.name} `);
      area.current?.focus();
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (open) {
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        const step = event.key === 'ArrowDown' ? 1 : -1;
        setActive((selected + step + matches.length) % matches.length);
        return;
      }
      if (event.key === 'Tab' || (event.key === 'Enter' && !event.shiftKey)) {
        event.preventDefault();
        choose(matches[selected]);
        return;
      }
      if (event.key === 'Escape') {
        event.preventDefault();
        setDismissed(true);
        return;
      }
    }
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit(input);
      return;
    }
    if (event.key === 'Escape' && busy) {
      event.preventDefault();
      onStop();
      return;
    }
    if (event.key === 'ArrowUp' && input === '' && onEditLast) {
      event.preventDefault();
      onEditLast();
    }
  };

  return (
    <form
      className="composer"
      onSubmit={event => {
        event.preventDefault();
        submit(input);
      }}
    >
      {open ? (
        <ul className="command-menu" id={listId} role="listbox" aria-label="Direct commands">
          {matches.map((command, index) => (
            <li
              key={command.name}
              id={`${listId}-${index}`}
              role="option"
              aria-selected={index === selected}
              className={index === selected ? 'selected' : ''}
              onMouseDown={event => {
                event.preventDefault();
                choose(command);
              }}
            >
              <span className="mono">/{command.name}</span>
              {command.usage ? <span className="muted mono usage">{command.usage}</span> : null}
              <span className="description">{command.description}</span>
            </li>
          ))}
        </ul>
      ) : null}
      <label className="sr-only" htmlFor={`${listId}-input`}>
        Message aomi
      </label>
      <textarea
        ref={area}
        id={`${listId}-input`}
        rows={1}
        value={input}
        placeholder={placeholder}
        onChange={event => {
          setInput(event.target.value);
          setDismissed(false);
          setActive(0);
        }}
        onKeyDown={onKeyDown}
        role="combobox"
        aria-expanded={open}
        aria-controls={open ? listId : undefined}
        aria-activedescendant={open ? `${listId}-${selected}` : undefined}
        aria-autocomplete="list"
      />
      {busy ? (
        <button type="button" className="send stop" onClick={onStop} aria-label="Stop">
          <StopIcon size={16} />
        </button>
      ) : (
        <button type="submit" className="send" disabled={!input.trim()} aria-label="Send">
          <SendIcon size={18} />
        </button>
      )}
    </form>
  );
}
