import { describe, expect, it } from 'vitest';
import { ApiError, toApiError } from '../api/client';
import { failureMessage, fieldFor, forbiddenMessage, formErrors, missingScope } from './form-errors';

const fields = ['username', 'email', 'password', 'roles', 'timing.rate'];

describe('toApiError', () => {
  it('reads the one error shape', () => {
    const e = toApiError(400, { error: { code: 'invalid_email', message: 'email is not an address', field: 'email' } });
    expect(e).toBeInstanceOf(ApiError);
    expect([e.status, e.code, e.message, e.field]).toEqual([400, 'invalid_email', 'email is not an address', 'email']);
  });

  it('survives bodies that are not the error shape', () => {
    expect(toApiError(502, '<html>bad gateway</html>')).toMatchObject({ status: 502, code: 'http_502' });
    expect(toApiError(0, undefined)).toMatchObject({ status: 0, code: 'network' });
    expect(toApiError(400, { error: { code: 'x', message: 'm', field: '' } }).field).toBeUndefined();
  });
});

describe('formErrors', () => {
  it('puts an error naming a field next to that field', () => {
    const e = new ApiError(409, 'username_taken', 'that username is taken', 'username');
    expect(formErrors(e, fields)).toEqual({ fields: { username: 'that username is taken' }, form: '' });
  });

  it('maps indexed and nested API fields to the form field that shows them', () => {
    expect(fieldFor('roles[2]', fields)).toBe('roles');
    expect(fieldFor('roles.2', fields)).toBe('roles');
    expect(fieldFor('timing.rate', fields)).toBe('timing.rate');
    expect(fieldFor('timing.rate.max', fields)).toBe('timing.rate');
    expect(fieldFor('colour', fields)).toBeUndefined();
    const e = new ApiError(400, 'unknown_role', 'role 7 does not exist', 'roles[0]');
    expect(formErrors(e, fields).fields).toEqual({ roles: 'role 7 does not exist' });
  });

  it('shows an error for a field the form does not have at form level, naming the field', () => {
    const e = new ApiError(400, 'invalid', 'must be a hostname', 'public_fqdn');
    expect(formErrors(e, fields)).toEqual({ fields: {}, form: 'must be a hostname (field public_fqdn)' });
  });

  it('shows an error without a field at form level', () => {
    const e = new ApiError(409, 'owner_protected', 'the owner cannot be disabled');
    expect(formErrors(e, fields)).toEqual({ fields: {}, form: 'the owner cannot be disabled' });
  });

  it('says which scope is missing on 403', () => {
    const byDetail = new ApiError(403, 'forbidden', 'forbidden', undefined, { scope: 'users:write' });
    expect(missingScope(byDetail)).toBe('users:write');
    const byMessage = new ApiError(403, 'missing_scope', 'this needs the roles:write scope');
    expect(formErrors(byMessage, fields).form).toMatch(/You lack the roles:write scope/);
    expect(forbiddenMessage(new ApiError(403, 'forbidden', 'no'), 'audit:export')).toMatch(/audit:export/);
    expect(forbiddenMessage(new ApiError(403, 'forbidden', 'no'))).toBe('no');
    // An action's toast names the scope only when the page says which one the action needs.
    expect(failureMessage(new ApiError(403, 'forbidden', 'no'), 'users:write')).toMatch(/You lack the users:write scope/);
    expect(failureMessage(new ApiError(403, 'forbidden', 'no'))).toBe('no');
    expect(failureMessage(new ApiError(409, 'in_use', 'still used'), 'users:write')).toBe('still used');
  });

  it('reports a failure that is not an API error at form level', () => {
    expect(formErrors(new TypeError('Failed to fetch'), fields)).toEqual({ fields: {}, form: 'Failed to fetch' });
  });
});
