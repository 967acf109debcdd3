// The model picker, beside the app picker: which of the server's allowed models (GET /api/models) a
// new chat runs on. A chat keeps the model it was created with (a chat opened from the history shows
// its stored one, the default when it has none); picking another model for a chat that already has
// messages starts a new chat with it, as the app picker does.
import type { ModelInfo } from '../lib/api';
import { ChevronIcon } from '../icons';

/** The id the menu shows for a chat on `model`: its own, or the default model's for none. */
export function shownModel(models: ModelInfo[], model: string | null | undefined): string {
  return model ?? models.find(m => m.default)?.id ?? '';
}

export function ModelMenu({
  models,
  value,
  onPick,
}: {
  models: ModelInfo[];
  /** The chat's model id; `null` or `undefined` for the default model. */
  value: string | null | undefined;
  onPick: (id: string) => void;
}) {
  // One model (or a server that lists none) leaves nothing to pick.
  if (models.length < 2) return null;
  const shown = shownModel(models, value);
  const current = models.find(model => model.id === shown);
  return (
    <div className="network app-menu model-menu">
      <label className="sr-only" htmlFor="model-select">
        Model
      </label>
      <select id="model-select" value={shown} title={current ? current.id : undefined} onChange={event => onPick(event.target.value)}>
        {/* A stored chat's model the server no longer allows: shown as it is stored. */}
        {current ? null : <option value={shown}>{shown}</option>}
        {models.map(model => (
          <option key={model.id} value={model.id} title={model.id}>
            {model.label}
          </option>
        ))}
      </select>
      <ChevronIcon size={14} className="chevron" />
    </div>
  );
}
