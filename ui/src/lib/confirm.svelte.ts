// Confirmation for destructive actions. One dialog lives in the shell (<ConfirmHost/>); any
// page asks:
//
//     if (await confirmAction({ title: 'Delete user ann?', message: '…', confirmLabel: 'Delete user' })) …
//
// Escape or Cancel answers false; the dialog's focus starts on Cancel, so Enter alone never
// destroys anything.

export interface ConfirmRequest {
  title: string;
  message: string;
  confirmLabel: string;
  danger?: boolean; // default true
}

class ConfirmState {
  current = $state<(ConfirmRequest & { resolve: (ok: boolean) => void }) | null>(null);

  ask(req: ConfirmRequest): Promise<boolean> {
    this.current?.resolve(false);
    return new Promise((resolve) => {
      this.current = { danger: true, ...req, resolve };
    });
  }

  answer(ok: boolean) {
    const c = this.current;
    this.current = null;
    c?.resolve(ok);
  }
}

export const confirmState = new ConfirmState();
export const confirmAction = (req: ConfirmRequest) => confirmState.ask(req);
