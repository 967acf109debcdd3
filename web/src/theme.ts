// Dark and light themes: the saved choice, else the system's; index.html applies it before paint.
import { useCallback, useState } from 'react';

export type Theme = 'dark' | 'light';

const KEY = 'aomi.theme';

/** The theme shown now. */
export function currentTheme(): Theme {
  return document.documentElement.dataset.theme === 'light' ? 'light' : 'dark';
}

/** The theme and a toggle that saves the choice. */
export function useTheme(): [Theme, () => void] {
  const [theme, setTheme] = useState<Theme>(currentTheme);
  const toggle = useCallback(() => {
    const next: Theme = currentTheme() === 'dark' ? 'light' : 'dark';
    document.documentElement.dataset.theme = next;
    localStorage.setItem(KEY, next);
    setTheme(next);
  }, []);
  return [theme, toggle];
}
