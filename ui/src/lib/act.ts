// An action on a page's object, as every page runs one: ask first when it cannot be undone, call
// the API, then say how it went in a toast.
//
//     if (await act({ confirm: { title, message, confirmLabel }, run: () => call(api.DELETE(…)), done: `Deleted ${u.username}.`, scope: 'users:write' }))
//       table.reload();
import { confirmAction, type ConfirmRequest } from './confirm.svelte';
import { failureMessage } from './form-errors';
import { toast } from './toast.svelte';

/** True when the action ran; false when it was cancelled or failed (its toast says why). */
export async function act(a: { confirm?: ConfirmRequest | false; run: () => Promise<unknown>; done: string; scope?: string }): Promise<boolean> {
  if (a.confirm && !(await confirmAction(a.confirm))) return false;
  try {
    await a.run();
  } catch (e) {
    toast.error(failureMessage(e, a.scope));
    return false;
  }
  toast.success(a.done);
  return true;
}
