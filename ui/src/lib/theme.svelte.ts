// Light and dark: follow the OS unless the user picked one (kept in localStorage). The CSS
// reads <html data-theme="light|dark">; without it, prefers-color-scheme decides.

export type ThemeChoice = 'system' | 'light' | 'dark';
const KEY = 'mipo.theme';

class Theme {
  choice = $state<ThemeChoice>('system');

  init() {
    const saved = localStorage.getItem(KEY);
    this.set(saved === 'light' || saved === 'dark' ? saved : 'system');
  }

  set(c: ThemeChoice) {
    this.choice = c;
    if (c === 'system') {
      localStorage.removeItem(KEY);
      delete document.documentElement.dataset.theme;
    } else {
      localStorage.setItem(KEY, c);
      document.documentElement.dataset.theme = c;
    }
  }

  /** system → light → dark → system */
  cycle() {
    this.set(this.choice === 'system' ? 'light' : this.choice === 'light' ? 'dark' : 'system');
  }
}

export const theme = new Theme();
