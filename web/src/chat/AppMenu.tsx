// The app picker, beside the network menu: which of the server's apps answers. A chat keeps the app
// it started with (a chat opened from the history shows and uses its stored app); picking another
// app for a chat that already has messages starts a new chat with it.
import type { AppInfo } from '../lib/api';
import { ChevronIcon } from '../icons';

export function AppMenu({ apps, value, onPick }: { apps: AppInfo[]; value: string; onPick: (name: string) => void }) {
  // One app (or a server that lists none) leaves nothing to pick.
  if (apps.length < 2) return null;
  const current = apps.find(app => app.name === value);
  return (
    <div className="network app-menu">
      <label className="sr-only" htmlFor="app-select">
        App
      </label>
      <select id="app-select" value={value} title={current?.description} onChange={event => onPick(event.target.value)}>
        {current ? null : <option value={value}>{value}</option>}
        {apps.map(app => (
          <option key={app.name} value={app.name} title={app.description}>
            {app.name}
          </option>
        ))}
      </select>
      <ChevronIcon size={14} className="chevron" />
    </div>
  );
}
