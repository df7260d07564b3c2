// A widget's data: loaded when it mounts, refreshed while it is on screen (usePolling pauses
// when the tab is hidden and stops when the widget goes), with its loading and error state.
import type { ApiError } from '../api/client';
import { usePolling } from '../lib/poll.svelte';
import { WIDGET_REFRESH_MS } from './refresh';

export interface WidgetData<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => Promise<void>;
}

export function useWidgetData<T>(load: () => Promise<T>): WidgetData<T> {
  const s: WidgetData<T> = $state({ data: null, error: null, loading: true, reload: async () => {} });
  s.reload = async () => {
    try {
      s.data = await load();
      s.error = null;
    } catch (e) {
      s.error = e as ApiError;
    } finally {
      s.loading = false;
    }
  };
  usePolling(() => s.reload(), WIDGET_REFRESH_MS);
  return s;
}
