// A form's submit state and the API's errors mapped onto its fields (form-errors.ts):
//
//     const form = createForm(['username', 'password']);
//     <form onsubmit={form.handle(async () => { await call(api.POST(…)); })}>
//       <Field label="Username" error={form.errors.fields.username}><input name="username" …></Field>
//       <FormError {form} />
//
// While it runs, form.busy is true; on an error, the first field at fault gets the focus.
import { tick } from 'svelte';
import { formErrors, noErrors, type FormErrors } from './form-errors';

export class Form {
  busy = $state(false);
  errors = $state<FormErrors>(noErrors());
  readonly fields: readonly string[];

  constructor(fields: readonly string[]) {
    this.fields = fields;
  }

  clear() {
    this.errors = noErrors();
  }

  /** Sets an error by hand (client-side checks such as "passwords differ"). */
  fail(field: string | null, message: string) {
    this.errors = field ? { fields: { [field]: message }, form: '' } : { fields: {}, form: message };
  }

  /** An onsubmit handler: prevents the page load, runs fn, maps its error. */
  handle(fn: (e: SubmitEvent) => Promise<unknown> | unknown) {
    return async (e: SubmitEvent) => {
      e.preventDefault();
      if (this.busy) return;
      const formEl = e.currentTarget as HTMLFormElement;
      this.busy = true;
      this.clear();
      try {
        await fn(e);
      } catch (err) {
        this.errors = formErrors(err, this.fields);
        await tick();
        const first = formEl.querySelector<HTMLElement>('[aria-invalid="true"], .form-error');
        first?.focus();
      } finally {
        this.busy = false;
      }
    };
  }
}

export function createForm(fields: readonly string[]): Form {
  return new Form(fields);
}
