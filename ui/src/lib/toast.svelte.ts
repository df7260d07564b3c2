// Short messages that confirm an action or report a failure, announced to screen readers.
// <Toasts/> in the shell shows them.

/** At most this many are shown; a newer one pushes the oldest out. */
export const MAX_TOASTS = 3;

export interface Toast {
  id: number;
  kind: 'success' | 'error' | 'info';
  text: string;
}

export class Toasts {
  items = $state<Toast[]>([]);
  #next = 1;

  push(kind: Toast['kind'], text: string, ms = kind === 'error' ? 9000 : 5000) {
    const id = this.#next++;
    this.items = [...this.items, { id, kind, text }].slice(-MAX_TOASTS);
    if (ms > 0) setTimeout(() => this.dismiss(id), ms);
    return id;
  }
  success(text: string) {
    return this.push('success', text);
  }
  error(text: string) {
    return this.push('error', text);
  }
  info(text: string) {
    return this.push('info', text);
  }
  dismiss(id: number) {
    this.items = this.items.filter((t) => t.id !== id);
  }
}

export const toast = new Toasts();
