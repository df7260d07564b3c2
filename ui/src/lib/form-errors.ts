// Maps an API error onto a form: an error naming one of the form's fields is shown next to that
// field; anything else is shown above the form's buttons. Pure: forms.svelte.ts wires it up.
import { ApiError } from '../api/client';

export interface FormErrors {
  /** field name → message, for fields the form shows */
  fields: Record<string, string>;
  /** a message for the whole form, or "" */
  form: string;
}

export const noErrors = (): FormErrors => ({ fields: {}, form: '' });

/**
 * The API names the field at fault as it was sent: "email", "roles[2]", "roles.2" or
 * "timing.rate". The form's field is the longest prefix of it that the form shows.
 */
export function fieldFor(apiField: string, fields: readonly string[]): string | undefined {
  if (fields.includes(apiField)) return apiField;
  const parts = apiField.split(/[.[\]]+/).filter(Boolean);
  for (let n = parts.length - 1; n > 0; n--) {
    const candidate = parts.slice(0, n).join('.');
    if (fields.includes(candidate)) return candidate;
  }
  return undefined;
}

export function formErrors(err: unknown, fields: readonly string[]): FormErrors {
  if (!(err instanceof ApiError)) {
    return { fields: {}, form: err instanceof Error ? err.message : String(err) };
  }
  if (err.status === 403) {
    return { fields: {}, form: forbiddenMessage(err) };
  }
  if (err.field) {
    const f = fieldFor(err.field, fields);
    if (f) return { fields: { [f]: err.message }, form: '' };
    return { fields: {}, form: `${err.message} (field ${err.field})` };
  }
  return { fields: {}, form: err.message };
}

/** The scope a 403 names, from its detail or its message, if any. */
export function missingScope(err: ApiError): string | undefined {
  const d = err.detail as { scope?: unknown; required?: unknown } | undefined;
  if (d && typeof d.scope === 'string') return d.scope;
  if (d && typeof d.required === 'string') return d.required;
  return err.message.match(/\b([a-z][a-z0-9-]*:[a-z][a-z0-9-]*)\b/)?.[1];
}

export function forbiddenMessage(err: ApiError, fallbackScope?: string): string {
  const scope = missingScope(err) ?? fallbackScope;
  return scope ? `You lack the ${scope} scope, so mipo refused this. Ask an administrator for a role that grants it.` : err.message;
}

/** What a failed call says; with the scope the action needs, a 403 says which scope is missing. */
export function failureMessage(err: unknown, scope?: string): string {
  return scope && err instanceof ApiError && err.status === 403 ? forbiddenMessage(err, scope) : (err as Error).message;
}
