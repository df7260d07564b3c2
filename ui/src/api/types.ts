// Names for the API's shapes, read from the operations that return them (paths are the
// contract; schema names are the generator's business).
import type { paths } from './schema';

type JSONOf<R> = R extends { content: { 'application/json': infer T } } ? T : never;
/** What an operation answers with status S: `Ok<'/api/v1/users/{id}', 'get'>`. */
export type Ok<P extends keyof paths, M extends keyof paths[P], S extends number = 200> = paths[P][M] extends {
  responses: infer R;
}
  ? S extends keyof R
    ? JSONOf<R[S]>
    : never
  : never;
/** An item of a page of a list. */
export type ItemOf<P> = P extends { items: (infer T)[] } ? T : never;

export type Me = Ok<'/api/v1/auth/me', 'get'>;
export type User = Ok<'/api/v1/users/{id}', 'get'>;
export type Role = Ok<'/api/v1/roles/{id}', 'get'>;
export type Scope = ItemOf<Ok<'/api/v1/scopes', 'get'>>;
export type Token = ItemOf<Ok<'/api/v1/tokens', 'get'>>;
export type AuditRecord = ItemOf<Ok<'/api/v1/audit', 'get'>>;
export type AuditVerify = Ok<'/api/v1/audit/verify', 'get'>;
export type Settings = Ok<'/api/v1/settings', 'get'>;

/** Every list endpoint answers a page: items and, when there are more, the cursor to them. */
export interface Page<T> {
  items: T[];
  next_cursor?: string;
}
export type OidcProvider = Ok<'/api/v1/oidc/providers/{id}', 'get'>;
export type SignInProvider = ItemOf<Ok<'/api/v1/auth/oidc/providers', 'get'>>;
