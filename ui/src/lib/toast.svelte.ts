// Short messages that confirm an action or report a failure, announced to screen readers.
// <Toasts/> in the shell shows them.

export interface Toast {
  id: number;
  kind: 'success' | 'error' | 'info';
  text: string;
}

class Toasts {
  items = $state<Toast[]>([]);
  #next = 1;

  push(kind: Toast['kind'], text: string, ms = kind === 'error' ? 9000 : 5000) {
    const id = this.#next++;
    this.items.push({ id, kind, text });
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
